package org.medsearch.cli;

import org.medsearch.dataset.DatasetScanner;
import org.medsearch.volume.Plane;
import picocli.CommandLine.Option;

/** How volume files in a data set become images; train, index and evaluate must use the same. */
final class VolumeOptions {

    @Option(names = "--slices", defaultValue = "5", paramLabel = "N",
            description = "Slices taken from each volume in the data (NIfTI): the middle one, or the largest"
                    + " of its mask (manifest column 5), and its neighbours (default ${DEFAULT-VALUE}, as the paper).")
    int slices;

    @Option(names = "--plane", defaultValue = "axial", paramLabel = "axial|coronal|sagittal",
            description = "Plane of those slices (default ${DEFAULT-VALUE}).")
    String plane;

    DatasetScanner configure(DatasetScanner scanner) {
        return scanner.optVolumeSlices(slices, Plane.parse(plane));
    }
}

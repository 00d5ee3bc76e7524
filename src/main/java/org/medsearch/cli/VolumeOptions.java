package org.medsearch.cli;

import java.util.function.UnaryOperator;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.util.MedsearchException;
import org.medsearch.volume.Plane;
import picocli.CommandLine.Option;

/** How volume files in a data set become images; train, index and evaluate must use the same. */
final class VolumeOptions {

    @Option(
            names = "--slices",
            defaultValue = "5",
            paramLabel = "N",
            description = "Slices taken from each volume in the data (NIfTI): the middle one, or the largest"
                    + " of its mask (manifest column 5), and its neighbours (default ${DEFAULT-VALUE}, as the paper).")
    int slices;

    @Option(
            names = "--plane",
            defaultValue = "axial",
            paramLabel = "axial|coronal|sagittal",
            converter = Converters.Planes.class,
            description = "Plane of those slices (default ${DEFAULT-VALUE}).")
    Plane plane;

    /** Applies the options; a bad value is a user error naming its option. */
    DatasetScanner configure(DatasetScanner scanner) throws MedsearchException {
        return scannerOptions().apply(scanner);
    }

    /** The options, checked now, as a scanner configuration for a job. */
    UnaryOperator<DatasetScanner> scannerOptions() throws MedsearchException {
        if (slices < 1) {
            throw new MedsearchException("--slices must be at least 1, got " + slices);
        }
        Plane p = plane;
        int n = slices;
        return s -> s.optVolumeSlices(n, p);
    }
}

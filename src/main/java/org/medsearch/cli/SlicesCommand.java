package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.medsearch.util.MedsearchException;
import org.medsearch.volume.Plane;
import org.medsearch.volume.SliceExport;
import org.medsearch.volume.SliceSelector;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code medsearch slices}: the paper's slice selection from a volume, as PNG files. */
@Command(
        name = "slices",
        mixinStandardHelpOptions = true,
        description = {
            "Write the slice that shows the finding and its neighbours (the paper takes 5) from a volume:"
                    + " a NIfTI file (.nii, .nii.gz) or a folder holding one DICOM series.",
            "Without --center or --mask, the middle slice is the centre; --mask takes the slice where the mask is largest."
        })
final class SlicesCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "VOLUME", description = "A NIfTI file or a DICOM series folder.")
    Path volume;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where to write the PNG slices.")
    Path out;

    @Option(names = "--center", paramLabel = "N", description = "The centre slice (an index along the plane's axis).")
    Integer center;

    @Option(
            names = "--mask",
            paramLabel = "MASK",
            description = "A mask volume on the same grid (e.g. a tumour segmentation).")
    Path mask;

    @Option(names = "--count", defaultValue = "5", description = "Slices to write (default ${DEFAULT-VALUE}).")
    int count;

    @Option(
            names = "--plane",
            defaultValue = "axial",
            paramLabel = "axial|coronal|sagittal",
            converter = Converters.Planes.class,
            description = "Cutting plane (default ${DEFAULT-VALUE}).")
    Plane plane;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = Output.out(spec);
        if (count < 1) {
            throw new MedsearchException("--count must be at least 1, got " + count);
        }
        if (center != null && mask != null) {
            throw new MedsearchException("give either --center or --mask, not both");
        }
        List<Path> written;
        try {
            written = SliceExport.run(volume, out, plane, count, center, mask);
        } catch (IllegalArgumentException e) { // a centre outside the volume, say
            throw new MedsearchException(e.getMessage());
        }
        o.printf("Wrote %d slices (default count %d) to %s:%n", written.size(), SliceSelector.DEFAULT_COUNT, out);
        written.forEach(p -> o.println("  " + p.getFileName()));
        return 0;
    }
}

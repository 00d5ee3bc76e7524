package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.medsearch.dicom.DicomFile;
import org.medsearch.dicom.InspectEntry;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code medsearch inspect}: what medsearch sees in a file; identifying DICOM tags only on request. */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "Show what medsearch reads from an image file: its technical metadata and, for DICOM," + " its tags.",
            "Identifying tags (names, ids, dates, ...) are shown as <hidden> unless --show-phi is given."
        })
final class InspectCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--show-phi", description = "Also show identifying values (patient name, id, dates, ...).")
    boolean showPhi;

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "Image files (DICOM, NIfTI, PNG, JPEG, ...).")
    java.util.List<Path> files;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        ImageReaders readers = ImageReaders.standard();
        for (Path f : files) {
            out.println(f);
            byte[] bytes = ImageReaders.readBytes(f, ReadLimits.DEFAULT);
            if (DicomFile.looksLikeDicom(Arrays.copyOf(bytes, Math.min(bytes.length, 512)))) {
                DicomFile d = DicomFile.parse(bytes, ReadLimits.DEFAULT);
                for (InspectEntry e : d.inspect(showPhi)) {
                    out.printf("  %s %-2s %-36s %s%n", e.tagString(), e.vr(), e.keyword(), e.value());
                }
            }
            MedicalImage img = readers.read(bytes);
            out.printf("  decoded: %d x %d%n", img.width(), img.height());
            img.metadata().forEach((k, v) -> out.printf("  %-14s %s%n", k, v));
        }
        return 0;
    }
}

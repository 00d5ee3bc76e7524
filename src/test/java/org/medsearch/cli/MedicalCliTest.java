package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dicom.DicomFile;
import org.medsearch.image.ReadLimits;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.Shared;
import org.medsearch.volume.NiftiReader;
import org.medsearch.volume.Plane;
import org.medsearch.volume.SliceSelector;

/** The medical commands: slices from volumes and series, inspect with and without identifying values. */
class MedicalCliTest {

    static CliRun run(String... args) {
        return CliRun.run(args);
    }

    static List<String> pngs(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void slicesFromADicomSeriesFolder(@TempDir Path out) throws Exception {
        Path series = Shared.require("samples/dicom/transfer-syntaxes/volume");
        CliRun r = run("slices", series.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        assertEquals(
                List.of(
                        "volume_axial_008.png",
                        "volume_axial_009.png",
                        "volume_axial_010.png",
                        "volume_axial_011.png",
                        "volume_axial_012.png"),
                pngs(out));
        assertEquals(
                256, ImageIO.read(out.resolve("volume_axial_010.png").toFile()).getWidth());
    }

    @Test
    void slicesAroundTheLargestMaskSlice(@TempDir Path out) throws Exception {
        Path ch2 = Shared.require("samples/nifti/ch2.nii.gz");
        int largest = SliceSelector.largestMaskSlice(NiftiReader.read(ch2).toCanonical(), Plane.CORONAL);
        CliRun r = run(
                "slices",
                ch2.toString(),
                "--mask",
                ch2.toString(),
                "--plane",
                "coronal",
                "--count",
                "1",
                "--out",
                out.toString());
        assertEquals(0, r.code(), r.toString());
        assertEquals(List.of(String.format("ch2_coronal_%03d.png", largest)), pngs(out));
        assertEquals(
                2,
                run("slices", ch2.toString(), "--center", "9999", "--out", out.toString())
                        .code());
    }

    @Test
    void inspectHidesIdentifyingValuesUnlessAsked() throws Exception {
        Path ct = Shared.require("samples/dicom/CT_small.dcm");
        String patientId = DicomFile.parse(Files.readAllBytes(ct), ReadLimits.DEFAULT)
                .identifiers()
                .patientId();
        CliRun hidden = run("inspect", ct.toString());
        assertEquals(0, hidden.code(), hidden.toString());
        assertTrue(hidden.out().contains("Modality                             CT"), hidden.out());
        assertFalse(hidden.out().contains(patientId), "PatientID shown without --show-phi");
        assertTrue(hidden.out().lines().anyMatch(l -> l.contains("PatientID") && l.endsWith("<hidden>")), hidden.out());
        CliRun shown = run("inspect", "--show-phi", ct.toString());
        assertTrue(shown.out().contains(patientId), shown.out());
    }
}

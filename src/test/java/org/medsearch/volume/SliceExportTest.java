package org.medsearch.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;

class SliceExportTest {

    private static final int NX = 6, NY = 5, NZ = 12;

    private static double[] ramp() {
        double[] v = new double[NX * NY * NZ];
        for (int i = 0; i < v.length; i++) {
            v[i] = (i * 37) % 1000;
        }
        return v;
    }

    @Test
    void writesSixteenBitPngsNamedByVolumePlaneAndIndex(@TempDir Path dir) throws Exception {
        Path volume = dir.resolve("case 7.nii.gz");
        Files.write(
                volume,
                new NiftiFiles()
                        .datatype(4)
                        .dims(NX, NY, NZ)
                        .values(ramp())
                        .gzip(true)
                        .build());
        Path out = dir.resolve("out/slices");
        List<Path> files = SliceExport.run(volume, out, Plane.AXIAL, 3, 10, null);
        assertEquals(
                List.of("case_7_axial_009.png", "case_7_axial_010.png", "case_7_axial_011.png"),
                files.stream().map(p -> p.getFileName().toString()).toList());

        List<MedicalImage> expected = SliceSelector.select(NiftiReader.read(volume), Plane.AXIAL, 10, 3);
        for (int i = 0; i < files.size(); i++) {
            MedicalImage png = ImageReaders.standard().read(files.get(i));
            assertEquals("16", png.metadata().get("bitsPerSample"));
            assertEquals(NX, png.width());
            assertEquals(NY, png.height());
            float[] want = expected.get(i).pixels();
            for (int p = 0; p < want.length; p++) {
                assertEquals(want[p], png.pixels()[p], 0.5f / 65535 + 1e-7f);
            }
        }
    }

    @Test
    void maskOrMiddleChooseTheCentre(@TempDir Path dir) throws Exception {
        Path volume = dir.resolve("v.nii");
        Files.write(
                volume,
                new NiftiFiles().datatype(4).dims(NX, NY, NZ).values(ramp()).build());
        double[] m = new double[NX * NY * NZ];
        m[1 + NX * (2 + NY * 3)] = 1; // x=1, y=2, z=3
        Path mask = dir.resolve("m.nii.gz");
        Files.write(
                mask,
                new NiftiFiles()
                        .datatype(2)
                        .dims(NX, NY, NZ)
                        .values(m)
                        .gzip(true)
                        .build());

        List<Path> byMask = SliceExport.run(volume, dir, Plane.CORONAL, 1, null, mask);
        assertEquals("v_coronal_002.png", byMask.get(0).getFileName().toString());
        List<Path> middle = SliceExport.run(volume, dir, Plane.SAGITTAL, 2, null, null);
        assertEquals(
                List.of("v_sagittal_003.png", "v_sagittal_004.png"),
                middle.stream().map(p -> p.getFileName().toString()).toList());
        assertTrue(Files.size(middle.get(0)) > 0);

        assertThrows(IllegalArgumentException.class, () -> SliceExport.run(volume, dir, Plane.AXIAL, 5, 3, mask));
        assertThrows(
                ImageFormatException.class,
                () -> SliceExport.run(dir.resolve("absent.nii"), dir, Plane.AXIAL, 5, null, null));
        Files.write(dir.resolve("small.nii"), new NiftiFiles().build());
        assertThrows(
                IllegalArgumentException.class,
                () -> SliceExport.run(volume, dir, Plane.AXIAL, 5, null, dir.resolve("small.nii")));
    }

    @Test
    void baseNamesDropNiftiExtensionsAndOddCharacters() {
        assertEquals("ch2", SliceExport.baseName("ch2.nii.gz"));
        assertEquals("ch2", SliceExport.baseName("ch2.NII"));
        assertEquals("scan.v2", SliceExport.baseName("scan.v2.gz"));
        assertEquals("a_b_c", SliceExport.baseName("a b/c"));
        assertEquals("volume", SliceExport.baseName(".nii.gz"));
    }

    @Test
    void writeNeedsSelectorMetadata(@TempDir Path dir) throws Exception {
        Volume v = NiftiReader.read(new NiftiFiles().build(), "x.nii", ReadLimits.DEFAULT);
        MedicalImage plain = new MedicalImage(2, 2, new float[4]);
        assertThrows(IllegalArgumentException.class, () -> SliceExport.write(List.of(plain), dir, "x"));
        assertEquals(
                1,
                SliceExport.write(SliceSelector.selectMiddle(v, Plane.AXIAL, 1), dir, "x")
                        .size());
    }
}

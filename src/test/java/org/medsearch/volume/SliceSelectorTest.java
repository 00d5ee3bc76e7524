package org.medsearch.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Sample;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;

class SliceSelectorTest {

    private static final int NX = 8, NY = 9, NZ = 10;
    private static final double[][] RAS = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};

    /** Canonical volume whose voxel (x, y, z) holds 1 + x + 10y + 100z, so every value names its place. */
    private static Volume coded() {
        float[] d = new float[NX * NY * NZ];
        for (int z = 0; z < NZ; z++) {
            for (int y = 0; y < NY; y++) {
                for (int x = 0; x < NX; x++) {
                    d[x + NX * (y + NY * z)] = 1 + x + 10 * y + 100 * z;
                }
            }
        }
        return new Volume(NX, NY, NZ, d, RAS, Map.of("format", "nifti-1", "source", "coded.nii.gz"));
    }

    private static Volume mask(int... perSlice) {
        float[] d = new float[NX * NY * NZ];
        for (int z = 0; z < NZ; z++) {
            for (int i = 0; i < perSlice[z]; i++) {
                d[i + NX * NY * z] = 1;
            }
        }
        return new Volume(NX, NY, NZ, d, RAS, Map.of());
    }

    @Test
    void fiveSlicesAroundTheCentreCarryTheirProvenance() {
        List<MedicalImage> s = SliceSelector.select(coded(), Plane.AXIAL, 4, SliceSelector.DEFAULT_COUNT);
        assertEquals(5, s.size());
        IntensityWindow w = IntensityWindow.of(coded());
        for (int i = 0; i < 5; i++) {
            MedicalImage img = s.get(i);
            Map<String, String> m = img.metadata();
            assertEquals(Integer.toString(2 + i), m.get("slice"));
            assertEquals("coded.nii.gz", m.get("source"));
            assertEquals("nifti-1", m.get("format"));
            assertEquals("axial", m.get("plane"));
            assertEquals("4", m.get("center"));
            assertEquals("center", m.get("centerFrom"));
            assertEquals("5", m.get("count"));
            assertEquals(w.describe(), m.get("window"));
            assertEquals("percentiles 0.5-99.5 of nonzero voxels", m.get("windowRule"));
            for (float p : img.pixels()) {
                assertTrue(p >= 0 && p <= 1);
            }
        }
    }

    @Test
    void slicesAreLaidOutRadiologically() {
        Volume v = coded();
        IntensityWindow w = IntensityWindow.of(v);
        // axial: top-left pixel is the patient's right (x = NX-1) and anterior (y = NY-1)
        MedicalImage axial = SliceSelector.select(v, Plane.AXIAL, 3, 1).get(0);
        assertEquals(NX, axial.width());
        assertEquals(NY, axial.height());
        assertEquals(w.apply(1 + (NX - 1) + 10 * (NY - 1) + 300), axial.pixel(0, 0));
        assertEquals(w.apply(1 + 0 + 0 + 300), axial.pixel(NX - 1, NY - 1));
        // coronal: top-left is right and superior
        MedicalImage coronal = SliceSelector.select(v, Plane.CORONAL, 2, 1).get(0);
        assertEquals(NX, coronal.width());
        assertEquals(NZ, coronal.height());
        assertEquals(w.apply(1 + (NX - 1) + 20 + 100 * (NZ - 1)), coronal.pixel(0, 0));
        // sagittal: top-left is anterior and superior
        MedicalImage sagittal = SliceSelector.select(v, Plane.SAGITTAL, 5, 1).get(0);
        assertEquals(NY, sagittal.width());
        assertEquals(NZ, sagittal.height());
        assertEquals(w.apply(1 + 5 + 10 * (NY - 1) + 100 * (NZ - 1)), sagittal.pixel(0, 0));
        assertEquals(w.apply(1 + 5), sagittal.pixel(NY - 1, NZ - 1));
    }

    @ParameterizedTest
    @EnumSource(Plane.class)
    void anLpsVolumeGivesTheSameSlicesAsItsRasTwin(Plane plane) {
        Volume ras = coded();
        float[] d = new float[NX * NY * NZ];
        for (int z = 0; z < NZ; z++) {
            for (int y = 0; y < NY; y++) {
                for (int x = 0; x < NX; x++) {
                    d[(NX - 1 - x) + NX * ((NY - 1 - y) + NY * z)] = ras.voxel(x, y, z);
                }
            }
        }
        double[][] lps = {{-1, 0, 0, NX - 1}, {0, -1, 0, NY - 1}, {0, 0, 1, 0}, {0, 0, 0, 1}};
        Volume flipped = new Volume(NX, NY, NZ, d, lps, Map.of());
        assertEquals("LPS", flipped.axisCodes());
        List<MedicalImage> a = SliceSelector.selectMiddle(ras, plane, 3);
        List<MedicalImage> b = SliceSelector.selectMiddle(flipped, plane, 3);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(a.get(i).pixels(), b.get(i).pixels());
            assertEquals(a.get(i).metadata().get("slice"), b.get(i).metadata().get("slice"));
        }
    }

    @Test
    void middleIsHalfTheSliceCount() {
        assertEquals(
                "5",
                SliceSelector.selectMiddle(coded(), Plane.AXIAL, 1)
                        .get(0)
                        .metadata()
                        .get("slice"));
        assertEquals(
                "4",
                SliceSelector.selectMiddle(coded(), Plane.CORONAL, 1)
                        .get(0)
                        .metadata()
                        .get("slice"));
        assertEquals(
                "4",
                SliceSelector.selectMiddle(coded(), Plane.SAGITTAL, 1)
                        .get(0)
                        .metadata()
                        .get("slice"));
        assertEquals(
                "middle",
                SliceSelector.selectMiddle(coded(), Plane.AXIAL, 1)
                        .get(0)
                        .metadata()
                        .get("centerFrom"));
    }

    @Test
    void maskPicksItsLargestSliceAndTheNeighbours() {
        Volume m = mask(0, 3, 0, 5, 9, 40, 12, 0, 0, 1);
        assertEquals(5, SliceSelector.largestMaskSlice(m, Plane.AXIAL));
        List<MedicalImage> s = SliceSelector.selectByMask(coded(), m, Plane.AXIAL, 5);
        assertEquals(
                List.of("3", "4", "5", "6", "7"),
                s.stream().map(i -> i.metadata().get("slice")).toList());
        assertEquals("mask", s.get(0).metadata().get("centerFrom"));
        // the same mask seen from the front: voxels sit at x = 0..7, y = 0..4 of each z
        assertEquals(0, SliceSelector.largestMaskSlice(m, Plane.CORONAL));
        assertEquals(0, SliceSelector.largestMaskSlice(m, Plane.SAGITTAL));
    }

    @Test
    void maskTiesGoToTheLowestIndexAndNegativeOrNanVoxelsDoNotCount() {
        assertEquals(2, SliceSelector.largestMaskSlice(mask(0, 1, 7, 0, 7, 0, 0, 0, 0, 7), Plane.AXIAL));
        float[] d = new float[NX * NY * NZ];
        java.util.Arrays.fill(d, 0, NX * NY, -1f);
        java.util.Arrays.fill(d, NX * NY, 2 * NX * NY, Float.NaN);
        d[NX * NY * 7] = 0.5f;
        assertEquals(7, SliceSelector.largestMaskSlice(new Volume(NX, NY, NZ, d, RAS, Map.of()), Plane.AXIAL));
    }

    @Test
    void countIsClampedAtTheEdges() {
        assertArrayEquals(new int[] {0, 2}, SliceSelector.range(0, 5, 10));
        assertArrayEquals(new int[] {7, 9}, SliceSelector.range(9, 5, 10));
        assertArrayEquals(new int[] {4, 7}, SliceSelector.range(5, 4, 10), "even counts take one more after");
        assertArrayEquals(new int[] {0, 9}, SliceSelector.range(5, 100, 10));
        assertArrayEquals(new int[] {5, 5}, SliceSelector.range(5, 1, 10));
        assertArrayEquals(new int[] {0, 9}, SliceSelector.range(5, Integer.MAX_VALUE, 10));
        List<MedicalImage> s = SliceSelector.select(coded(), Plane.AXIAL, NZ - 1, 5);
        assertEquals(3, s.size());
        assertEquals("3", s.get(0).metadata().get("count"));
        assertEquals("5", s.get(0).metadata().get("requestedCount"));
    }

    @Test
    void badArgumentsSayWhatIsWrong() {
        Volume v = coded();
        assertMessage(() -> SliceSelector.select(v, Plane.AXIAL, 3, 0), "count");
        assertMessage(() -> SliceSelector.select(v, Plane.AXIAL, NZ, 5), "outside");
        assertMessage(() -> SliceSelector.select(v, Plane.SAGITTAL, -1, 5), "outside");
        assertMessage(() -> SliceSelector.selectByMask(v, mask(new int[NZ]), Plane.AXIAL, 5), "no voxel");
        Volume other = new Volume(
                NX,
                NY,
                NZ,
                new float[NX * NY * NZ],
                new double[][] {{2, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}},
                Map.of());
        assertMessage(() -> SliceSelector.selectByMask(v, other, Plane.AXIAL, 5), "grid");
        Volume small = new Volume(1, 1, 1, new float[1], RAS, Map.of());
        assertMessage(() -> SliceSelector.selectByMask(v, small, Plane.AXIAL, 5), "grid");
        assertMessage(() -> Plane.parse("transverse"), "axial, coronal or sagittal");
        assertEquals(Plane.CORONAL, Plane.parse(" Coronal "));
    }

    @Test
    void windowFollowsNumpyPercentilesAndItsFallbacks() {
        float[] d = new float[2000];
        for (int i = 0; i < 1000; i++) {
            d[i] = i + 1;
        }
        Volume v = new Volume(2000, 1, 1, d, RAS, Map.of());
        IntensityWindow w = IntensityWindow.of(v);
        // numpy: np.percentile(np.arange(1, 1001), [0.5, 99.5]) -> [5.995, 995.005]
        assertEquals(5.995, w.low(), 1e-9);
        assertEquals(995.005, w.high(), 1e-9);
        assertEquals(0f, w.apply(Float.NaN));
        assertEquals(1f, w.apply(Float.POSITIVE_INFINITY));
        assertEquals(0f, w.apply(-5));

        float[] binary = new float[100];
        binary[3] = 1;
        IntensityWindow b = IntensityWindow.of(new Volume(100, 1, 1, binary, RAS, Map.of()));
        assertEquals("min-max of all voxels", b.rule());
        assertEquals(1f, b.apply(1));
        assertEquals(0f, b.apply(0));

        float[] constant = new float[10];
        java.util.Arrays.fill(constant, 7);
        assertEquals(
                0f,
                IntensityWindow.of(new Volume(10, 1, 1, constant, RAS, Map.of()))
                        .apply(7));
        float[] empty = {0, Float.NaN, 0};
        IntensityWindow none = IntensityWindow.of(new Volume(3, 1, 1, empty, RAS, Map.of()));
        assertEquals("no nonzero finite voxels", none.rule());
        assertEquals(0f, none.apply(0));
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable e, String part) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().contains(part), x.getMessage());
    }

    @Test
    void aDataSetCutsAVolumeLikeTheSlicesCommandNearAnEdge(@TempDir Path root) throws Exception {
        int nz = 10;
        double[] voxels = new double[4 * 4 * nz];
        double[] mask = new double[voxels.length];
        for (int i = 0; i < voxels.length; i++) {
            voxels[i] = i % 17;
            mask[i] = i / 16 == 1 ? 1 : 0; // only axial slice 1 is masked
        }
        Files.write(
                root.resolve("vol.nii"),
                new NiftiFiles().datatype(16).dims(4, 4, nz).values(voxels).build());
        Files.write(
                root.resolve("mask.nii"),
                new NiftiFiles().datatype(16).dims(4, 4, nz).values(mask).build());
        Files.writeString(root.resolve("m.csv"), "path,label,patient_id,modality,mask\nvol.nii,x,,MR,mask.nii\n");
        List<String> cut = new DatasetScanner(ImageReaders.standard())
                .optVolumeSlices(5, Plane.AXIAL).scan(root.resolve("m.csv")).samples().stream()
                        .map(Sample::relativePath)
                        .toList();
        int[] range = SliceSelector.range(1, 5, nz);
        assertArrayEquals(new int[] {0, 3}, range);
        assertEquals(List.of("vol.nii#axial/000", "vol.nii#axial/001", "vol.nii#axial/002", "vol.nii#axial/003"), cut);
    }
}

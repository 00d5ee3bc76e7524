package org.medsearch.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;

/** Synthetic files written by {@link NiftiFiles} read back exactly. */
class NiftiReaderTest {

    /** Per datatype code: values that stress its range, each exactly representable in the type. */
    private static double[] extremes(int code) {
        return switch (code) {
            case 2 -> new double[] {0, 1, 127, 128, 255, 3, 7, 9};
            case 256 -> new double[] {-128, -1, 0, 1, 127, 5, -6, 7};
            case 4 -> new double[] {-32768, -1, 0, 1, 32767, 300, -301, 7};
            case 512 -> new double[] {0, 1, 32768, 65535, 40000, 2, 3, 4};
            case 8 -> new double[] {-2147483648.0, -1, 0, 1, 2147483647.0, 1 << 24, -(1 << 24) - 1, 5};
            case 768 -> new double[] {0, 1, 2147483648.0, 4294967295.0, 16777217, 2, 3, 4};
            case 1024 -> new double[] {-0x1p62, -1, 0, 1, 0x1p62, 123456789012L, -5, 6};
            case 1280 -> new double[] {0, 1, 0x1p63, 0x1p64 - 0x1p12, 0x1p40, 2, 3, 4};
            case 16 -> new double[] {-3.25, 0, 1.5e-3, 1e30, -1e-30, Double.NaN, Double.POSITIVE_INFINITY, 7};
            case 64 -> new double[] {-3.25, 0, 1e-300, 1e300, 0.1, Double.NaN, Double.NEGATIVE_INFINITY, 7};
            default -> throw new IllegalArgumentException();
        };
    }

    static Stream<Arguments> variants() {
        List<Arguments> l = new ArrayList<>();
        for (int version : new int[] {1, 2}) {
            for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
                for (boolean gz : new boolean[] {false, true}) {
                    for (int code : new int[] {2, 256, 4, 512, 8, 768, 1024, 1280, 16, 64}) {
                        l.add(Arguments.of(version, order, gz, code));
                    }
                }
            }
        }
        return l.stream();
    }

    @ParameterizedTest(name = "NIfTI-{0} {1} gzip={2} datatype={3}")
    @MethodSource("variants")
    void everyDatatypeOrderVersionAndCompressionReadsBackExactly(int version, ByteOrder order, boolean gz, int code)
            throws Exception {
        double[] values = extremes(code);
        byte[] file = new NiftiFiles()
                .version(version)
                .order(order)
                .gzip(gz)
                .datatype(code)
                .dims(2, 2, 2)
                .values(values)
                .build();
        Volume v = NiftiReader.read(file, "dir/sub/case.nii", ReadLimits.DEFAULT);
        assertArrayEquals(new int[] {2, 2, 2}, v.dims());
        float[] expected = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            expected[i] = (float) values[i];
        }
        assertArrayEquals(expected, v.data());
        assertEquals("nifti-" + version, v.metadata().get("format"));
        assertEquals("case.nii", v.metadata().get("source"));
        assertEquals(gz ? "gzip" : "none", v.metadata().get("compression"));
        assertEquals(
                order == ByteOrder.LITTLE_ENDIAN ? "little-endian" : "big-endian",
                v.metadata().get("byteOrder"));
        assertEquals("pixdim", v.metadata().get("affineSource"));
    }

    @Test
    void sclSlopeAndInterceptScaleInDouble() throws Exception {
        byte[] f = new NiftiFiles()
                .datatype(4)
                .dims(2, 1, 1)
                .values(-100, 3000)
                .scaling(0.5, -10)
                .build();
        Volume v = NiftiReader.read(f, "s.nii", ReadLimits.DEFAULT);
        assertArrayEquals(new float[] {-60f, 1490f}, v.data());
        assertEquals("0.5", v.metadata().get("sclSlope"));

        // int32 beyond float precision: scaling must happen before the narrowing to float
        byte[] big = new NiftiFiles()
                .version(2)
                .datatype(8)
                .dims(1, 1, 1)
                .values(16777217)
                .scaling(1, -16777216)
                .build();
        assertArrayEquals(
                new float[] {1f}, NiftiReader.read(big, "", ReadLimits.DEFAULT).data());
    }

    @Test
    void slopeZeroOrNotFiniteMeansNoScaling() throws Exception {
        for (double slope : new double[] {0, Double.NaN, Double.POSITIVE_INFINITY}) {
            byte[] f = new NiftiFiles()
                    .datatype(4)
                    .dims(2, 1, 1)
                    .values(5, 6)
                    .scaling(slope, 100)
                    .build();
            Volume v = NiftiReader.read(f, "", ReadLimits.DEFAULT);
            assertArrayEquals(new float[] {5f, 6f}, v.data(), "slope " + slope);
            assertNull(v.metadata().get("sclSlope"));
        }
        byte[] bad = new NiftiFiles()
                .datatype(4)
                .dims(2, 1, 1)
                .values(5, 6)
                .scaling(2, Double.NaN)
                .build();
        assertThrows(ImageFormatException.class, () -> NiftiReader.read(bad, "", ReadLimits.DEFAULT));
    }

    @Test
    void fourDimensionalFileGivesItsFirstVolumeAndSaysSo() throws Exception {
        double[] values = new double[2 * 2 * 1 * 3];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        for (boolean gz : new boolean[] {false, true}) {
            byte[] f = new NiftiFiles()
                    .rawDim(4, 2, 2, 1, 3, 1, 1, 1)
                    .values(values)
                    .gzip(gz)
                    .build();
            Volume v = NiftiReader.read(f, "", ReadLimits.DEFAULT);
            assertArrayEquals(new float[] {0, 1, 2, 3}, v.data());
            assertEquals("3 (first read)", v.metadata().get("volumes"));
        }
    }

    @Test
    void voxOffsetZeroMeansAfterTheHeaderAndLargerOffsetsSkipExtensions() throws Exception {
        for (int version : new int[] {1, 2}) {
            byte[] zero = new NiftiFiles().version(version).voxOffset(0).build();
            assertArrayEquals(
                    new float[] {0, 1, 2, 3, 4, 5, 6, 7},
                    NiftiReader.read(zero, "", ReadLimits.DEFAULT).data());
            byte[] ext = new NiftiFiles().version(version).voxOffset(1024).build();
            assertArrayEquals(
                    new float[] {0, 1, 2, 3, 4, 5, 6, 7},
                    NiftiReader.read(ext, "", ReadLimits.DEFAULT).data());
        }
    }

    @Test
    void qformFollowsTheQuaternionPixdimAndQfac() throws Exception {
        // 90 degrees about z: i -> +y, j -> -x; qfac -1 turns k towards inferior
        double s = Math.sqrt(0.5);
        for (int version : new int[] {1, 2}) {
            byte[] f = new NiftiFiles()
                    .version(version)
                    .pixdim(-1, 2, 3, 4)
                    .qform(1, 0, 0, s, 10, 20, 30)
                    .build();
            Volume v = NiftiReader.read(f, "", ReadLimits.DEFAULT);
            assertEquals("qform", v.metadata().get("affineSource"));
            double[][] expected = {{0, -3, 0, 10}, {2, 0, 0, 20}, {0, 0, -4, 30}, {0, 0, 0, 1}};
            assertAffine(expected, v.affine(), 1e-6);
            assertEquals("ALI", v.axisCodes());
            assertArrayEquals(new double[] {2, 3, 4}, v.spacing(), 1e-6);
        }
    }

    @Test
    void sformWinsOverQformAndPixdimIsTheLastResort() throws Exception {
        double[][] lps = {{-2, 0, 0, 5}, {0, -2, 0, 6}, {0, 0, 3, 7}};
        byte[] both = new NiftiFiles().qform(1, 0, 0, 0, 0, 0, 0).sform(2, lps).build();
        Volume v = NiftiReader.read(both, "", ReadLimits.DEFAULT);
        assertEquals("sform", v.metadata().get("affineSource"));
        assertEquals("LPS", v.axisCodes());
        assertAffine(new double[][] {lps[0], lps[1], lps[2], {0, 0, 0, 1}}, v.affine(), 0);

        byte[] none = new NiftiFiles().pixdim(1, 0.5, -2, Double.NaN).build();
        Volume p = NiftiReader.read(none, "", ReadLimits.DEFAULT);
        assertEquals("pixdim", p.metadata().get("affineSource"));
        // non-positive and non-finite pixdims count as 1 (nifti1_io)
        assertAffine(new double[][] {{0.5, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}, p.affine(), 0);
    }

    @Test
    void unusableSformFallsBackToQformWithAWarning() throws Exception {
        double[][] singular = {{1, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 1, 0}};
        byte[] f =
                new NiftiFiles().qform(1, 0, 0, 1, 0, 0, 0).sform(1, singular).build();
        Volume v = NiftiReader.read(f, "", ReadLimits.DEFAULT);
        assertEquals("qform", v.metadata().get("affineSource"));
        assertTrue(v.metadata().get("affineWarning").contains("sform"));
        assertEquals("LPS", v.axisCodes());
    }

    @Test
    void absurdGeometryIsIgnoredSoReorientationStaysFinite() throws Exception {
        // found by the fuzzer: 1e306 * 253 voxels overflowed the reoriented affine
        double[][] huge = {{0, -1e306, 0, 0}, {1, 0, 0, 0}, {0, 0, 1, 0}};
        byte[] f = new NiftiFiles()
                .version(2)
                .rawDim(3, 1, 254, 1, 1, 1, 1, 1)
                .values(new double[254])
                .pixdim(1, 1e300, 2, 1)
                .sform(1, huge)
                .build();
        Volume v = NiftiReader.read(f, "", ReadLimits.DEFAULT);
        assertEquals("pixdim", v.metadata().get("affineSource"));
        assertTrue(v.metadata().get("affineWarning").contains("1e15"));
        assertArrayEquals(new double[] {1, 2, 1}, v.spacing(), 0);
        assertEquals("RAS", v.toCanonical().axisCodes());
    }

    @Test
    void freeTextHeaderFieldsNeverReachTheMetadata() throws Exception {
        byte[] f = new NiftiFiles().descrip("Jane Doe 1970-01-01 MRN 12345").build();
        Volume v = NiftiReader.read(f, "", ReadLimits.DEFAULT);
        assertFalse(v.metadata().toString().contains("Doe"), v.metadata().toString());
        assertFalse(v.metadata().containsKey("source"), "an empty name is left out");
    }

    @Test
    void unsupportedKindsAreRefusedWithAClearMessage() {
        assertMessage(new NiftiFiles().magic("ni1\0").build(), "pair");
        assertMessage(new NiftiFiles().version(2).magic("ni2\0\r\n\032\n").build(), "pair");
        assertMessage(new NiftiFiles().magic("\0\0\0\0").build(), "Analyze");
        assertMessage(new NiftiFiles().version(2).magic("n+2\0\n\032\n\0").build(), "text-mode");
        assertMessage(new NiftiFiles().datatype(128).build(), "RGB");
        assertMessage(new NiftiFiles().datatype(32).build(), "complex");
        assertMessage(
                new NiftiFiles()
                        .rawDim(2, 2, 2, 1, 1, 1, 1, 1)
                        .values(1, 2, 3, 4)
                        .build(),
                "3D and 4D");
        assertMessage(new NiftiFiles().rawDim(5, 2, 2, 2, 1, 3, 1, 1).build(), "3D and 4D");
        assertMessage("GIF89a, not a volume".getBytes(), "not a NIfTI file");
    }

    @Test
    void pathReadingNamesTheSourceAndMapsFileErrors(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("scan.nii.gz");
        Files.write(f, new NiftiFiles().gzip(true).build());
        assertEquals("scan.nii.gz", NiftiReader.read(f).metadata().get("source"));
        assertMessage(() -> NiftiReader.read(dir.resolve("absent.nii")), "no such file");
        assertMessage(() -> NiftiReader.read(dir), "directory");
    }

    @Test
    void imageReadersGiveTheMiddleAxialSliceOfAVolume() throws Exception {
        double[] values = new double[3 * 2 * 5];
        for (int i = 0; i < values.length; i++) {
            values[i] = i + 1;
        }
        byte[] f = new NiftiFiles().dims(3, 2, 5).values(values).gzip(true).build();
        ImageReaders readers = ImageReaders.standard();
        assertEquals(
                "nifti",
                readers.readerFor(java.util.Arrays.copyOf(f, Math.min(f.length, 512)))
                        .name());
        MedicalImage img = readers.read(f);
        assertEquals(3, img.width());
        assertEquals(2, img.height());
        assertEquals("axial", img.metadata().get("plane"));
        assertEquals("2", img.metadata().get("slice"));
        assertFalse(new NiftiImageReader().canRead(new byte[] {1, 2}));
    }

    @Test
    void canonicalOfACanonicalVolumeIsItself() throws Exception {
        Volume v = NiftiReader.read(new NiftiFiles().build(), "", ReadLimits.DEFAULT);
        assertSame(v, v.toCanonical());
    }

    static void assertAffine(double[][] expected, double[][] actual, double tol) {
        for (int r = 0; r < 4; r++) {
            assertArrayEquals(expected[r], actual[r], tol, "row " + r);
        }
    }

    private static void assertMessage(byte[] file, String part) {
        assertMessage(() -> NiftiReader.read(file, "", ReadLimits.DEFAULT), part);
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable read, String part) {
        ImageFormatException e = assertThrows(ImageFormatException.class, read);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}

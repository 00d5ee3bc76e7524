package org.medsearch.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;
import org.medsearch.testutil.Shared;

/**
 * The reader and the canonical reorientation against nibabel, from the constants in
 * {@code nibabel-references.properties} (its header holds the script that wrote them): the two
 * shared sample volumes, and five small files nibabel wrote in odd orientations (LPS, PIR, an
 * oblique NIfTI-2, a qform-only big-endian NIfTI-2, a sheared sform).
 */
class NibabelReferenceTest {

    private static Properties ref;

    @BeforeAll
    static void load() throws IOException {
        ref = new Properties();
        try (InputStream in = NibabelReferenceTest.class.getResourceAsStream("nibabel-references.properties")) {
            ref.load(in);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ch2", "inia19"})
    void sampleVolumeMatchesNibabel(String key) throws Exception {
        Path file = Shared.require("samples/nifti/" + (key.equals("ch2") ? "ch2.nii.gz" : "inia19-t1-brain.nii.gz"));
        Volume v = NiftiReader.read(file);
        assertEquals(ref.getProperty(key + ".dims"), v.metadata().get("dims"));
        assertEquals(ref.getProperty(key + ".datatype"), v.metadata().get("datatype"));
        assertEquals(ref.getProperty(key + ".axcodes"), v.axisCodes());
        assertEquals("gzip", v.metadata().get("compression"));

        Volume c = v.toCanonical();
        assertEquals(ref.getProperty(key + ".canonicalDims"), c.nx() + "x" + c.ny() + "x" + c.nz());
        assertEquals("RAS", c.axisCodes());
        assertAffine(numbers(key + ".affine"), c.affine(), 1e-6);

        // the axial slice count is the length of the canonical S axis
        int k = Integer.parseInt(ref.getProperty(key + ".axialIndex"));
        assertEquals(k, c.nz() / 2);
        ByteBuffer slice = ByteBuffer.allocate(c.nx() * c.ny() * 4).order(ByteOrder.LITTLE_ENDIAN);
        double sum = 0;
        for (int y = 0; y < c.ny(); y++) {
            for (int x = 0; x < c.nx(); x++) {
                slice.putFloat(c.voxel(x, y, k));
                sum += c.voxel(x, y, k);
            }
        }
        assertEquals(Double.parseDouble(ref.getProperty(key + ".axialSum")), sum, 1e-6);
        String sha =
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(slice.array()));
        assertEquals(ref.getProperty(key + ".axialSha256"), sha, "axial slice " + k + " differs from nibabel's");
        for (String voxel : ref.getProperty(key + ".voxels").split(";")) {
            String[] p = voxel.split(",");
            assertEquals(
                    Double.parseDouble(p[3]),
                    c.voxel(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])),
                    0);
        }

        // the window is numpy's 0.5/99.5 percentile of the nonzero voxels
        double[] w = numbers(key + ".window");
        IntensityWindow window = IntensityWindow.of(c);
        assertEquals(w[0], window.low(), 1e-4 * Math.abs(w[0]));
        assertEquals(w[1], window.high(), 1e-4 * Math.abs(w[1]));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ch2", "inia19"})
    void sampleReadsAsAnImageThroughImageReaders(String key) throws Exception {
        Path file = Shared.require("samples/nifti/" + (key.equals("ch2") ? "ch2.nii.gz" : "inia19-t1-brain.nii.gz"));
        byte[] head = Arrays.copyOf(Files.readAllBytes(file), 512);
        assertTrue(NiftiReader.looksLikeNifti(head), "a 512-byte gzip prefix is enough to recognise it");
        MedicalImage img = ImageReaders.standard().read(file);
        String[] dims = ref.getProperty(key + ".canonicalDims").split("x");
        assertEquals(Integer.parseInt(dims[0]), img.width());
        assertEquals(Integer.parseInt(dims[1]), img.height());
        assertEquals(ref.getProperty(key + ".axialIndex"), img.metadata().get("slice"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"lps", "pir", "oblique", "qform", "shear"})
    void oddOrientationsBecomeCanonicalAsNibabelDoes(String key) throws Exception {
        byte[] bytes;
        try (InputStream in = getClass().getResourceAsStream(ref.getProperty(key + ".file"))) {
            bytes = in.readAllBytes();
        }
        Volume v = NiftiReader.read(bytes, ref.getProperty(key + ".file"), ReadLimits.DEFAULT);
        assertAffine(numbers(key + ".affine"), v.affine(), 1e-6);
        assertEquals(ref.getProperty(key + ".axcodes"), v.axisCodes());

        Volume c = v.toCanonical();
        assertEquals(ref.getProperty(key + ".canonicalDims"), c.nx() + "x" + c.ny() + "x" + c.nz());
        assertEquals("RAS", c.axisCodes());
        assertEquals(ref.getProperty(key + ".axcodes"), c.metadata().get("fileAxisCodes"));
        assertAffine(numbers(key + ".canonicalAffine"), c.affine(), 1e-5);
        double[] expected = numbers(key + ".canonicalData");
        float[] actual = c.data();
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 0, "voxel " + i);
        }
    }

    private static double[] numbers(String key) {
        return Arrays.stream(ref.getProperty(key).split(","))
                .mapToDouble(Double::parseDouble)
                .toArray();
    }

    /** {@code rows} holds the top three rows of a 4x4 affine, row by row. */
    private static void assertAffine(double[] rows, double[][] actual, double tol) {
        for (int r = 0; r < 3; r++) {
            assertArrayEquals(Arrays.copyOfRange(rows, 4 * r, 4 * r + 4), actual[r], tol, "affine row " + r);
        }
        assertEquals(
                List.of(0.0, 0.0, 0.0, 1.0), Arrays.stream(actual[3]).boxed().toList());
    }
}

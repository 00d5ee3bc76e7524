package org.medsearch.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ReadLimits;

/**
 * Codec paths the shared samples do not reach (colour, the three JPEG-LS interleave modes, low bit
 * depths, frames split over fragments with and without an offset table), on small made-up images
 * in src/test/resources/org/medsearch/dicom/synthetic/. generate.sh there rebuilds them with dcmtk
 * and gdcm and writes references.txt: the SHA-256 of each file's stored values (little-endian
 * int32) as the reference tool decodes them, and four probe values.
 */
class SyntheticCodecTest {

    record Line(String file, String sha256, int[] probes) {
        @Override
        public String toString() {
            return file;
        }
    }

    static byte[] resource(String name) {
        try (InputStream in = SyntheticCodecTest.class.getResourceAsStream("synthetic/" + name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> references() {
        return new String(resource("references.txt"), StandardCharsets.US_ASCII)
                .lines()
                .toList();
    }

    /** Lossless files (and JPEG-LS near-lossless, which must match dcmdjpls exactly) that are in the folder. */
    static Stream<Line> exact() {
        return references().stream()
                .map(l -> l.split(" "))
                .filter(p -> !p[0].equals("luma"))
                .filter(p -> resource(p[0]) != null
                        && !p[0].startsWith("jpeg-baseline")
                        && !p[0].startsWith("jpeg-extended"))
                .map(p -> new Line(
                        p[0],
                        p[1],
                        Arrays.stream(p, 2, 6).mapToInt(Integer::parseInt).toArray()));
    }

    @ParameterizedTest
    @MethodSource("exact")
    void decodesExactlyAsTheReferenceTool(Line ref) throws Exception {
        DicomFile f = DicomFile.parse(resource(ref.file), ReadLimits.DEFAULT);
        int[] all = DicomSamplesTest.allFrames(f);
        assertEquals(ref.sha256, DicomSamplesTest.sha256(all));
        int n = all.length;
        assertArrayEquals(ref.probes, new int[] {all[0], all[n / 3], all[n / 2], all[n - 1]});
    }

    /** Lossy colour JPEG: our YCbCr-to-RGB (float, rounded) differs from libjpeg's fixed point by at most 1 in luma. */
    @Test
    void baselineColourJpegIsWithinOneOfDcmtk() throws Exception {
        String[] ref = references().stream()
                .filter(l -> l.startsWith("luma jpeg-baseline-rgb8.dcm"))
                .findFirst()
                .orElseThrow()
                .split(" ");
        DicomFile f = DicomFile.parse(resource("jpeg-baseline-rgb8.dcm"), ReadLimits.DEFAULT);
        assertEquals("YBR_FULL_422", f.photometricInterpretation());
        float[] luma = f.frame(0);
        assertEquals(ref.length - 2, luma.length);
        int differ = 0;
        for (int i = 0; i < luma.length; i++) {
            int d = Math.abs((int) luma[i] - Integer.parseInt(ref[i + 2]));
            assertTrue(d <= 1, "pixel " + i + " differs by " + d);
            differ += d;
        }
        assertTrue(differ <= luma.length / 20, differ + " pixels differ by 1");
    }

    /** TwelveMonkeys has no 12-bit lossy JPEG decoder: the file must fail cleanly, never decode to garbage. */
    @Test
    void twelveBitLossyJpegIsRefusedClearly() {
        ImageFormatException e = org.junit.jupiter.api.Assertions.assertThrows(
                ImageFormatException.class,
                () -> new DicomImageReader().read(resource("jpeg-extended-12bit.dcm"), ReadLimits.DEFAULT));
        assertTrue(e.getMessage().contains("JPEG"), e.getMessage());
    }
}

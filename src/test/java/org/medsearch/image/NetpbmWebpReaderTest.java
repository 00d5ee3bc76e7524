package org.medsearch.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.testutil.Netpbm;
import org.medsearch.testutil.TestImages;

/**
 * PBM, PGM, PPM, PAM and WebP through {@link RasterImageReader}: samples survive at their full
 * depth whatever the maxval, colour goes through the same luma as a colour PNG, and hostile,
 * truncated or damaged files are refused with one-line messages, as for the other raster formats.
 *
 * <p>The Netpbm files are written here from known samples. The WebP files in
 * {@code src/test/resources/org/medsearch/image/webp/} were made with cwebp from a 32x32 gradient
 * (R = 8x, G = 8y, B = 128) by the {@code generate.sh} beside them: TwelveMonkeys cannot write WebP.
 */
class NetpbmWebpReaderTest {

    final ImageReaders readers = ImageReaders.standard();

    // ---------------------------------------------------------------- PGM

    @ParameterizedTest
    @ValueSource(chars = {'5', '2'})
    void eightBitPgmKeepsItsSamples(char kind) throws Exception {
        int[] v = Netpbm.randomSamples(7 * 5, 255, 1);
        MedicalImage m = readers.read(Netpbm.pnm(kind, 7, 5, 255, v));
        assertSamples(v, 255, m);
        assertEquals("pgm", m.metadata().get("format"));
        assertEquals("8", m.metadata().get("bitsPerSample"));
    }

    @ParameterizedTest
    @ValueSource(chars = {'5', '2'})
    void sixteenBitPgmKeepsItsSamples(char kind) throws Exception {
        int[] v = Netpbm.randomSamples(9 * 4, 65535, 2);
        v[1] = 1;
        v[2] = 32768; // the high bit set: signed arithmetic would show here
        MedicalImage m = readers.read(Netpbm.pnm(kind, 9, 4, 65535, v));
        assertSamples(v, 65535, m);
        assertEquals(1 / 65535f, m.pixel(1, 0), 1e-9f);
        assertEquals("16", m.metadata().get("bitsPerSample"));
    }

    /**
     * A PGM's range is 0..maxval: a 12-bit mammogram (maxval 4095) maps 4095 to 1, not to 4095/65535.
     * maxval 40000 and 200 are where the plug-in's own rescaling overflows; 1 is a bitmap as a PGM.
     */
    @ParameterizedTest
    @ValueSource(ints = {4095, 1023, 40000, 256, 200, 100, 1})
    void anyMaxvalMapsItsFullRangeToZeroOne(int maxval) throws Exception {
        int[] v = Netpbm.randomSamples(11 * 6, maxval, maxval);
        for (char kind : new char[] {'5', '2'}) {
            MedicalImage m = readers.read(Netpbm.pnm(kind, 11, 6, maxval, v));
            assertSamples(v, maxval, m);
            assertEquals(Integer.toString(maxval), m.metadata().get("maxval"));
            assertEquals(
                    Integer.toString(32 - Integer.numberOfLeadingZeros(maxval)),
                    m.metadata().get("bitsPerSample"));
        }
    }

    @Test
    void aSampleAboveMaxvalIsCorruption() {
        int[] v = {0, 100, 4096, 7};
        ImageFormatException e =
                assertThrows(ImageFormatException.class, () -> readers.read(Netpbm.pnm('5', 2, 2, 4095, v)));
        assertEquals("corrupt PGM (a sample of 4096 is above the header's maxval of 4095)", e.getMessage());
    }

    @Test
    void formatComesFromContentAndAFileOnDiskReadsAlike(@TempDir Path dir) throws Exception {
        int[] v = Netpbm.randomSamples(16, 4095, 3);
        Path f = dir.resolve("mdb001.pgm");
        Files.write(f, Netpbm.pnm('5', 4, 4, 4095, v));
        assertSamples(v, 4095, readers.read(f));
        Path misnamed = dir.resolve("scan.png");
        Files.write(misnamed, Netpbm.pnm('2', 4, 4, 4095, v));
        assertEquals("pgm", readers.read(misnamed).metadata().get("format"));
    }

    @Test
    void headerCommentsAndWhitespaceAreAllowedWhereTheFormatAllowsThem() throws Exception {
        byte[] f =
                "P2 # comment after the magic\n#another\n 3\t# the width\n2\r\n255# right before the data\n0 128 255\n1 2 3\n"
                        .getBytes(StandardCharsets.US_ASCII);
        assertSamples(new int[] {0, 128, 255, 1, 2, 3}, 255, readers.read(f));
    }

    // ---------------------------------------------------------------- PPM, PBM, PAM

    @ParameterizedTest
    @ValueSource(chars = {'6', '3'})
    void ppmColourBecomesTheSameLumaAsAColourPng(char kind) throws Exception {
        BufferedImage rgb = new BufferedImage(6, 5, BufferedImage.TYPE_INT_RGB);
        int[] samples = new int[6 * 5 * 3];
        Random rnd = new Random(4);
        for (int i = 0; i < 30; i++) {
            int p = rnd.nextInt(1 << 24);
            rgb.setRGB(i % 6, i / 6, p);
            samples[3 * i] = p >> 16 & 0xff;
            samples[3 * i + 1] = p >> 8 & 0xff;
            samples[3 * i + 2] = p & 0xff;
        }
        MedicalImage png = readers.read(TestImages.png(rgb));
        MedicalImage ppm = readers.read(Netpbm.pnm(kind, 6, 5, 255, samples));
        assertEquals("ppm", ppm.metadata().get("format"));
        assertTrue(Arrays.equals(png.pixels(), ppm.pixels()), "PPM and PNG of the same colours differ");
        // PIL: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
        int lumaOfFirst = (samples[0] * 19595 + samples[1] * 38470 + samples[2] * 7471 + 0x8000) >> 16;
        assertEquals(lumaOfFirst / 255f, ppm.pixel(0, 0), 1e-6f);
    }

    @Test
    void deepPpmIsScaledToEightBitsBeforeLumaAsA16BitPngIs() throws Exception {
        // 1023 is full red at maxval 1023; 512 of 1023 is 127.6, so 128
        int[] samples = {1023, 0, 0, 512, 512, 512, 0, 0, 0};
        MedicalImage m = readers.read(Netpbm.pnm('6', 3, 1, 1023, samples));
        assertEquals(((255 * 19595 + 0x8000) >> 16) / 255f, m.pixel(0, 0), 1e-6f);
        assertEquals(128 / 255f, m.pixel(1, 0), 1e-6f);
        assertEquals(0f, m.pixel(2, 0));
        assertEquals("10", m.metadata().get("bitsPerSample"));
    }

    @ParameterizedTest
    @ValueSource(chars = {'4', '1'})
    void pbmOneIsBlack(char kind) throws Exception {
        int[] bits = {1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1}; // 9 wide: P4 pads each row
        MedicalImage m = readers.read(Netpbm.pnm(kind, 9, 2, 1, bits));
        for (int i = 0; i < bits.length; i++) {
            assertEquals(bits[i] == 1 ? 0f : 1f, m.pixel(i % 9, i / 9), "pixel " + i);
        }
        assertEquals("pbm", m.metadata().get("format"));
        assertEquals("1", m.metadata().get("bitsPerSample"));
    }

    @Test
    void pamGrayColourAndBitmapTuples() throws Exception {
        int[] gray = Netpbm.randomSamples(12, 4095, 5);
        assertSamples(gray, 4095, readers.read(Netpbm.pam(4, 3, 1, 4095, "GRAYSCALE", gray)));

        int[] grayAlpha = {0, 255, 1000, 0, 4095, 4095}; // alpha is ignored, as in a gray+alpha PNG
        MedicalImage ga = readers.read(Netpbm.pam(3, 1, 2, 4095, "GRAYSCALE_ALPHA", grayAlpha));
        assertEquals(1000 / 4095f, ga.pixel(1, 0), 1e-7f);
        assertEquals(1f, ga.pixel(2, 0));

        int[] bw = {0, 1, 1, 0};
        MedicalImage b = readers.read(Netpbm.pam(2, 2, 1, 1, "BLACKANDWHITE", bw));
        assertSamples(bw, 1, b); // in a PAM, unlike a PBM, 1 is white

        int[] rgba = {255, 0, 0, 0, 16, 160, 240, 255};
        MedicalImage c = readers.read(Netpbm.pam(2, 1, 4, 255, "RGB_ALPHA", rgba));
        assertEquals(((255 * 19595 + 0x8000) >> 16) / 255f, c.pixel(0, 0), 1e-6f);
        assertEquals(((16 * 19595 + 160 * 38470 + 240 * 7471 + 0x8000) >> 16) / 255f, c.pixel(1, 0), 1e-6f);
        assertEquals("pam", c.metadata().get("format"));
    }

    @Test
    void pamTupleTypesWeDoNotReadAreRefusedByName() {
        byte[] cmyk = Netpbm.pam(1, 1, 4, 255, "CMYK", new int[] {1, 2, 3, 4});
        assertEquals(
                "unsupported PAM tuple type 'CMYK' (medsearch reads GRAYSCALE, RGB, BLACKANDWHITE and their _ALPHA forms)",
                assertThrows(ImageFormatException.class, () -> readers.read(cmyk))
                        .getMessage());
        byte[] mismatch = Netpbm.pam(1, 1, 2, 255, "RGB", new int[] {1, 2});
        assertEquals(
                "corrupt PAM header (DEPTH 2 does not fit tuple type RGB)",
                assertThrows(ImageFormatException.class, () -> readers.read(mismatch))
                        .getMessage());
    }

    // ---------------------------------------------------------------- hostile and broken Netpbm

    @Test
    void aHugePgmHeaderIsRefusedFromTheHeaderAsOtherFormatsAre() {
        byte[] header = "P5\n100000 100000\n65535\n".getBytes(StandardCharsets.US_ASCII);
        long t0 = System.nanoTime();
        ImageFormatException e = assertThrows(ImageFormatException.class, () -> readers.read(header));
        assertEquals("image of 100000x100000 pixels exceeds the limit of 268435456 pixels", e.getMessage());

        // within the pixel limit, over the memory one decode may take: refused by admitDecode's rule
        byte[] deep = "P6\n8192 8192\n65535\n".getBytes(StandardCharsets.US_ASCII);
        ImageReaders server =
                readers.withLimits(ReadLimits.DEFAULT.withMaxPixels(64L << 20).withMaxDecodedBytes(512L << 20));
        ImageFormatException d = assertThrows(ImageFormatException.class, () -> server.read(deep));
        assertEquals(
                "decoding this 8192x8192 image with 3 samples of 16 bits per pixel takes 640 MiB,"
                        + " over the limit of 512 MiB",
                d.getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 2, "refused from the header, not decoded");
    }

    @Test
    void aSmallFileDeclaringALargeImageIsRefusedBeforeAnyPixelMemoryIsTaken() {
        // 16000 x 16000 is within the default limits; the 1 KB that follow cannot hold its samples
        byte[] f = Arrays.copyOf("P5\n16000 16000\n255\n".getBytes(StandardCharsets.US_ASCII), 1024);
        MemoryBudget budget = new MemoryBudget(1L << 40, Duration.ofSeconds(1));
        ImageReaders budgeted = readers.withLimits(ReadLimits.DEFAULT.withBudget(budget));
        ImageFormatException e = assertThrows(ImageFormatException.class, () -> budgeted.read(f));
        assertEquals(
                "corrupt or truncated PGM (the header declares 16000x16000 pixels, 256000000 bytes of samples,"
                        + " and 1005 follow)",
                e.getMessage());
        assertEquals(0, budget.peak(), "nothing reserved for a file refused from its header");
    }

    @Test
    void aDecodeReservesFromTheSharedBudgetAndGivesItBack() throws Exception {
        MemoryBudget budget = new MemoryBudget(1L << 30, Duration.ofSeconds(1));
        ImageReaders budgeted = readers.withLimits(ReadLimits.DEFAULT.withBudget(budget));
        budgeted.read(Netpbm.pnm('5', 64, 32, 4095, Netpbm.randomSamples(64 * 32, 4095, 6)));
        assertEquals(64 * 32 * 2 + 64 * 32 * 4, budget.peak(), "the 16-bit raster and the float copy");
        assertEquals(0, budget.used());

        MemoryBudget other = new MemoryBudget(1L << 30, Duration.ofSeconds(1));
        readers.withLimits(ReadLimits.DEFAULT.withBudget(other)).read(webp("gradient-lossy.webp"));
        assertEquals(32 * 32 * 3 + 32 * 32 * 4, other.peak(), "the RGB raster and the float copy");
        assertEquals(0, other.used());
    }

    @ParameterizedTest
    @ValueSource(chars = {'5', '2', '6', '3', '4', '1'})
    void truncatedNetpbmIsRefusedCleanly(char kind) throws Exception {
        int n = kind == '6' || kind == '3' ? 3 * 40 * 30 : 40 * 30;
        int maxval = kind == '4' || kind == '1' ? 1 : kind == '5' ? 4095 : 255;
        byte[] full = Netpbm.pnm(kind, 40, 30, maxval, Netpbm.randomSamples(n, maxval, 7));
        for (double keep : new double[] {0.01, 0.1, 0.3, 0.6, 0.9, 0.999}) {
            byte[] cut = Arrays.copyOf(full, Math.max(8, (int) (full.length * keep)));
            ImageFormatException e =
                    assertThrows(ImageFormatException.class, () -> readers.read(cut), "P" + kind + " cut at " + keep);
            assertTrue(e.getMessage().contains("corrupt or truncated"), e.getMessage());
            assertOneLine(e);
        }
    }

    @Test
    void malformedHeadersAreNamedInOneLine() {
        String[][] cases = {
            {"P5\n12 x\n255\n", "corrupt PGM header (expected the height, found 'x')"},
            {"P5\n12 8\n0\n", "corrupt PGM header (maxval 0 is outside 1..65535)"},
            {"P5\n12 8\n70000\n", "corrupt PGM header (maxval 70000 is outside 1..65535)"},
            {"P5\n99999999999 8\n255\n", "corrupt PGM header (width 99999999999 is too large)"},
            {"P6\n0 8\n255\n", "invalid image size 0x8x1"},
            {"P5\n12 8\n255", "corrupt or truncated PGM (the file ends inside its header)"},
            {"P5\n12 8\n255x", "corrupt PGM header (expected the maxval, found '255x')"},
            {
                "P7\nWIDTH 2\nHEIGHT 2\nENDHDR\n",
                "corrupt PAM header (the header lacks one of WIDTH, HEIGHT, DEPTH" + " and MAXVAL)"
            },
            {"P7\nWIDTH 2\nFOO 1\nENDHDR\n", "corrupt PAM header (unknown header field 'FOO')"},
            {"P7\nWIDTH 2\nHEIGHT 2\nDEPTH 9\nMAXVAL 255\nENDHDR\n", "corrupt PAM header (DEPTH 9 without a TUPLTYPE)"},
        };
        for (String[] c : cases) {
            // room for the samples after a complete header, so that only the header is at fault
            int room = c[0].endsWith("\n") ? 200 : 0;
            byte[] f = Arrays.copyOf(c[0].getBytes(StandardCharsets.US_ASCII), c[0].length() + room);
            ImageFormatException e = assertThrows(ImageFormatException.class, () -> readers.read(f), c[0]);
            assertEquals(c[1], e.getMessage(), c[0]);
        }
    }

    @Test
    void textThatStartsLikeAMagicNumberIsStillText() {
        for (String text : new String[] {"P2 is the second phase\n", "P5\nnot an image\n", "P7 notes\n"}) {
            ImageFormatException e = assertThrows(
                    ImageFormatException.class, () -> readers.read(text.getBytes(StandardCharsets.US_ASCII)));
            assertTrue(e.getMessage().contains("looks like text"), text + ": " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------- WebP

    @Test
    void losslessWebpDecodesExactly() throws Exception {
        MedicalImage m = readers.read(webp("gradient-lossless.webp"));
        assertEquals(32, m.width());
        assertEquals(32, m.height());
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                assertEquals(gradientLuma(x, y), m.pixel(x, y), 1e-6f, x + "," + y);
            }
        }
        assertEquals("webp", m.metadata().get("format"));
        assertEquals("8", m.metadata().get("bitsPerSample"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gradient-lossy.webp", "gradient-alpha.webp"})
    void lossyWebpDecodesCloseToItsSource(String name) throws Exception {
        MedicalImage m = readers.read(webp(name)); // the alpha one is VP8X + ALPH + VP8
        assertEquals(32, m.width());
        assertEquals(32, m.height());
        double err = 0;
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                err += Math.abs(gradientLuma(x, y) - m.pixel(x, y));
            }
        }
        assertTrue(err / (32 * 32) < 0.02, name + ": mean abs error " + err / (32 * 32));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gradient-lossless.webp", "gradient-lossy.webp", "gradient-alpha.webp"})
    void truncatedWebpIsRefusedCleanly(String name) throws Exception {
        byte[] full = webp(name);
        for (double keep : new double[] {0.3, 0.6, 0.9}) {
            byte[] cut = Arrays.copyOf(full, (int) (full.length * keep));
            ImageFormatException e =
                    assertThrows(ImageFormatException.class, () -> readers.read(cut), name + " cut at " + keep);
            assertTrue(e.getMessage().contains("corrupt or truncated WEBP"), e.getMessage());
            assertOneLine(e);
        }
    }

    @Test
    void aWebpCanvasBeyondTheLimitsIsRefusedFromItsHeader() throws Exception {
        byte[] f = webp("gradient-alpha.webp");
        // VP8X: canvas width - 1 and height - 1, 24 bits little-endian each, at offsets 24 and 27
        int side = 100_000 - 1;
        for (int at : new int[] {24, 27}) {
            f[at] = (byte) side;
            f[at + 1] = (byte) (side >> 8);
            f[at + 2] = (byte) (side >> 16);
        }
        ImageFormatException e = assertThrows(ImageFormatException.class, () -> readers.read(f));
        assertEquals("image of 100000x100000 pixels exceeds the limit of 268435456 pixels", e.getMessage());
    }

    // ---------------------------------------------------------------- damage of every kind

    /**
     * Random damage (flipped, dropped and inserted bytes, cuts) to each kind of file: the only
     * outcomes allowed are an image in [0, 1] or an ImageFormatException with a one-line message.
     */
    @Test
    void damagedFilesDecodeOrFailWithOneLine() throws Exception {
        // small limits, as in the fuzz tests: a damaged header may declare a large image, and decoding
        // a megapixel of noise only slows the test down
        ImageReaders small =
                readers.withLimits(ReadLimits.DEFAULT.withMaxPixels(1 << 14).withMaxDecodedBytes(1L << 20));
        byte[][] seeds = {
            Netpbm.pnm('5', 24, 16, 4095, Netpbm.randomSamples(24 * 16, 4095, 8)),
            Netpbm.pnm('2', 12, 8, 255, Netpbm.randomSamples(12 * 8, 255, 9)),
            Netpbm.pnm('6', 12, 8, 255, Netpbm.randomSamples(3 * 12 * 8, 255, 10)),
            Netpbm.pnm('4', 20, 8, 1, Netpbm.randomSamples(20 * 8, 1, 11)),
            Netpbm.pam(8, 8, 2, 1023, "GRAYSCALE_ALPHA", Netpbm.randomSamples(2 * 64, 1023, 12)),
            webp("gradient-lossless.webp"),
            webp("gradient-lossy.webp"),
            webp("gradient-alpha.webp"),
        };
        Random rnd = new Random(13);
        int decoded = 0;
        int refused = 0;
        for (byte[] seed : seeds) {
            for (int i = 0; i < 100; i++) {
                byte[] f = damage(seed, rnd);
                try {
                    MedicalImage m = small.read(f);
                    for (float v : m.pixels()) {
                        assertTrue(v >= 0 && v <= 1, "pixel " + v);
                    }
                    decoded++;
                } catch (ImageFormatException e) {
                    assertOneLine(e);
                    refused++;
                }
            }
        }
        assertTrue(decoded > 0 && refused > 0, decoded + " decoded, " + refused + " refused");
    }

    private static byte[] damage(byte[] seed, Random rnd) {
        byte[] f = seed.clone();
        int edits = 1 + rnd.nextInt(4);
        for (int e = 0; e < edits; e++) {
            int at = rnd.nextInt(f.length);
            switch (rnd.nextInt(4)) {
                case 0 -> f[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> f[at] = (byte) rnd.nextInt(256);
                case 2 -> f = Arrays.copyOf(f, Math.max(1, at));
                default -> {
                    byte[] g = new byte[f.length + 1];
                    System.arraycopy(f, 0, g, 0, at);
                    g[at] = (byte) rnd.nextInt(256);
                    System.arraycopy(f, at, g, at + 1, f.length - at);
                    f = g;
                }
            }
        }
        return f;
    }

    // ---------------------------------------------------------------- helpers

    private static void assertSamples(int[] samples, int maxval, MedicalImage m) {
        assertEquals(samples.length, m.width() * m.height());
        for (int i = 0; i < samples.length; i++) {
            assertEquals(
                    samples[i] / (float) maxval,
                    m.pixels()[i],
                    1e-7f,
                    "sample " + i + " (" + samples[i] + " of " + maxval + ")");
        }
    }

    private static void assertOneLine(ImageFormatException e) {
        assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\tat "), e.getMessage());
    }

    /** The lossless fixtures' luma at (x, y): R = 8x, G = 8y, B = 128, as generate.sh wrote them. */
    private static float gradientLuma(int x, int y) {
        return Intensities.luma(8 * x, 8 * y, 128) / 255f;
    }

    static byte[] webp(String name) throws IOException {
        try (InputStream in = NetpbmWebpReaderTest.class.getResourceAsStream("webp/" + name)) {
            if (in == null) {
                throw new IOException("missing test resource webp/" + name);
            }
            return in.readAllBytes();
        }
    }
}

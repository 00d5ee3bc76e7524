package org.medsearch.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.testutil.TestImages;

class RasterImageReaderTest {

    final ImageReaders readers = ImageReaders.standard();

    @ParameterizedTest
    @ValueSource(strings = {"png", "bmp", "gif", "tiff"})
    void losslessFormatsRoundTripGray(String format) throws Exception {
        BufferedImage img = TestImages.pattern("disc", 40, new Random(3));
        MedicalImage m = readers.read(TestImages.encode(img, format));
        assertEquals(40, m.width());
        assertEquals(40, m.height());
        for (int y = 0; y < 40; y += 7) {
            for (int x = 0; x < 40; x += 5) {
                assertEquals(
                        img.getRaster().getSample(x, y, 0) / 255f, m.pixel(x, y), 1e-6f, format + " at " + x + "," + y);
            }
        }
    }

    @Test
    void jpegDecodesCloseToItsSource() throws Exception {
        BufferedImage img = TestImages.pattern("stripes", 64, new Random(1));
        MedicalImage m = readers.read(TestImages.encode(img, "jpeg"));
        double err = 0;
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                err += Math.abs(img.getRaster().getSample(x, y, 0) / 255.0 - m.pixel(x, y));
            }
        }
        assertTrue(err / (64 * 64) < 0.05, "mean abs error " + err / (64 * 64));
    }

    @Test
    void sixteenBitGrayKeepsItsDepth() throws Exception {
        BufferedImage img = new BufferedImage(3, 1, BufferedImage.TYPE_USHORT_GRAY);
        img.getRaster().setSample(0, 0, 0, 0);
        img.getRaster().setSample(1, 0, 0, 1);
        img.getRaster().setSample(2, 0, 0, 65535);
        MedicalImage m = readers.read(TestImages.encode(img, "png"));
        assertEquals(0f, m.pixel(0, 0));
        assertEquals(1 / 65535f, m.pixel(1, 0), 1e-9f);
        assertEquals(1f, m.pixel(2, 0));
        assertEquals("16", m.metadata().get("bitsPerSample"));
    }

    @Test
    void colourBecomesPilLuma() throws Exception {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, 0xff0000);
        img.setRGB(1, 0, 0x10a0f0);
        MedicalImage m = readers.read(TestImages.encode(img, "png"));
        // PIL: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
        assertEquals(((255 * 19595 + 0x8000) >> 16) / 255f, m.pixel(0, 0), 1e-6f);
        assertEquals(((0x10 * 19595 + 0xa0 * 38470 + 0xf0 * 7471 + 0x8000) >> 16) / 255f, m.pixel(1, 0), 1e-6f);
    }

    @Test
    void formatComesFromContentNotExtension(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("really-a-png.jpg");
        Files.write(f, TestImages.png(TestImages.pattern("disc", 16, new Random(1))));
        assertEquals("png", readers.read(f).metadata().get("format"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"png", "jpeg", "gif", "bmp", "tiff"})
    void truncatedFilesAreRejected(String format) throws Exception {
        byte[] full = TestImages.encode(TestImages.pattern("disc", 64, new Random(2)), format);
        for (double keep : new double[] {0.3, 0.6, 0.9}) {
            byte[] cut = Arrays.copyOf(full, (int) (full.length * keep));
            ImageFormatException e =
                    assertThrows(ImageFormatException.class, () -> readers.read(cut), format + " cut at " + keep);
            assertTrue(e.getMessage().contains("corrupt or truncated"), e.getMessage());
        }
    }

    @Test
    void emptyTextAndUnknownContentAreRejected(@TempDir Path dir) throws Exception {
        assertEquals(
                "empty file",
                assertThrows(ImageFormatException.class, () -> readers.read(new byte[0]))
                        .getMessage());
        assertTrue(assertThrows(ImageFormatException.class, () -> readers.read("hello, world\n".getBytes()))
                .getMessage()
                .contains("looks like text"));
        byte[] noise = new byte[300];
        new Random(1).nextBytes(noise);
        noise[0] = 0;
        assertThrows(ImageFormatException.class, () -> readers.read(noise));
        assertEquals(
                "no such file",
                assertThrows(ImageFormatException.class, () -> readers.read(dir.resolve("missing.png")))
                        .getMessage());
        assertEquals(
                "is a directory",
                assertThrows(ImageFormatException.class, () -> readers.read(dir))
                        .getMessage());
    }

    @Test
    void decompressionBombIsRefusedBeforeDecoding() throws Exception {
        // a real PNG of 20000 x 20000 black pixels compresses to a few hundred kilobytes
        byte[] bomb = TestImages.bigBlackPng(20000, 20000);
        ImageReaders strict = readers.withLimits(ReadLimits.DEFAULT.withMaxPixels(100_000_000L));
        ImageFormatException e = assertThrows(ImageFormatException.class, () -> strict.read(bomb));
        assertTrue(e.getMessage().contains("exceeds the limit"), e.getMessage());
    }

    @Test
    void oversizedFilesAreRefused() {
        ImageReaders small = readers.withLimits(ReadLimits.DEFAULT.withMaxFileBytes(100));
        assertTrue(assertThrows(ImageFormatException.class, () -> small.read(new byte[101]))
                .getMessage()
                .contains("exceeds the limit"));
    }
}

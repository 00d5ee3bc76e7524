package org.medsearch.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ReadLimits;

/**
 * JPEG 2000 decodes are bounded without {@code Thread.stop} (gone from Java 20): JJ2000 runs on the calling
 * thread and gives up from inside, so no decoder thread is ever left spinning.
 */
class Jpeg2000DeadlineTest {

    private static final ReadLimits LIMITS =
            ReadLimits.DEFAULT.withMaxPixels(1 << 20).withMaxFileBytes(1 << 22);

    /** The fuzzing finding that kept JJ2000's packet header reader spinning for minutes (0xFF 0xFF). */
    @Test
    void fuzzedRunawayIsRefusedFromInsideTheDecoder() throws Exception {
        byte[] b = resource("DicomFuzzTestInputs/read/crash-3c75a3490563346f5004f1fc2ee5432f4f26cd1b");
        long t0 = System.nanoTime();
        ImageFormatException e = assertThrows(ImageFormatException.class, () -> new DicomImageReader().read(b, LIMITS));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 10_000, "refused after " + ms + " ms");
        assertEquals("corrupt JPEG 2000 frame: 0xFF 0xFF in a packet header", e.getMessage());
        // thrown by the packet header reader itself, on this thread: nothing was stopped from outside
        assertTrue(thrownHere(e, "jj2000.j2k.codestream.reader.PktHeaderBitReader"), () -> chain(e));
        assertNoDecoderThread();
    }

    /** A deadline that has passed: the decode is abandoned on the calling thread, whatever JJ2000 does with it. */
    @Test
    void passedDeadlineAbandonsTheDecodeCooperatively() throws Exception {
        byte[] file = SyntheticCodecTest.resource("j2k-s16.dcm");
        assertNotNull(file);
        PixelModule pm = DicomFile.parse(file, LIMITS).pixelModule();
        int soc = DicomRobustnessTest.indexOf(file, new byte[] {(byte) 0xff, 0x4f, (byte) 0xff, 0x51});
        int len = (int) Dataset.u32(file, soc - 4, false); // the fragment's item length
        int[] decoded = ImageIoDecoder.decodeJpeg2000(file, soc, len, pm, 60_000);
        assertEquals(pm.pixels() * pm.samples(), decoded.length);

        ImageFormatException e =
                assertThrows(ImageFormatException.class, () -> ImageIoDecoder.decodeJpeg2000(file, soc, len, pm, 0));
        assertEquals("corrupt JPEG 2000 frame: the decoder did not finish within 0 ms", e.getMessage());
        assertTrue(thrownHere(e, "com.github.jaiimageio.jpeg2000."), () -> chain(e));
        assertNoDecoderThread();
        // the refusal leaves nothing behind: the next decode of the same frame is whole
        assertArrayEquals(decoded, ImageIoDecoder.decodeJpeg2000(file, soc, len, pm, 60_000));
    }

    /** An interrupt of the calling thread abandons the decode as well, and stays set. */
    @Test
    void interruptAbandonsTheDecode() throws Exception {
        byte[] file = SyntheticCodecTest.resource("j2k-s16.dcm");
        assertNotNull(file);
        Thread.currentThread().interrupt();
        try {
            ImageFormatException e =
                    assertThrows(ImageFormatException.class, () -> new DicomImageReader().read(file, LIMITS));
            assertEquals("interrupted while decoding a JPEG 2000 frame", e.getMessage());
            assertTrue(Thread.currentThread().isInterrupted());
        } finally {
            Thread.interrupted();
        }
    }

    /**
     * JJ2000 reads packed packet headers (PPM, PPT) from a copy no deadline reaches, and follows TLM
     * indexes to tile-parts: both would let a hostile header spin it, so the header check refuses them.
     */
    @Test
    void packedPacketHeadersAndStrayTlmIndexesAreRefused() throws Exception {
        byte[] file = SyntheticCodecTest.resource("j2k-s16.dcm");
        assertNotNull(file);
        PixelModule pm = DicomFile.parse(file, LIMITS).pixelModule();
        int soc = DicomRobustnessTest.indexOf(file, new byte[] {(byte) 0xff, 0x4f, (byte) 0xff, 0x51});
        byte[] cs = Arrays.copyOfRange(file, soc, soc + (int) Dataset.u32(file, soc - 4, false));
        int sot = DicomRobustnessTest.indexOf(cs, new byte[] {(byte) 0xff, (byte) 0x90, 0, 10});
        int psot = (int) Dataset.u32(cs, sot + 6, true);
        int[] pixels = ImageIoDecoder.decodeJpeg2000(cs, 0, cs.length, pm, 60_000);

        byte[] ppm = insert(cs, sot, 0xff, 0x60, 0, 3, 0); // main header
        assertEquals(
                "corrupt or unsupported JPEG 2000 frame: packed packet headers (PPM, PPT) are not supported",
                assertThrows(ImageFormatException.class, () -> ImageIoDecoder.decodeJpeg2000(ppm, 0, ppm.length, pm))
                        .getMessage());
        byte[] ppt = insert(cs, sot + 12, 0xff, 0x61, 0, 3, 0); // tile-part header
        System.arraycopy(be32(psot + 5), 0, ppt, sot + 6, 4);
        assertEquals(
                "corrupt or unsupported JPEG 2000 frame: packed packet headers (PPM, PPT) are not supported",
                assertThrows(ImageFormatException.class, () -> ImageIoDecoder.decodeJpeg2000(ppt, 0, ppt.length, pm))
                        .getMessage());

        // TLM: one tile-part of Psot bytes (Stlm 0x40: no tile indexes, 4-byte lengths) decodes as before
        byte[] tlm = insert(
                cs, sot, 0xff, 0x55, 0, 8, 0, 0x40, psot >>> 24, (psot >> 16) & 0xff, (psot >> 8) & 0xff, psot & 0xff);
        assertArrayEquals(pixels, ImageIoDecoder.decodeJpeg2000(tlm, 0, tlm.length, pm, 60_000));
        // a second index entry 10 bytes into the tile-part, where no tile-part header starts
        byte[] stray = insert(cs, sot, 0xff, 0x55, 0, 12, 0, 0x40, 0, 0, 0, 10, 0, 0, 0, 10);
        assertEquals(
                "corrupt or unsupported JPEG 2000 frame: TLM index does not match the tile-parts",
                assertThrows(
                                ImageFormatException.class,
                                () -> ImageIoDecoder.decodeJpeg2000(stray, 0, stray.length, pm))
                        .getMessage());
    }

    private static byte[] be32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >> 16), (byte) (v >> 8), (byte) v};
    }

    private static byte[] insert(byte[] b, int at, int... bytes) {
        byte[] r = new byte[b.length + bytes.length];
        System.arraycopy(b, 0, r, 0, at);
        for (int i = 0; i < bytes.length; i++) {
            r[at + i] = (byte) bytes[i];
        }
        System.arraycopy(b, at, r, at + bytes.length, b.length - at);
        return r;
    }

    /** Whether a cause of {@code e} was thrown from code of {@code codePrefix} called by this test's thread. */
    private static boolean thrownHere(Throwable e, String codePrefix) {
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            List<String> frames = Arrays.stream(c.getStackTrace())
                    .map(StackTraceElement::getClassName)
                    .toList();
            if (frames.stream().anyMatch(f -> f.startsWith(codePrefix))
                    && frames.contains(Jpeg2000DeadlineTest.class.getName())) {
                return true;
            }
        }
        return false;
    }

    private static String chain(Throwable e) {
        List<String> s = new ArrayList<>();
        for (Throwable c = e; c != null; c = c.getCause()) {
            s.add(c + " at " + (c.getStackTrace().length > 0 ? c.getStackTrace()[0] : "?"));
        }
        return String.join(" <- ", s);
    }

    /** No live thread runs JJ2000 code or carries the old decoder thread's name. */
    private static void assertNoDecoderThread() {
        for (Map.Entry<Thread, StackTraceElement[]> t :
                Thread.getAllStackTraces().entrySet()) {
            assertTrue(
                    !t.getKey().getName().contains("jpeg2000"),
                    "thread " + t.getKey().getName());
            for (StackTraceElement f : t.getValue()) {
                assertTrue(
                        !f.getClassName().startsWith("jj2000."),
                        () -> "thread " + t.getKey().getName() + " in " + f);
            }
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = Jpeg2000DeadlineTest.class.getResourceAsStream(name)) {
            assertNotNull(in, name);
            return in.readAllBytes();
        }
    }
}

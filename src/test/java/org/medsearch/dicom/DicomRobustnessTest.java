package org.medsearch.dicom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.ReadLimits;

/** Hostile and damaged input: the only outcome besides a valid image is an ImageFormatException. */
class DicomRobustnessTest {

    private static final DicomImageReader READER = new DicomImageReader();

    /** Reads {@code b}; returns the exception's message, or null for a decoded image. Fails on anything else. */
    static String outcome(byte[] b, ReadLimits limits) {
        try {
            READER.read(b, limits);
            return null;
        } catch (ImageFormatException e) {
            assertFalse(e.getMessage().startsWith(DicomFile.INTERNAL_ERROR), () -> "a bug surfaced: " + e.getCause());
            return e.getMessage();
        } catch (Throwable t) {
            fail("expected ImageFormatException", t);
            return null;
        }
    }

    @Test
    void emptyAndTinyInputs() {
        assertEquals("empty file", outcome(new byte[0], ReadLimits.DEFAULT));
        assertThrows(ImageFormatException.class, () -> ImageReaders.standard().read(new byte[0]));
        for (int n = 1; n < 140; n++) {
            byte[] b = new byte[n];
            if (n >= 132) {
                b[128] = 'D';
                b[129] = 'I';
                b[130] = 'C';
                b[131] = 'M';
            }
            assertTrue(outcome(b, ReadLimits.DEFAULT) != null);
        }
    }

    /** Every sample cut short: before the end of its pixel data the cut must be reported, never decoded. */
    @ParameterizedTest
    @MethodSource("org.medsearch.dicom.DicomSamplesTest#allSamples")
    void truncatedAtManyOffsets(Path file) throws Exception {
        byte[] b = Files.readAllBytes(file);
        int pixelEnd = pixelDataEnd(b);
        TreeSet<Integer> cuts = new TreeSet<>();
        for (int i = 0; i < Math.min(b.length, 1200); i += 3) {
            cuts.add(i);
        }
        for (int k = 0; k < 40; k++) {
            cuts.add((int) ((long) b.length * k / 40));
        }
        for (int d = 1; d <= 16; d++) {
            cuts.add(Math.max(0, pixelEnd - d));
        }
        for (int cut : cuts) {
            String msg = outcome(Arrays.copyOf(b, cut), ReadLimits.DEFAULT);
            if (cut < pixelEnd) {
                assertTrue(msg != null, "decoded a file cut at " + cut + " of " + b.length);
            }
        }
    }

    /** Where the pixel data element ends; for a deflated file, where the deflate stream ends. */
    private static int pixelDataEnd(byte[] b) throws Exception {
        DicomFile f = DicomFile.parse(b, ReadLimits.DEFAULT);
        if (f.transferSyntax().orElseThrow().deflated()) {
            DicomParser meta = new DicomParser(b, 132);
            meta.readMeta();
            java.util.zip.Inflater inf = new java.util.zip.Inflater(true);
            inf.setInput(b, meta.position(), b.length - meta.position());
            inf.inflate(new byte[64 << 20]);
            int end = b.length - inf.getRemaining();
            inf.end();
            return end;
        }
        Dataset.Element pd = f.dataset().element(Tags.PIXEL_DATA);
        if (pd.fragments() == null) {
            return pd.offset() + pd.length();
        }
        Dataset.Fragment last = pd.fragments().get(pd.fragments().size() - 1);
        return last.offset() + last.length() + 8;
    }

    @Test
    void hostileLengths() throws Exception {
        byte[] ok = DicomBuilder.explicitLittle()
                .str(Tags.PATIENT_NAME, "PN", "Doe^Jane")
                .image(2, 2, 8, 8, false, "MONOCHROME2")
                .pixels8(1, 2, 3, 4)
                .build();
        int at = indexOf(ok, new byte[] {0x10, 0, 0x10, 0, 'P', 'N'});
        byte[] shortLength = ok.clone();
        shortLength[at + 6] = (byte) 0xf0;
        shortLength[at + 7] = (byte) 0xff; // 65520 bytes, far past the end
        assertTrue(outcome(shortLength, ReadLimits.DEFAULT).contains("runs past the end"));
        // the pixel data's 4-byte length: 0xFFFFFFF0
        int px = indexOf(ok, new byte[] {(byte) 0xe0, 0x7f, 0x10, 0, 'O', 'B'});
        byte[] hugePixels = ok.clone();
        System.arraycopy(DicomBuilder.le32(0xfffffff0), 0, hugePixels, px + 8, 4);
        assertTrue(outcome(hugePixels, ReadLimits.DEFAULT).contains("runs past the end"));

        byte[] huge = DicomBuilder.explicitLittle()
                .image(65535, 65535, 16, 16, false, "MONOCHROME2")
                .str(Tags.NUMBER_OF_FRAMES, "IS", "2147483647")
                .pixels16(1, 2)
                .build();
        assertTrue(outcome(huge, ReadLimits.DEFAULT).contains("exceeds the limit"));
        byte[] bigButAllowed = DicomBuilder.explicitLittle()
                .image(8192, 8192, 16, 16, false, "MONOCHROME2")
                .pixels16(1, 2)
                .build();
        assertTrue(outcome(bigButAllowed, ReadLimits.DEFAULT).startsWith("pixel data holds 4 bytes"));
        byte[] badFrames = DicomBuilder.explicitLittle()
                .image(2, 2, 8, 8, false, "MONOCHROME2")
                .str(Tags.NUMBER_OF_FRAMES, "IS", "99999999999")
                .pixels8(1, 2, 3, 4)
                .build();
        assertEquals("malformed value in (0028,0008) NumberOfFrames", outcome(badFrames, ReadLimits.DEFAULT));
        // an RLE frame that claims a 8192x8192 image from 70 bytes is refused before decoding
        byte[] rle = new byte[70];
        rle[0] = 1;
        rle[4] = 64;
        byte[] bomb = DicomBuilder.withSyntax("1.2.840.10008.1.2.5")
                .image(8192, 8192, 8, 8, false, "MONOCHROME2")
                .encapsulated(new byte[0], List.of(rle))
                .build();
        assertTrue(outcome(bomb, ReadLimits.DEFAULT).startsWith("RLE frame too short"));
    }

    @Test
    void deeplyNestedSequencesAndManyElements() throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        byte[] head = DicomBuilder.explicitLittle().build();
        o.writeBytes(head);
        for (int i = 0; i < 100_000; i++) { // (0008,1140) SQ, undefined length, then an undefined-length item
            o.writeBytes(new byte[] {
                8,
                0,
                0x40,
                0x11,
                'S',
                'Q',
                0,
                0,
                -1,
                -1,
                -1,
                -1,
                (byte) 0xfe,
                (byte) 0xff,
                0,
                (byte) 0xe0,
                -1,
                -1,
                -1,
                -1
            });
        }
        assertTrue(outcome(o.toByteArray(), ReadLimits.DEFAULT).contains("nested deeper than"));
        ByteArrayOutputStream many = new ByteArrayOutputStream();
        many.writeBytes(head);
        for (int i = 0; i < 1_100_000; i++) {
            many.writeBytes(new byte[] {9, 0, 0x10, 0x10, 'U', 'N', 0, 0, 0, 0, 0, 0}); // private, empty
        }
        assertEquals("more than 1048576 elements", outcome(many.toByteArray(), ReadLimits.DEFAULT));
    }

    /** Random damage to small samples and synthetic files, fixed seed: bytes flipped, lengths forged, cuts. */
    @Test
    void randomMutations() throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        for (String name : List.of(
                "jls-rgb8-ilv2.dcm",
                "jls-frames-nobot.dcm",
                "rle-rgb8.dcm",
                "jpeg-lossless-rgb8.dcm",
                "jpeg-baseline-rgb8.dcm",
                "j2k-s16.dcm",
                "jls-gray6-near2.dcm")) {
            seeds.add(SyntheticCodecTest.resource(name));
        }
        for (String name : List.of("CT_small.dcm", "MR_small.dcm", "transfer-syntaxes/deflated.dcm")) {
            Path p = org.medsearch.testutil.Shared.ROOT.resolve("samples/dicom/" + name);
            if (Files.exists(p)) {
                seeds.add(Files.readAllBytes(p));
            }
        }
        Random rnd = new Random(42);
        ReadLimits limits = ReadLimits.DEFAULT.withMaxPixels(1 << 18);
        for (int round = 0; round < 1500; round++) {
            byte[] b = seeds.get(rnd.nextInt(seeds.size())).clone();
            int edits = 1 + rnd.nextInt(6);
            for (int e = 0; e < edits; e++) {
                int at = rnd.nextInt(b.length);
                switch (rnd.nextInt(4)) {
                    case 0 -> b[at] = (byte) rnd.nextInt(256);
                    case 1 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                    case 2 -> {
                        int[] forged = {0xffffffff, 0x7fffffff, 0x80000000, 0xfffffff0, 0x10000, 0};
                        byte[] v = DicomBuilder.le32(forged[rnd.nextInt(forged.length)]);
                        System.arraycopy(v, 0, b, at, Math.min(4, b.length - at));
                    }
                    default -> b = Arrays.copyOf(b, Math.max(1, at));
                }
            }
            outcome(b, limits);
        }
    }

    /** Where {@code pattern} first occurs in {@code b}; fails the test when it does not. */
    static int indexOf(byte[] b, byte[] pattern) {
        outer:
        for (int i = 0; i + pattern.length <= b.length; i++) {
            for (int k = 0; k < pattern.length; k++) {
                if (b[i + k] != pattern[k]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("pattern not found");
    }
}

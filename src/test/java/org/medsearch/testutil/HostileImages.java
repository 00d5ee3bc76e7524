package org.medsearch.testutil;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Small files that decode to a lot of memory, written byte by byte so that every field is the one a
 * test means: a deflated TIFF with many samples per pixel, a 16-bit RGBA PNG, a multi-frame DICOM
 * header, and a plain large PNG (a "maximum-size" legitimate upload).
 */
public final class HostileImages {
    private HostileImages() {}

    /**
     * A little-endian TIFF of {@code w x h} with {@code samples} 8-bit samples per pixel in one
     * deflated strip of zeros: a few megabytes on disk, {@code w * h * samples} bytes decoded.
     */
    public static byte[] tiff(int w, int h, int samples) {
        byte[] strip = deflateZeros((long) w * h * samples, Deflater.BEST_COMPRESSION, false);
        int entries = 11;
        int ifd = 8;
        int ifdSize = 2 + entries * 12 + 4;
        int bitsAt = ifd + ifdSize;
        int extraAt = bitsAt + 2 * samples;
        int dataAt = extraAt + 2 * (samples - 1);
        ByteBuffer b = ByteBuffer.allocate(dataAt + strip.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(ifd);
        b.putShort((short) entries);
        entry(b, 256, 4, 1, w); // ImageWidth
        entry(b, 257, 4, 1, h); // ImageLength
        entry(b, 258, 3, samples, bitsAt); // BitsPerSample, 8 each
        entry(b, 259, 3, 1, 8); // Compression: deflate
        entry(b, 262, 3, 1, 1); // PhotometricInterpretation: BlackIsZero
        entry(b, 273, 4, 1, dataAt); // StripOffsets
        entry(b, 277, 3, 1, samples); // SamplesPerPixel
        entry(b, 278, 4, 1, h); // RowsPerStrip
        entry(b, 279, 4, 1, strip.length); // StripByteCounts
        entry(b, 284, 3, 1, 1); // PlanarConfiguration: chunky
        entry(b, 338, 3, samples - 1, extraAt); // ExtraSamples: unspecified
        b.putInt(0);
        for (int i = 0; i < samples; i++) {
            b.putShort((short) 8);
        }
        for (int i = 0; i < samples - 1; i++) {
            b.putShort((short) 0);
        }
        b.put(strip);
        return b.array();
    }

    private static void entry(ByteBuffer b, int tag, int type, int count, int value) {
        b.putShort((short) tag).putShort((short) type).putInt(count);
        if (type == 3 && count == 1) {
            b.putShort((short) value).putShort((short) 0);
        } else {
            b.putInt(value);
        }
    }

    /**
     * A PNG of {@code w x h}: {@code colorType} 0 (gray), 2 (RGB) or 6 (RGBA), {@code bitDepth} 8
     * or 16, every row filter 0 and every sample 0, so it compresses about a thousandfold.
     */
    public static byte[] png(int w, int h, int colorType, int bitDepth) {
        int channels = switch (colorType) {
            case 0 -> 1;
            case 2 -> 3;
            case 6 -> 4;
            default -> throw new IllegalArgumentException("colour type " + colorType);
        };
        long row = 1 + (long) w * channels * bitDepth / 8;
        byte[] idat = deflateZeros(row * h, Deflater.BEST_SPEED, true);
        ByteArrayOutputStream out = new ByteArrayOutputStream(idat.length + 64);
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a});
        ByteBuffer ihdr = ByteBuffer.allocate(13)
                .putInt(w)
                .putInt(h)
                .put((byte) bitDepth)
                .put((byte) colorType)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", idat);
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(t);
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** {@code n} zero bytes deflated, raw or zlib-wrapped, without ever holding them. */
    static byte[] deflateZeros(long n, int level, boolean zlib) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Deflater d = new Deflater(level, !zlib);
        try (DeflaterOutputStream z = new DeflaterOutputStream(out, d, 1 << 16)) {
            byte[] zeros = new byte[1 << 20];
            for (long left = n; left > 0; left -= zeros.length) {
                z.write(zeros, 0, (int) Math.min(left, zeros.length));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            d.end();
        }
        return out.toByteArray();
    }

    /**
     * The header of a native (Explicit VR Little Endian) multi-frame DICOM image of {@code frames}
     * frames of {@code w x h}, RGB with {@code bits}-bit samples, whose pixel data element is only a
     * few bytes long: the declared frames are what a decoder would have to hold.
     */
    public static byte[] dicomFrames(int w, int h, int frames, int bits) {
        ByteArrayOutputStream ds = new ByteArrayOutputStream();
        element(ds, 0x0008, 0x0060, "CS", ascii("OT"));
        element(ds, 0x0028, 0x0002, "US", u16(3));
        element(ds, 0x0028, 0x0004, "CS", ascii("RGB "));
        element(ds, 0x0028, 0x0006, "US", u16(0));
        element(ds, 0x0028, 0x0008, "IS", ascii(pad(Integer.toString(frames))));
        element(ds, 0x0028, 0x0010, "US", u16(h));
        element(ds, 0x0028, 0x0011, "US", u16(w));
        element(ds, 0x0028, 0x0100, "US", u16(bits));
        element(ds, 0x0028, 0x0101, "US", u16(bits));
        element(ds, 0x0028, 0x0102, "US", u16(bits - 1));
        element(ds, 0x0028, 0x0103, "US", u16(0));
        element(ds, 0x7fe0, 0x0010, "OW", new byte[16]);
        ByteArrayOutputStream meta = new ByteArrayOutputStream();
        element(meta, 0x0002, 0x0010, "UI", ascii("1.2.840.10008.1.2.1"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[128]);
        out.writeBytes(ascii("DICM"));
        element(
                out,
                0x0002,
                0x0000,
                "UL",
                ByteBuffer.allocate(4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(meta.size())
                        .array());
        out.writeBytes(meta.toByteArray());
        out.writeBytes(ds.toByteArray());
        return out.toByteArray();
    }

    private static String pad(String s) {
        return s.length() % 2 == 0 ? s : s + " ";
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] u16(int v) {
        return new byte[] {(byte) v, (byte) (v >> 8)};
    }

    private static void element(ByteArrayOutputStream out, int group, int elem, String vr, byte[] value) {
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) group).putShort((short) elem).put(vr.getBytes(StandardCharsets.US_ASCII));
        boolean longForm = vr.equals("OW") || vr.equals("OB") || vr.equals("UN") || vr.equals("SQ");
        if (longForm) {
            b.putShort((short) 0).putInt(value.length);
        } else {
            b.putShort((short) value.length);
        }
        out.write(b.array(), 0, b.position());
        out.writeBytes(value);
    }
}

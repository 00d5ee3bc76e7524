package org.medsearch.dicom;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.Deflater;

/** Writes small DICOM files for tests: any of the uncompressed encodings, sequences, encapsulated pixel data. */
final class DicomBuilder {
    static final int UNDEFINED = -1;

    private record Value(String vr, byte[] bytes, List<List<DicomBuilder>> items, boolean undefinedLength) {}

    private final String syntax;
    private final boolean explicit;
    private final boolean bigEndian;
    private final Map<Integer, Value> values = new TreeMap<>(Integer::compareUnsigned);
    private boolean part10 = true;

    DicomBuilder(String syntax, boolean explicit, boolean bigEndian) {
        this.syntax = syntax;
        this.explicit = explicit;
        this.bigEndian = bigEndian;
    }

    static DicomBuilder explicitLittle() {
        return new DicomBuilder("1.2.840.10008.1.2.1", true, false);
    }

    static DicomBuilder implicitLittle() {
        return new DicomBuilder("1.2.840.10008.1.2", false, false);
    }

    static DicomBuilder explicitBig() {
        return new DicomBuilder("1.2.840.10008.1.2.2", true, true);
    }

    /** An explicit little endian dataset declared with another syntax (encapsulated or unsupported ones). */
    static DicomBuilder withSyntax(String uid) {
        return new DicomBuilder(uid, true, false);
    }

    /** No preamble and no file meta information. */
    DicomBuilder bare() {
        part10 = false;
        return this;
    }

    DicomBuilder str(int tag, String vr, String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        if (b.length % 2 == 1) {
            b = java.util.Arrays.copyOf(b, b.length + 1);
            b[b.length - 1] = (byte) (vr.equals("UI") ? 0 : ' ');
        }
        return raw(tag, vr, b);
    }

    DicomBuilder us(int tag, int... v) {
        return raw(tag, "US", shorts(v));
    }

    DicomBuilder raw(int tag, String vr, byte[] b) {
        values.put(tag, new Value(vr, b, null, false));
        return this;
    }

    DicomBuilder sequence(int tag, boolean undefinedLength, List<List<DicomBuilder>> items) {
        values.put(tag, new Value("SQ", null, items, undefinedLength));
        return this;
    }

    /** The usual image pixel module for a monochrome image. */
    DicomBuilder image(int rows, int columns, int bitsAllocated, int bitsStored, boolean signed, String photometric) {
        us(Tags.SAMPLES_PER_PIXEL, photometric.equals("RGB") || photometric.startsWith("YBR") ? 3 : 1);
        str(Tags.PHOTOMETRIC_INTERPRETATION, "CS", photometric);
        us(Tags.ROWS, rows);
        us(Tags.COLUMNS, columns);
        us(Tags.BITS_ALLOCATED, bitsAllocated);
        us(Tags.BITS_STORED, bitsStored);
        us(Tags.HIGH_BIT, bitsStored - 1);
        return us(Tags.PIXEL_REPRESENTATION, signed ? 1 : 0);
    }

    DicomBuilder pixels16(int... v) {
        return raw(Tags.PIXEL_DATA, "OW", shorts(v));
    }

    DicomBuilder pixels8(int... v) {
        byte[] b = new byte[v.length + (v.length & 1)];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return raw(Tags.PIXEL_DATA, "OB", b);
    }

    /** Encapsulated pixel data: the basic offset table item, then one item per fragment. */
    DicomBuilder encapsulated(byte[] offsetTable, List<byte[]> fragments) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        item(o, offsetTable);
        for (byte[] f : fragments) {
            item(o, f);
        }
        o.writeBytes(new byte[] {(byte) 0xfe, (byte) 0xff, (byte) 0xdd, (byte) 0xe0, 0, 0, 0, 0});
        values.put(Tags.PIXEL_DATA, new Value("OB", o.toByteArray(), null, true));
        return this;
    }

    private static void item(ByteArrayOutputStream o, byte[] b) {
        o.writeBytes(new byte[] {(byte) 0xfe, (byte) 0xff, 0x00, (byte) 0xe0});
        o.writeBytes(le32(b.length));
        o.writeBytes(b);
    }

    byte[] build() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (part10) {
            out.writeBytes(new byte[128]);
            out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
            DicomBuilder meta = new DicomBuilder(syntax, true, false);
            meta.raw(0x00020001, "OB", new byte[] {0, 1});
            meta.str(0x00020010, "UI", syntax);
            byte[] body = meta.dataset();
            DicomBuilder length = new DicomBuilder(syntax, true, false);
            length.raw(0x00020000, "UL", le32(body.length));
            out.writeBytes(length.dataset());
            out.writeBytes(body);
        }
        byte[] ds = dataset();
        out.writeBytes(syntax.equals("1.2.840.10008.1.2.1.99") ? deflate(ds) : ds);
        return out.toByteArray();
    }

    /** Deflated syntax: the dataset is written explicit little endian, then raw-deflated. */
    static DicomBuilder deflated() {
        return new DicomBuilder("1.2.840.10008.1.2.1.99", true, false);
    }

    private static byte[] deflate(byte[] b) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        d.setInput(b);
        d.finish();
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        byte[] chunk = new byte[1 << 16];
        while (!d.finished()) {
            o.write(chunk, 0, d.deflate(chunk));
        }
        d.end();
        return o.toByteArray();
    }

    byte[] dataset() {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (Map.Entry<Integer, Value> e : values.entrySet()) {
            int tag = e.getKey();
            Value v = e.getValue();
            byte[] body;
            if (v.items != null) {
                ByteArrayOutputStream s = new ByteArrayOutputStream();
                for (List<DicomBuilder> parts : v.items) {
                    ByteArrayOutputStream item = new ByteArrayOutputStream();
                    for (DicomBuilder p : parts) {
                        item.writeBytes(p.dataset());
                    }
                    s.writeBytes(u16(0xfffe));
                    s.writeBytes(u16(0xe000));
                    if (v.undefinedLength) {
                        s.writeBytes(u32(-1));
                        s.writeBytes(item.toByteArray());
                        s.writeBytes(u16(0xfffe));
                        s.writeBytes(u16(0xe00d));
                        s.writeBytes(u32(0));
                    } else {
                        s.writeBytes(u32(item.size()));
                        s.writeBytes(item.toByteArray());
                    }
                }
                if (v.undefinedLength) {
                    s.writeBytes(u16(0xfffe));
                    s.writeBytes(u16(0xe0dd));
                    s.writeBytes(u32(0));
                }
                body = s.toByteArray();
            } else {
                body = v.bytes;
            }
            boolean undefined = v.undefinedLength;
            o.writeBytes(u16(tag >>> 16));
            o.writeBytes(u16(tag & 0xffff));
            if (explicit) {
                o.writeBytes(v.vr.getBytes(StandardCharsets.US_ASCII));
                if (List.of("OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UN", "UT", "UC", "UR", "SV", "UV")
                        .contains(v.vr)) {
                    o.writeBytes(new byte[2]);
                    o.writeBytes(u32(undefined ? -1 : body.length));
                } else {
                    o.writeBytes(u16(body.length));
                }
            } else {
                o.writeBytes(u32(undefined ? -1 : body.length));
            }
            o.writeBytes(body);
        }
        return o.toByteArray();
    }

    /** 16-bit values in this builder's byte order (for pixel data and US values). */
    private byte[] shorts(int[] v) {
        byte[] b = new byte[v.length * 2];
        for (int i = 0; i < v.length; i++) {
            byte[] s = u16(v[i]);
            b[2 * i] = s[0];
            b[2 * i + 1] = s[1];
        }
        return b;
    }

    private byte[] u16(int v) {
        return bigEndian ? new byte[] {(byte) (v >> 8), (byte) v} : new byte[] {(byte) v, (byte) (v >> 8)};
    }

    private byte[] u32(int v) {
        return bigEndian ? new byte[] {(byte) (v >> 24), (byte) (v >> 16), (byte) (v >> 8), (byte) v} : le32(v);
    }

    static byte[] le32(int v) {
        return new byte[] {(byte) v, (byte) (v >> 8), (byte) (v >> 16), (byte) (v >> 24)};
    }

    static List<List<DicomBuilder>> items(DicomBuilder... perItem) {
        List<List<DicomBuilder>> out = new ArrayList<>();
        for (DicomBuilder b : perItem) {
            out.add(List.of(b));
        }
        return out;
    }
}

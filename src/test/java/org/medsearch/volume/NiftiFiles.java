package org.medsearch.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ReadLimits;

/**
 * Test-side NIfTI writer (independent of the reader: every field is placed by its offset from the
 * standard) and the reader's contract check shared by the robustness and fuzz tests.
 *
 * <pre>{@code
 * byte[] file = new NiftiFiles().version(2).order(ByteOrder.BIG_ENDIAN).datatype(4)
 *         .dims(3, 2, 2).values(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12).gzip(true).build();
 * }</pre>
 */
final class NiftiFiles {

    private int version = 1;
    private ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    private int datatype = 4;
    private long[] dim = {3, 2, 2, 2, 1, 1, 1, 1};
    private double[] pixdim = {1, 1, 1, 1, 0, 0, 0, 0};
    private double[] values = {0, 1, 2, 3, 4, 5, 6, 7};
    private double slope;
    private double inter;
    private int qformCode;
    private int sformCode;
    private double[] quatern = new double[6];
    private double[][] srow = new double[3][4];
    private Double voxOffset;
    private boolean gzip;
    private String magic;
    private String descrip = "";

    NiftiFiles version(int v) {
        version = v;
        return this;
    }

    NiftiFiles order(ByteOrder o) {
        order = o;
        return this;
    }

    /** A NIfTI datatype code, e.g. 4 for int16. */
    NiftiFiles datatype(int code) {
        datatype = code;
        return this;
    }

    /** 3D dims; values must follow with as many voxels. */
    NiftiFiles dims(long nx, long ny, long nz) {
        dim = new long[] {3, nx, ny, nz, 1, 1, 1, 1};
        return this;
    }

    /** All eight dim[] entries as written (dim[0] first), for hostile headers. */
    NiftiFiles rawDim(long... d) {
        dim = d.clone();
        return this;
    }

    NiftiFiles pixdim(double qfac, double dx, double dy, double dz) {
        pixdim = new double[] {qfac, dx, dy, dz, 0, 0, 0, 0};
        return this;
    }

    /** Voxel values, x fastest; for a 4D file, all volumes one after the other. */
    NiftiFiles values(double... v) {
        values = v.clone();
        return this;
    }

    NiftiFiles scaling(double s, double i) {
        slope = s;
        inter = i;
        return this;
    }

    NiftiFiles qform(int code, double b, double c, double d, double x, double y, double z) {
        qformCode = code;
        quatern = new double[] {b, c, d, x, y, z};
        return this;
    }

    NiftiFiles sform(int code, double[][] rows) {
        sformCode = code;
        srow = new double[][] {rows[0].clone(), rows[1].clone(), rows[2].clone()};
        return this;
    }

    NiftiFiles voxOffset(double v) {
        voxOffset = v;
        return this;
    }

    NiftiFiles gzip(boolean g) {
        gzip = g;
        return this;
    }

    /** Replaces the magic string (4 bytes for NIfTI-1, 8 for NIfTI-2). */
    NiftiFiles magic(String m) {
        magic = m;
        return this;
    }

    NiftiFiles descrip(String d) {
        descrip = d;
        return this;
    }

    /** Bytes per voxel of a datatype code this writer knows. */
    static int bytes(int code) {
        return switch (code) {
            case 2, 256 -> 1;
            case 4, 512 -> 2;
            case 8, 16, 768 -> 4;
            case 32, 64, 1024, 1280 -> 8;
            case 128 -> 3;
            default -> throw new IllegalArgumentException("datatype " + code);
        };
    }

    byte[] build() {
        int hdr = version == 1 ? 348 : 540;
        long offset = voxOffset == null ? hdr + 4 : (long) Math.max(0, voxOffset);
        int bpv = bytes(datatype);
        long wanted = Math.max(offset, hdr + 4);
        // a hostile offset far beyond any data still gets a small file
        int dataStart = wanted <= 1 << 20 ? (int) wanted : hdr + 4;
        ByteBuffer b = ByteBuffer.allocate(dataStart + values.length * bpv).order(order);
        if (version == 1) {
            b.putInt(0, 348);
            for (int i = 0; i < 8; i++) {
                b.putShort(40 + 2 * i, (short) dim[i]);
                b.putFloat(76 + 4 * i, (float) pixdim[i]);
            }
            b.putShort(70, (short) datatype);
            b.putShort(72, (short) (bpv * 8));
            b.putFloat(108, voxOffset == null ? offset : voxOffset.floatValue());
            b.putFloat(112, (float) slope);
            b.putFloat(116, (float) inter);
            b.put(123, (byte) 10); // mm and seconds
            put(b, 148, descrip, 80);
            b.putShort(252, (short) qformCode);
            b.putShort(254, (short) sformCode);
            for (int i = 0; i < 6; i++) {
                b.putFloat(256 + 4 * i, (float) quatern[i]);
            }
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 4; c++) {
                    b.putFloat(280 + 16 * r + 4 * c, (float) srow[r][c]);
                }
            }
            put(b, 344, magic == null ? "n+1\0" : magic, 4);
        } else {
            b.putInt(0, 540);
            put(b, 4, magic == null ? "n+2\0\r\n\032\n" : magic, 8);
            b.putShort(12, (short) datatype);
            b.putShort(14, (short) (bpv * 8));
            for (int i = 0; i < 8; i++) {
                b.putLong(16 + 8 * i, dim[i]);
                b.putDouble(104 + 8 * i, pixdim[i]);
            }
            b.putLong(168, voxOffset == null ? offset : voxOffset.longValue());
            b.putDouble(176, slope);
            b.putDouble(184, inter);
            put(b, 240, descrip, 80);
            b.putInt(344, qformCode);
            b.putInt(348, sformCode);
            for (int i = 0; i < 6; i++) {
                b.putDouble(352 + 8 * i, quatern[i]);
            }
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 4; c++) {
                    b.putDouble(400 + 32 * r + 8 * c, srow[r][c]);
                }
            }
            b.putInt(500, 10);
        }
        b.position(dataStart);
        for (double v : values) {
            switch (datatype) {
                case 2, 256 -> b.put((byte) (long) v);
                case 4, 512 -> b.putShort((short) (long) v);
                case 8, 768 -> b.putInt((int) (long) v);
                case 16 -> b.putFloat((float) v);
                case 64 -> b.putDouble(v);
                case 1024 -> b.putLong((long) v);
                case 1280 -> b.putLong(v >= 0x1p63 ? (long) (v - 0x1p63) ^ Long.MIN_VALUE : (long) v);
                default -> b.put(new byte[bpv]);
            }
        }
        return gzip ? gzip(b.array()) : b.array();
    }

    static byte[] gzip(byte[] plain) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(plain);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void put(ByteBuffer b, int at, String s, int max) {
        byte[] a = s.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < Math.min(a.length, max); i++) {
            b.put(at + i, a[i]);
        }
    }

    /**
     * The reader's contract on arbitrary bytes: a consistent volume, or an {@link ImageFormatException}
     * that is not a wrapped defect (a RuntimeException or Error as cause). Returns the volume or null.
     */
    static Volume readOrRefuse(byte[] bytes, ReadLimits limits) {
        try {
            Volume v = NiftiReader.read(bytes, "input.nii", limits);
            assertEquals((long) v.nx() * v.ny() * v.nz(), v.data().length);
            return v;
        } catch (ImageFormatException e) {
            if (e.getCause() instanceof RuntimeException || e.getCause() instanceof Error) {
                throw new AssertionError("defect behind " + e.getMessage(), e.getCause());
            }
            if (e.getMessage() == null
                    || e.getMessage().isBlank()
                    || e.getMessage().contains("\n")) {
                fail("message must be one non-empty line: " + e.getMessage());
            }
            return null;
        }
    }
}

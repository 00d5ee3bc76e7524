package org.medsearch.volume;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntToDoubleFunction;
import java.util.zip.GZIPInputStream;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MemoryBudget;
import org.medsearch.image.ReadLimits;

/**
 * Reads single-file NIfTI-1 (348-byte header) and NIfTI-2 (540-byte header) volumes, plain or
 * gzip-compressed, in either byte order.
 *
 * <p>What is read:
 * <ul>
 *   <li>Compression is detected by the gzip magic bytes, never by the file extension; the byte order
 *       by {@code sizeof_hdr} (348 or 540 in one order or the other).
 *   <li>Datatypes uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32 and float64, all
 *       converted to float. RGB, complex, binary and float128 data are refused.
 *   <li>{@code dim[0]} 3 or 4. Of a 4D file only the first volume is read (and decompressed); the
 *       metadata says so under {@code "volumes"}.
 *   <li>{@code scl_slope} and {@code scl_inter}: {@code value * slope + inter}, computed in double;
 *       a slope of 0 or a non-finite slope means no scaling (as nibabel).
 *   <li>{@code vox_offset}; 0 in a single file means "straight after the header and its 4 extension
 *       bytes" (352 or 544), as nibabel reads the many files written that way.
 *   <li>The affine, by the NIfTI-1 rules: the sform when {@code sform_code > 0}, else the qform
 *       (quaternion, offsets, pixdim, qfac = sign of {@code pixdim[0]}) when {@code qform_code > 0},
 *       else {@code diag(pixdim[1..3])} (method 1 of the standard). Voxel sizes that are not
 *       positive (as nifti1_io) or exceed 1e15 mm count as 1. A coded sform or qform that is not
 *       finite, is singular or has entries beyond 1e15 mm is skipped for the next rule, and the
 *       metadata says so under {@code "affineWarning"}.
 * </ul>
 * Header/image pairs ({@code .hdr/.img}, magic {@code ni1}/{@code ni2}) and Analyze 7.5 files are
 * refused with a message saying so.
 *
 * <p>Contract: the public methods return a valid {@link Volume} or throw {@link ImageFormatException}
 * with a one-line message; no other exception escapes, whatever the bytes. Allocations are bounded:
 * the input by {@link ReadLimits#maxFileBytes()}; the decompressed stream (all of it, so a gzip
 * bomb is refused and the gzip checksum is verified) by the same limit; the voxel count by
 * {@link ReadLimits#maxPixels()}; and buffers only grow as real data arrives, so a header that
 * promises more than the file holds costs nothing before it is refused as truncated.
 *
 * <pre>{@code
 * Volume v = NiftiReader.read(Path.of("ch2.nii.gz"));               // default limits
 * Volume w = NiftiReader.read(bytes, "upload.nii", ReadLimits.DEFAULT);
 * v.metadata().get("datatype");                                      // "uint8"
 * }</pre>
 */
public final class NiftiReader {
    private NiftiReader() {}

    private static final int NIFTI1_HEADER = 348;
    private static final int NIFTI2_HEADER = 540;
    /** The first read of a gzip stream: enough for either header. */
    private static final int HEAD = NIFTI2_HEADER;

    private static final int CHUNK = 1 << 20;
    /**
     * Affine entries and voxel sizes beyond this many millimetres (a billion kilometres) are not
     * geometry but damage; bounding them keeps every reoriented affine finite.
     */
    private static final double MAX_MM = 1e15;

    private enum Datatype {
        UINT8(2, 1),
        INT16(4, 2),
        INT32(8, 4),
        FLOAT32(16, 4),
        FLOAT64(64, 8),
        INT8(256, 1),
        UINT16(512, 2),
        UINT32(768, 4),
        INT64(1024, 8),
        UINT64(1280, 8);

        final int code;
        final int bytes;

        Datatype(int code, int bytes) {
            this.code = code;
            this.bytes = bytes;
        }

        static Datatype of(int code) throws ImageFormatException {
            for (Datatype t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            String what = switch (code) {
                case 1 -> "1-bit binary";
                case 32, 1792, 2048 -> "complex";
                case 128 -> "RGB";
                case 2304 -> "RGBA";
                case 1536 -> "float128";
                default -> "unknown (" + code + ")";
            };
            throw new ImageFormatException(
                    "NIfTI datatype " + what + " is not supported; only scalar integer and float volumes");
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What the header says, validated. {@code end} is the byte after the first volume's data. */
    private record Header(
            int version,
            ByteOrder order,
            int nx,
            int ny,
            int nz,
            Datatype type,
            long voxOffset,
            long end,
            double slope,
            double inter,
            double[][] affine,
            Map<String, String> meta) {}

    /** Reads a file with {@link ReadLimits#DEFAULT}. */
    public static Volume read(Path file) throws ImageFormatException {
        return read(file, ReadLimits.DEFAULT);
    }

    /** Reads a file; its name (not the path) goes into the metadata as {@code "source"}. */
    public static Volume read(Path file, ReadLimits limits) throws ImageFormatException {
        byte[] bytes = ImageReaders.readBytes(file, limits);
        Path name = file.getFileName();
        return read(bytes, name == null ? "" : name.toString(), limits);
    }

    /**
     * Decodes a whole file held in memory.
     *
     * @param name the file name for the metadata ({@code "source"}); only its last path element is
     *     kept, and an empty name is left out
     */
    public static Volume read(byte[] bytes, String name, ReadLimits limits) throws ImageFormatException {
        try {
            return decode(bytes, baseName(name), limits);
        } catch (RuntimeException | OutOfMemoryError e) {
            // the contract holds even for a defect; the cause lets tests and the fuzzer tell it apart
            throw new ImageFormatException(
                    "cannot read NIfTI (internal error: " + e.getClass().getSimpleName() + ")", e);
        }
    }

    /**
     * Whether the leading bytes (plain or gzip-compressed) start a NIfTI-1 or NIfTI-2 header:
     * {@code sizeof_hdr} and the magic string. Pairs are included, so that reading them gives a
     * clear refusal rather than "unknown format".
     */
    public static boolean looksLikeNifti(byte[] head) {
        byte[] h = isGzip(head) ? inflatePrefix(head) : head;
        int size = sizeofHdr(h);
        if (size == NIFTI1_HEADER && h.length >= 348) {
            return h[344] == 'n' && (h[345] == '+' || h[345] == 'i') && h[346] == '1' && h[347] == 0;
        }
        if (size == NIFTI2_HEADER && h.length >= 8) {
            return h[4] == 'n' && (h[5] == '+' || h[5] == 'i') && h[6] == '2' && h[7] == 0;
        }
        return false;
    }

    /** What a decode allocates beside the raw voxels: the float volume. */
    private static long decodeWorkingBytes(long nvox) {
        return 4 * nvox;
    }

    @SuppressWarnings("try") // the leases are held for the decode's duration and never read
    private static Volume decode(byte[] bytes, String name, ReadLimits limits) throws ImageFormatException {
        limits.checkFileSize(bytes.length);
        if (!isGzip(bytes)) {
            Header h = parse(bytes, limits);
            if (h.end > bytes.length) {
                throw truncated(h, bytes.length);
            }
            try (MemoryBudget.Lease lease = admit(h, limits)) {
                return volume(bytes, h, name, false);
            }
        }
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes), 64 * 1024)) {
            byte[] head = in.readNBytes(HEAD);
            Header h = parse(head, limits);
            try (MemoryBudget.Lease lease = admit(h, limits)) {
                return volume(readRest(in, head, h.end, limits.maxFileBytes()), h, name, true);
            }
        } catch (ImageFormatException e) {
            throw e;
        } catch (IOException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new ImageFormatException("corrupt or truncated gzip data (" + why + ")", e);
        }
    }

    private static MemoryBudget.Lease admit(Header h, ReadLimits limits) throws ImageFormatException {
        return limits.admitDecode(h.nx, h.ny, 1, h.type.bytes * 8, h.nz, decodeWorkingBytes((long) h.nx * h.ny * h.nz));
    }

    private static Volume volume(byte[] raw, Header h, String name, boolean gz) throws ImageFormatException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "nifti-" + h.version);
        if (!name.isEmpty()) {
            meta.put("source", name);
        }
        meta.put("compression", gz ? "gzip" : "none");
        meta.putAll(h.meta);
        meta.put("fileAxisCodes", Orientation.axisCodes(h.affine));
        return new Volume(h.nx, h.ny, h.nz, voxels(raw, h), h.affine, meta);
    }

    /**
     * The header's bytes and the data up to {@code end}, then the rest of the stream drained and
     * counted (which also checks the gzip CRC), all within {@code limit} decompressed bytes.
     */
    private static byte[] readRest(InputStream in, byte[] head, long end, long limit) throws IOException {
        int n = (int) end;
        byte[] buf = Arrays.copyOf(head, Math.max(head.length, Math.min(n, CHUNK)));
        int len = head.length;
        while (len < n) {
            if (len == buf.length) {
                buf = Arrays.copyOf(buf, (int) Math.min(n, 2L * buf.length));
            }
            int r = in.read(buf, len, Math.min(buf.length, n) - len);
            if (r < 0) {
                throw new ImageFormatException("truncated NIfTI: the header promises " + end
                        + " bytes of header and data, the decompressed stream has " + len);
            }
            len += r;
        }
        long total = len;
        byte[] skip = new byte[64 * 1024];
        for (int r; (r = in.read(skip)) >= 0; ) {
            total += r;
            if (total > limit) {
                throw new ImageFormatException("gzip data decompresses to more than the limit of " + limit + " bytes");
            }
        }
        return buf;
    }

    private static ImageFormatException truncated(Header h, long have) {
        return new ImageFormatException(
                "truncated NIfTI: the header promises " + h.end + " bytes of header and data, the file has " + have);
    }

    private static Header parse(byte[] b, ReadLimits limits) throws ImageFormatException {
        int size = sizeofHdr(b);
        if (size != NIFTI1_HEADER && size != NIFTI2_HEADER) {
            throw new ImageFormatException(
                    b.length < 4
                            ? "too short for a NIfTI header (" + b.length + " bytes)"
                            : "not a NIfTI file (sizeof_hdr is neither 348 nor 540 in either byte order)");
        }
        if (b.length < size) {
            throw new ImageFormatException("truncated NIfTI header: " + b.length + " of " + size + " bytes");
        }
        ByteOrder order =
                ByteBuffer.wrap(b, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() == size
                        ? ByteOrder.LITTLE_ENDIAN
                        : ByteOrder.BIG_ENDIAN;
        ByteBuffer bb = ByteBuffer.wrap(b, 0, size).order(order);
        return size == NIFTI1_HEADER ? parse1(b, bb, limits) : parse2(b, bb, limits);
    }

    private static Header parse1(byte[] b, ByteBuffer bb, ReadLimits limits) throws ImageFormatException {
        checkMagic(b, 344, "n+1\0", "ni1\0", "NIfTI-1");
        long[] dim = new long[8];
        double[] pixdim = new double[8];
        for (int i = 0; i < 8; i++) {
            dim[i] = bb.getShort(40 + 2 * i);
            pixdim[i] = bb.getFloat(76 + 4 * i);
        }
        double vox = bb.getFloat(108);
        if (!(vox >= 0) || vox != Math.rint(vox) || vox > Long.MAX_VALUE / 2) {
            throw new ImageFormatException("invalid vox_offset " + vox);
        }
        double[] q = new double[6];
        double[][] srow = new double[3][4];
        for (int i = 0; i < 6; i++) {
            q[i] = bb.getFloat(256 + 4 * i);
        }
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 4; c++) {
                srow[r][c] = bb.getFloat(280 + 16 * r + 4 * c);
            }
        }
        return build(
                1,
                bb.order(),
                dim,
                pixdim,
                bb.getShort(70),
                (long) vox,
                bb.getFloat(112),
                bb.getFloat(116),
                bb.getShort(252),
                bb.getShort(254),
                q,
                srow,
                b[123] & 0xff,
                limits);
    }

    private static Header parse2(byte[] b, ByteBuffer bb, ReadLimits limits) throws ImageFormatException {
        checkMagic(b, 4, "n+2\0\r\n\032\n", "ni2\0\r\n\032\n", "NIfTI-2");
        long[] dim = new long[8];
        double[] pixdim = new double[8];
        for (int i = 0; i < 8; i++) {
            dim[i] = bb.getLong(16 + 8 * i);
            pixdim[i] = bb.getDouble(104 + 8 * i);
        }
        double[] q = new double[6];
        double[][] srow = new double[3][4];
        for (int i = 0; i < 6; i++) {
            q[i] = bb.getDouble(352 + 8 * i);
        }
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 4; c++) {
                srow[r][c] = bb.getDouble(400 + 32 * r + 8 * c);
            }
        }
        return build(
                2,
                bb.order(),
                dim,
                pixdim,
                bb.getShort(12),
                bb.getLong(168),
                bb.getDouble(176),
                bb.getDouble(184),
                bb.getInt(344),
                bb.getInt(348),
                q,
                srow,
                bb.getInt(500),
                limits);
    }

    private static void checkMagic(byte[] b, int at, String single, String pair, String what)
            throws ImageFormatException {
        String m = new String(b, at, single.length(), StandardCharsets.ISO_8859_1);
        if (m.equals(single)) {
            return;
        }
        if (m.equals(pair)) {
            throw new ImageFormatException(
                    what + " header/image pair (.hdr + .img) is not supported; convert it to a single .nii file");
        }
        if (m.startsWith(single.substring(0, 4))) {
            throw new ImageFormatException(what + " magic damaged (a text-mode transfer?)");
        }
        throw new ImageFormatException("no " + what + " magic: an Analyze 7.5 file or not NIfTI");
    }

    private static Header build(
            int version,
            ByteOrder order,
            long[] dim,
            double[] pixdim,
            int datatype,
            long voxOffset,
            double slope,
            double inter,
            int qformCode,
            int sformCode,
            double[] q,
            double[][] srow,
            int units,
            ReadLimits limits)
            throws ImageFormatException {
        if (dim[0] != 3 && dim[0] != 4) {
            throw new ImageFormatException("NIfTI with dim[0] = " + dim[0] + ": only 3D and 4D volumes are supported");
        }
        for (int i = 1; i <= dim[0]; i++) {
            if (dim[i] < 1) {
                throw new ImageFormatException("invalid NIfTI dim[" + i + "] = " + dim[i]);
            }
        }
        limits.checkPixels(dim[1], dim[2], dim[3]);
        long nvox = dim[1] * dim[2] * dim[3];
        if (nvox > Integer.MAX_VALUE - 8) {
            throw new ImageFormatException("volume of " + nvox + " voxels is larger than Java arrays allow");
        }
        Datatype type = Datatype.of(datatype);
        limits.checkDecoded(dim[1], dim[2], 1, type.bytes * 8, dim[3], decodeWorkingBytes(nvox));
        int headerSize = version == 1 ? NIFTI1_HEADER : NIFTI2_HEADER;
        long offset = voxOffset == 0 ? headerSize + 4 : voxOffset;
        if (offset < headerSize) {
            throw new ImageFormatException(
                    "invalid vox_offset " + voxOffset + ": inside the " + headerSize + "-byte header");
        }
        long cap = limits.maxInMemoryBytes();
        long end = offset + nvox * type.bytes;
        if (offset > cap || end > cap) {
            throw new ImageFormatException("NIfTI data ending at byte " + (offset > cap ? offset : end)
                    + " exceeds the limit of " + cap + " bytes");
        }
        boolean scaled = slope != 0 && Double.isFinite(slope);
        if (scaled && !Double.isFinite(inter)) {
            throw new ImageFormatException("invalid scl_inter " + inter + " with scl_slope " + slope);
        }

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("byteOrder", order == ByteOrder.LITTLE_ENDIAN ? "little-endian" : "big-endian");
        meta.put("datatype", type.label());
        meta.put("dims", dim[1] + "x" + dim[2] + "x" + dim[3]);
        long volumes = dim[0] == 4 ? dim[4] : 1;
        if (volumes > 1) {
            meta.put("volumes", volumes + " (first read)");
        }
        if (scaled) {
            meta.put("sclSlope", Double.toString(slope));
            meta.put("sclInter", Double.toString(inter));
        }
        String spatial = switch (units & 7) {
            case 1 -> "m";
            case 2 -> "mm";
            case 3 -> "um";
            default -> null;
        };
        if (spatial != null) {
            meta.put("spatialUnits", spatial);
        }
        meta.put("qformCode", Integer.toString(qformCode));
        meta.put("sformCode", Integer.toString(sformCode));

        double[][] affine = null;
        String source = null;
        StringBuilder warning = new StringBuilder();
        if (sformCode > 0) {
            double[][] s = {srow[0], srow[1], srow[2], {0, 0, 0, 1}};
            if (plausible(s)) {
                affine = s;
                source = "sform";
            } else {
                warning.append("sform singular, not finite or beyond 1e15 mm, ignored");
            }
        }
        if (affine == null && qformCode > 0) {
            double[][] s = qform(q, pixdim);
            if (plausible(s)) {
                affine = s;
                source = "qform";
            } else {
                warning.append(warning.length() > 0 ? "; " : "").append("qform not finite or beyond 1e15 mm, ignored");
            }
        }
        if (affine == null) {
            affine = new double[][] {
                {zoom(pixdim[1]), 0, 0, 0}, {0, zoom(pixdim[2]), 0, 0}, {0, 0, zoom(pixdim[3]), 0}, {0, 0, 0, 1}
            };
            source = "pixdim";
        }
        meta.put("affineSource", source);
        if (warning.length() > 0) {
            meta.put("affineWarning", warning.toString());
        }
        return new Header(
                version,
                order,
                (int) dim[1],
                (int) dim[2],
                (int) dim[3],
                type,
                offset,
                end,
                scaled ? slope : 1,
                scaled ? inter : 0,
                affine,
                meta);
    }

    /** nifti1_io's {@code quatern_to_mat44}: q holds quatern_b, c, d, qoffset_x, y, z. */
    private static double[][] qform(double[] q, double[] pixdim) {
        double b = q[0], c = q[1], d = q[2];
        double a = 1.0 - (b * b + c * c + d * d);
        if (a < 1e-7) {
            // b, c, d describe a 180-degree rotation up to rounding: renormalise them
            a = 1.0 / Math.sqrt(b * b + c * c + d * d);
            b *= a;
            c *= a;
            d *= a;
            a = 0;
        } else {
            a = Math.sqrt(a);
        }
        double xd = zoom(pixdim[1]), yd = zoom(pixdim[2]), zd = zoom(pixdim[3]);
        if (pixdim[0] < 0) {
            zd = -zd;
        }
        return new double[][] {
            {(a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd, q[3]},
            {2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd, q[4]},
            {2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd, q[5]},
            {0, 0, 0, 1}
        };
    }

    /** A voxel size from pixdim; as nifti1_io, anything not positive counts as 1, and so does damage. */
    private static double zoom(double p) {
        return p > 0 && p <= MAX_MM ? p : 1;
    }

    private static boolean plausible(double[][] affine) {
        if (!Orientation.isUsable(affine)) {
            return false;
        }
        for (int r = 0; r < 3; r++) {
            for (double v : affine[r]) {
                if (Math.abs(v) > MAX_MM) {
                    return false;
                }
            }
        }
        return true;
    }

    private static float[] voxels(byte[] raw, Header h) {
        int n = h.nx * h.ny * h.nz;
        ByteBuffer bb = ByteBuffer.wrap(raw, (int) h.voxOffset, n * h.type.bytes)
                .slice()
                .order(h.order);
        IntToDoubleFunction get = switch (h.type) {
            case UINT8 -> i -> bb.get(i) & 0xff;
            case INT8 -> bb::get;
            case INT16 -> bb.asShortBuffer()::get;
            case UINT16 -> {
                ShortBuffer s = bb.asShortBuffer();
                yield i -> s.get(i) & 0xffff;
            }
            case INT32 -> bb.asIntBuffer()::get;
            case UINT32 -> {
                IntBuffer s = bb.asIntBuffer();
                yield i -> Integer.toUnsignedLong(s.get(i));
            }
            case INT64 -> {
                LongBuffer s = bb.asLongBuffer();
                yield i -> (double) s.get(i);
            }
            case UINT64 -> {
                LongBuffer s = bb.asLongBuffer();
                yield i -> unsigned(s.get(i));
            }
            case FLOAT32 -> {
                FloatBuffer s = bb.asFloatBuffer();
                yield s::get;
            }
            case FLOAT64 -> {
                DoubleBuffer s = bb.asDoubleBuffer();
                yield s::get;
            }
        };
        float[] out = new float[n];
        double slope = h.slope, inter = h.inter;
        for (int i = 0; i < n; i++) {
            out[i] = (float) (get.applyAsDouble(i) * slope + inter);
        }
        return out;
    }

    private static double unsigned(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
    }

    private static int sizeofHdr(byte[] b) {
        if (b.length < 4) {
            return -1;
        }
        int le = (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
        int be = Integer.reverseBytes(le);
        for (int size : new int[] {NIFTI1_HEADER, NIFTI2_HEADER}) {
            if (le == size || be == size) {
                return size;
            }
        }
        return -1;
    }

    private static boolean isGzip(byte[] b) {
        return b.length >= 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b;
    }

    /** As much of the decompressed start (up to a NIfTI-2 header) as a possibly cut gzip prefix yields. */
    private static byte[] inflatePrefix(byte[] gz) {
        byte[] out = new byte[HEAD];
        int len = 0;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            for (int r; len < out.length && (r = in.read(out, len, out.length - len)) > 0; ) {
                len += r;
            }
        } catch (IOException | RuntimeException e) {
            // a cut or damaged stream: judge by what came out before the damage
        }
        return Arrays.copyOf(out, len);
    }

    private static String baseName(String name) {
        if (name == null) {
            return "";
        }
        int slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
        return name.substring(slash + 1);
    }
}

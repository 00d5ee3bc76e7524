package org.medsearch.dicom;

import java.util.Arrays;
import org.medsearch.image.ImageFormatException;

/**
 * A JPEG-LS decoder (ITU-T T.87 | ISO/IEC 14495-1): lossless and near-lossless (NEAR &gt; 0),
 * 2 to 16 bits, one or three components, all three interleave modes, default and preset coding
 * parameters (LSE id 1). No Java library on Maven Central decodes JPEG-LS, hence this one.
 *
 * <p>Not supported (each rejected with {@link ImageFormatException}): mapping tables (LSE 2 and 3),
 * oversize dimensions (LSE 4), restart intervals, point transform, subsampled components and the
 * HP colour transforms. Corrupt input fails; it never decodes to a half-grey image: reading past
 * the end of a scan, an impossible code or an out-of-range error value all throw.
 */
final class JpegLsDecoder {

    private static final int[] J = {
        0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15
    };
    private static final int CONTEXTS = 365;

    private final byte[] b;
    private final int end;
    private final boolean legacyThresholds;
    private int p;
    /** Whether a scan used default thresholds for MAXVAL below 128, where CharLS 1.x (dcmtk) computed others. */
    private boolean lowMaxvalDefaults;

    // frame header and preset parameters
    private int precision;
    private int width;
    private int height;
    private int[] componentIds;
    private int presetMaxval;
    private int presetT1;
    private int presetT2;
    private int presetT3;
    private int presetReset;

    private JpegLsDecoder(byte[] b, int off, int len, boolean legacyThresholds) {
        this.b = b;
        this.p = off;
        this.end = off + len;
        this.legacyThresholds = legacyThresholds;
    }

    /**
     * Samples, pixel-interleaved, {@code pm.samplesPerFrame()} of them.
     *
     * <p>For MAXVAL below 128 the standard's default thresholds differ from those of CharLS 1.x, the
     * encoder inside dcmtk up to 3.6.x, which writes no LSE segment for them: such a stream fails to
     * decode with the standard's values and is then decoded again with CharLS 1.x's, as dcmdjpls does.
     * A conformant stream never reaches the second attempt.
     */
    static int[] decode(byte[] b, int off, int len, PixelModule pm) throws ImageFormatException {
        JpegLsDecoder standard = new JpegLsDecoder(b, off, len, false);
        try {
            return standard.run(pm);
        } catch (ImageFormatException e) {
            if (!standard.lowMaxvalDefaults) {
                throw e;
            }
            try {
                return new JpegLsDecoder(b, off, len, true).run(pm);
            } catch (ImageFormatException again) {
                throw e;
            }
        }
    }

    private int[] run(PixelModule pm) throws ImageFormatException {
        if (end - p < 4 || (b[p] & 0xff) != 0xff || (b[p + 1] & 0xff) != 0xd8) {
            throw error("no SOI marker");
        }
        p += 2;
        int[] out = null;
        boolean[] done = null;
        while (true) {
            if (p >= end) {
                if (out != null && all(done)) {
                    return out; // EOI missing after complete scans: tolerated
                }
                throw error("data ends before the image");
            }
            if ((b[p] & 0xff) != 0xff) {
                throw error("expected a marker");
            }
            while (p < end && (b[p] & 0xff) == 0xff) {
                p++; // fill bytes
            }
            if (p >= end) {
                throw error("data ends inside a marker");
            }
            int marker = b[p++] & 0xff;
            if (marker == 0xd9) {
                if (out == null || !all(done)) {
                    throw error("EOI before every component was decoded");
                }
                return out;
            }
            int segLen = u16(p);
            if (segLen < 2 || segLen > end - p) {
                throw error("marker segment runs past the end");
            }
            int seg = p + 2;
            int segEnd = p + segLen;
            switch (marker) {
                case 0xf7 -> {
                    if (out != null) {
                        throw error("second frame header");
                    }
                    readFrameHeader(seg, segEnd, pm);
                    out = new int[width * height * componentIds.length];
                    done = new boolean[componentIds.length];
                    p = segEnd;
                }
                case 0xf8 -> {
                    readPreset(seg, segEnd);
                    p = segEnd;
                }
                case 0xda -> {
                    if (out == null) {
                        throw error("scan before the frame header");
                    }
                    p = segEnd;
                    decodeScan(seg, segEnd, out, done);
                }
                case 0xdd -> {
                    if (segLen >= 4 && u16(seg) != 0) {
                        throw error("restart intervals are not supported");
                    }
                    p = segEnd;
                }
                default -> {
                    if ((marker >= 0xe0 && marker <= 0xef) || marker == 0xfe) {
                        p = segEnd; // application data and comments
                    } else {
                        throw error(String.format("unsupported marker FF%02X", marker));
                    }
                }
            }
        }
    }

    private void readFrameHeader(int s, int e, PixelModule pm) throws ImageFormatException {
        if (e - s < 6) {
            throw error("short frame header");
        }
        precision = b[s] & 0xff;
        height = u16(s + 1);
        width = u16(s + 3);
        int nf = b[s + 5] & 0xff;
        if (precision < 2 || precision > 16) {
            throw error("unsupported precision " + precision);
        }
        if (width != pm.columns() || height != pm.rows()) {
            throw error("image is " + width + "x" + height + ", the dataset says " + pm.columns() + "x" + pm.rows());
        }
        if (nf != pm.samples() || e - s < 6 + 3 * nf) {
            throw error(nf + " components, the dataset says " + pm.samples());
        }
        componentIds = new int[nf];
        for (int i = 0; i < nf; i++) {
            componentIds[i] = b[s + 6 + 3 * i] & 0xff;
            if ((b[s + 7 + 3 * i] & 0xff) != 0x11) {
                throw error("subsampled components are not supported");
            }
        }
    }

    private void readPreset(int s, int e) throws ImageFormatException {
        if (e - s < 1) {
            throw error("empty LSE segment");
        }
        int id = b[s] & 0xff;
        if (id != 1) {
            throw error("LSE segment type " + id + " (mapping tables or oversize images) is not supported");
        }
        if (e - s < 11) {
            throw error("short LSE segment");
        }
        presetMaxval = u16(s + 1);
        presetT1 = u16(s + 3);
        presetT2 = u16(s + 5);
        presetT3 = u16(s + 7);
        presetReset = u16(s + 9);
    }

    private void decodeScan(int s, int e, int[] out, boolean[] done) throws ImageFormatException {
        if (e - s < 1) {
            throw error("short scan header");
        }
        int ns = b[s] & 0xff;
        if (ns < 1 || ns > componentIds.length || e - s < 4 + 2 * ns) {
            throw error("invalid scan header");
        }
        int[] comps = new int[ns];
        for (int i = 0; i < ns; i++) {
            int id = b[s + 1 + 2 * i] & 0xff;
            comps[i] = -1;
            for (int c = 0; c < componentIds.length; c++) {
                if (componentIds[c] == id) {
                    comps[i] = c;
                }
            }
            if (comps[i] < 0 || done[comps[i]]) {
                throw error("scan of an unknown or already decoded component");
            }
            if (b[s + 2 + 2 * i] != 0) {
                throw error("mapping tables are not supported");
            }
        }
        int q = s + 1 + 2 * ns;
        int near = b[q] & 0xff;
        int ilv = b[q + 1] & 0xff;
        if ((b[q + 2] & 0x0f) != 0) {
            throw error("point transform is not supported");
        }
        if (ilv > 2 || (ns > 1 && ilv == 0)) {
            throw error("invalid interleave mode " + ilv);
        }
        // the scan's entropy-coded data runs to the first marker: inside it, 0xFF is always followed by a byte < 0x80
        int dataEnd = p;
        while (dataEnd < end - 1 && !((b[dataEnd] & 0xff) == 0xff && (b[dataEnd + 1] & 0xff) >= 0x80)) {
            dataEnd++;
        }
        if (dataEnd == end - 1) {
            dataEnd = end;
        }
        Scan scan = new Scan(near, ns == 1 ? 0 : ilv, ns, new BitReader(b, p, dataEnd));
        scan.decode(comps, out, componentIds.length);
        for (int c : comps) {
            done[c] = true;
        }
        p = dataEnd;
    }

    /** The coding state of one scan: parameters, the 365 regular and 2 run-interruption contexts, the line buffers. */
    private final class Scan {
        final int near;
        final int ilv;
        final BitReader in;
        final int maxval;
        final int t1;
        final int t2;
        final int t3;
        final int reset;
        final int range;
        final int qbpp;
        final int limit;
        final long[] a = new long[CONTEXTS + 2];
        final long[] bias = new long[CONTEXTS];
        final int[] c = new int[CONTEXTS];
        final int[] n = new int[CONTEXTS + 2];
        final int[] nn = new int[2];
        /** RUNindex of each component of the scan (one for all in sample-interleaved mode). */
        final int[] runIndex;

        Scan(int near, int ilv, int components, BitReader in) throws ImageFormatException {
            this.runIndex = new int[components];
            this.near = near;
            this.ilv = ilv;
            this.in = in;
            maxval = presetMaxval != 0 ? presetMaxval : (1 << precision) - 1;
            if (maxval < 1 || maxval > 65535 || near > Math.min(255, maxval / 2)) {
                throw error("invalid MAXVAL " + maxval + " or NEAR " + near);
            }
            int[] t = defaultThresholds(maxval, near, legacyThresholds);
            lowMaxvalDefaults |= maxval < 128 && (presetT1 == 0 || presetT2 == 0 || presetT3 == 0);
            t1 = presetT1 != 0 ? presetT1 : t[0];
            t2 = presetT2 != 0 ? presetT2 : t[1];
            t3 = presetT3 != 0 ? presetT3 : t[2];
            reset = presetReset != 0 ? presetReset : 64;
            if (t1 < near + 1
                    || t1 > maxval
                    || t2 < t1
                    || t2 > maxval
                    || t3 < t2
                    || t3 > maxval
                    || reset < 3
                    || reset > Math.max(255, maxval)) {
                throw error("invalid coding parameters");
            }
            range = (maxval + 2 * near) / (2 * near + 1) + 1;
            int qb = 0;
            while ((1 << qb) < range) {
                qb++;
            }
            qbpp = qb;
            int bits = 0;
            while ((1 << bits) < maxval + 1) {
                bits++;
            }
            int bpp = Math.max(2, bits);
            limit = 2 * (bpp + Math.max(8, bpp));
            long a0 = Math.max(2, (range + 32) / 64);
            Arrays.fill(a, a0);
            Arrays.fill(n, 1);
        }

        void decode(int[] comps, int[] out, int nf) throws ImageFormatException {
            int ns = comps.length;
            int[][] prev = new int[ns][width + 2];
            int[][] cur = new int[ns][width + 2];
            for (int y = 0; y < height; y++) {
                for (int i = 0; i < ns; i++) {
                    prev[i][width + 1] = prev[i][width];
                    cur[i][0] = prev[i][1];
                }
                if (ilv == 2) {
                    sampleInterleavedLine(prev, cur);
                } else {
                    for (int i = 0; i < ns; i++) {
                        line(prev[i], cur[i], i);
                    }
                }
                for (int i = 0; i < ns; i++) {
                    int[] row = cur[i];
                    int o = y * width * nf + comps[i];
                    for (int x = 1; x <= width; x++, o += nf) {
                        out[o] = row[x];
                    }
                    cur[i] = prev[i];
                    prev[i] = row;
                }
            }
        }

        /** One line of component {@code comp} of the scan. */
        void line(int[] prev, int[] cur, int comp) throws ImageFormatException {
            int x = 1;
            while (x <= width) {
                int ra = cur[x - 1];
                int rb = prev[x];
                int rc = prev[x - 1];
                int rd = prev[x + 1];
                int qs = context(rd - rb, rb - rc, rc - ra);
                if (qs != 0) {
                    cur[x] = regular(qs, ra, rb, rc);
                    x++;
                    continue;
                }
                // run mode: samples equal (within NEAR) to Ra, then maybe an interruption sample
                int remaining = width - x + 1;
                int count = runLength(remaining, comp);
                Arrays.fill(cur, x, x + count, ra);
                x += count;
                if (count == remaining) {
                    continue;
                }
                int ri = runIndex[comp];
                int rbi = prev[x];
                if (Math.abs(ra - rbi) <= near) {
                    cur[x] = reconstruct(ra, interruption(1, ri));
                } else {
                    cur[x] = reconstruct(rbi, interruption(0, ri) * (rbi - ra < 0 ? -1 : 1));
                }
                x++;
                runIndex[comp] = Math.max(0, ri - 1);
            }
        }

        /** One line of all components, sample by sample (ILV 2). */
        void sampleInterleavedLine(int[][] prev, int[][] cur) throws ImageFormatException {
            int ns = prev.length;
            int[] qs = new int[ns];
            int x = 1;
            while (x <= width) {
                boolean run = true;
                for (int i = 0; i < ns; i++) {
                    qs[i] = context(
                            prev[i][x + 1] - prev[i][x], prev[i][x] - prev[i][x - 1], prev[i][x - 1] - cur[i][x - 1]);
                    run &= qs[i] == 0;
                }
                if (!run) {
                    for (int i = 0; i < ns; i++) {
                        cur[i][x] = regular(qs[i], cur[i][x - 1], prev[i][x], prev[i][x - 1]);
                    }
                    x++;
                    continue;
                }
                int remaining = width - x + 1;
                int count = runLength(remaining, 0);
                for (int i = 0; i < ns; i++) {
                    Arrays.fill(cur[i], x, x + count, cur[i][x - 1]);
                }
                x += count;
                if (count == remaining) {
                    continue;
                }
                int ri = runIndex[0];
                int[] err = new int[ns];
                for (int i = 0; i < ns; i++) {
                    err[i] = interruption(0, ri);
                }
                for (int i = 0; i < ns; i++) {
                    int ra = cur[i][x - 1];
                    int rb = prev[i][x];
                    cur[i][x] = reconstruct(rb, err[i] * (rb - ra < 0 ? -1 : 1));
                }
                x++;
                runIndex[0] = Math.max(0, ri - 1);
            }
        }

        /** Decodes a run of at most {@code remaining} samples, updating the component's run index. */
        int runLength(int remaining, int comp) throws ImageFormatException {
            int ri = runIndex[comp];
            int count = 0;
            boolean interrupted = false;
            while (count < remaining) {
                if (in.bit() == 0) {
                    interrupted = true;
                    break;
                }
                int step = Math.min(1 << J[ri], remaining - count);
                count += step;
                if (step == 1 << J[ri] && ri < 31) {
                    ri++;
                }
            }
            if (interrupted) {
                count += J[ri] > 0 ? in.bits(J[ri]) : 0;
                if (count > remaining) {
                    throw error("run longer than the line");
                }
            }
            runIndex[comp] = ri;
            return count;
        }

        int regular(int qs, int ra, int rb, int rc) throws ImageFormatException {
            int sign = qs < 0 ? -1 : 1;
            int q = qs * sign;
            int px;
            if (rc >= Math.max(ra, rb)) {
                px = Math.min(ra, rb);
            } else if (rc <= Math.min(ra, rb)) {
                px = Math.max(ra, rb);
            } else {
                px = ra + rb - rc;
            }
            px = clamp(px + sign * c[q]);
            int k = 0;
            while (((long) n[q] << k) < a[q] && k < 24) {
                k++;
            }
            int m = golomb(k, limit);
            int err;
            if (near == 0 && k == 0 && 2 * bias[q] <= -n[q]) {
                err = (m & 1) != 0 ? (m - 1) >> 1 : -(m >> 1) - 1;
            } else {
                err = (m & 1) == 0 ? m >> 1 : -((m + 1) >> 1);
            }
            if (Math.abs(err) > range) {
                throw error("corrupt data (error value out of range)");
            }
            bias[q] += (long) err * (2 * near + 1);
            a[q] += Math.abs(err);
            if (n[q] == reset) {
                a[q] >>= 1;
                bias[q] >>= 1;
                n[q] >>= 1;
            }
            n[q]++;
            if (bias[q] <= -n[q]) {
                bias[q] += n[q];
                if (c[q] > -128) {
                    c[q]--;
                }
                if (bias[q] <= -n[q]) {
                    bias[q] = -n[q] + 1;
                }
            } else if (bias[q] > 0) {
                bias[q] -= n[q];
                if (c[q] < 127) {
                    c[q]++;
                }
                if (bias[q] > 0) {
                    bias[q] = 0;
                }
            }
            return reconstruct(px, sign * err);
        }

        /** The error value of a run interruption sample, context 365 (type 0) or 366 (type 1). */
        int interruption(int type, int ri) throws ImageFormatException {
            int q = CONTEXTS + type;
            long temp = a[q] + (type == 1 ? n[q] >> 1 : 0);
            int k = 0;
            while (((long) n[q] << k) < temp && k < 24) {
                k++;
            }
            int em = golomb(k, limit - J[ri] - 1);
            int t = em + type;
            boolean map = (t & 1) != 0;
            int abs = (t + (map ? 1 : 0)) >> 1;
            int err = ((k != 0 || 2 * nn[type] >= n[q]) == map) ? -abs : abs;
            if (abs > range) {
                throw error("corrupt data (error value out of range)");
            }
            if (err < 0) {
                nn[type]++;
            }
            a[q] += (em + 1 - type) >> 1;
            if (n[q] == reset) {
                a[q] >>= 1;
                n[q] >>= 1;
                nn[type] >>= 1;
            }
            n[q]++;
            return err;
        }

        /** A limited-length Golomb code (T.87 A.5.3). */
        int golomb(int k, int lim) throws ImageFormatException {
            int escape = lim - qbpp - 1;
            int high = 0;
            while (in.bit() == 0) {
                if (++high > escape) {
                    throw error("corrupt data (code too long)");
                }
            }
            if (high == escape) {
                return in.bits(qbpp) + 1;
            }
            return k == 0 ? high : (high << k) | in.bits(k);
        }

        int reconstruct(int px, int err) {
            int v = px + err * (2 * near + 1);
            if (v < -near) {
                v += range * (2 * near + 1);
            } else if (v > maxval + near) {
                v -= range * (2 * near + 1);
            }
            return clamp(v);
        }

        int clamp(int v) {
            return v < 0 ? 0 : Math.min(v, maxval);
        }

        /** The signed context number (Q1 * 9 + Q2) * 9 + Q3 of three local gradients; 0 selects run mode. */
        int context(int d1, int d2, int d3) {
            return (quantize(d1) * 9 + quantize(d2)) * 9 + quantize(d3);
        }

        int quantize(int d) {
            if (d <= -t3) {
                return -4;
            }
            if (d <= -t2) {
                return -3;
            }
            if (d <= -t1) {
                return -2;
            }
            if (d < -near) {
                return -1;
            }
            if (d <= near) {
                return 0;
            }
            if (d < t1) {
                return 1;
            }
            if (d < t2) {
                return 2;
            }
            if (d < t3) {
                return 3;
            }
            return 4;
        }
    }

    /** Default thresholds T1, T2, T3 (T.87 C.2.4.1.1); {@code legacy}: CharLS 1.x's, which lacks the MAXVAL &lt; 128 branch. */
    static int[] defaultThresholds(int maxval, int near, boolean legacy) {
        int t1;
        int t2;
        int t3;
        if (maxval >= 128 || legacy) {
            int factor = (Math.min(maxval, 4095) + 128) >> 8;
            t1 = clampThreshold(factor * (3 - 2) + 2 + 3 * near, near + 1, maxval);
            t2 = clampThreshold(factor * (7 - 3) + 3 + 5 * near, t1, maxval);
            t3 = clampThreshold(factor * (21 - 4) + 4 + 7 * near, t2, maxval);
        } else {
            int factor = 256 / (maxval + 1);
            t1 = clampThreshold(Math.max(2, 3 / factor + 3 * near), near + 1, maxval);
            t2 = clampThreshold(Math.max(3, 7 / factor + 5 * near), t1, maxval);
            t3 = clampThreshold(Math.max(4, 21 / factor + 7 * near), t2, maxval);
        }
        return new int[] {t1, t2, t3};
    }

    private static int clampThreshold(int i, int j, int maxval) {
        return i > maxval || i < j ? j : i;
    }

    /** Bits of the entropy-coded segment; after a 0xFF byte only 7 bits of the next one are data (T.87 9.1). */
    private static final class BitReader {
        private final byte[] b;
        private final int end;
        private int p;
        private long cache;
        private int count;
        private boolean afterFF;

        BitReader(byte[] b, int start, int end) {
            this.b = b;
            this.p = start;
            this.end = end;
        }

        private void fill() {
            while (count <= 56 && p < end) {
                int v = b[p++] & 0xff;
                if (afterFF) {
                    cache = cache << 7 | (v & 0x7f);
                    count += 7;
                } else {
                    cache = cache << 8 | v;
                    count += 8;
                }
                afterFF = v == 0xff;
            }
        }

        int bit() throws ImageFormatException {
            if (count == 0) {
                fill();
                if (count == 0) {
                    throw error("data truncated");
                }
            }
            count--;
            return (int) (cache >>> count) & 1;
        }

        int bits(int k) throws ImageFormatException {
            if (count < k) {
                fill();
                if (count < k) {
                    throw error("data truncated");
                }
            }
            count -= k;
            return (int) ((cache >>> count) & ((1L << k) - 1));
        }
    }

    private static boolean all(boolean[] done) {
        for (boolean d : done) {
            if (!d) {
                return false;
            }
        }
        return true;
    }

    private int u16(int off) throws ImageFormatException {
        if (off + 2 > end) {
            throw error("data ends inside a marker segment");
        }
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    private static ImageFormatException error(String what) {
        return new ImageFormatException("corrupt or unsupported JPEG-LS: " + what);
    }
}

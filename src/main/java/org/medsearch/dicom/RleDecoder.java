package org.medsearch.dicom;

import java.util.Arrays;
import org.medsearch.image.ImageFormatException;

/**
 * DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits segment
 * per byte plane (for each sample, most significant byte first).
 */
final class RleDecoder {
    private RleDecoder() {}

    /** Raw samples, pixel-interleaved, {@code pm.samplesPerFrame()} of them. */
    static int[] decode(byte[] b, int off, int len, PixelModule pm) throws ImageFormatException {
        int bytesPerSample = pm.bitsAllocated() / 8;
        int planes = pm.samples() * bytesPerSample;
        if (len < 64) {
            throw new ImageFormatException("RLE frame shorter than its header");
        }
        int segments = (int) Dataset.u32(b, off, false);
        if (segments != planes || bytesPerSample == 0) {
            throw new ImageFormatException("RLE frame with " + segments + " segments, expected " + planes);
        }
        int pixels = pm.pixels();
        // a replicate run turns 2 bytes into at most 128: refuse declared sizes the data cannot hold
        if ((long) pixels * planes > 64L * len + 128L * planes) {
            throw new ImageFormatException("RLE frame too short for a " + pm.columns() + "x" + pm.rows() + " image");
        }
        int[] out = new int[pixels * pm.samples()];
        byte[] plane = new byte[pixels];
        for (int s = 0; s < segments; s++) {
            long start = Dataset.u32(b, off + 4 + 4 * s, false);
            long end = s + 1 < segments ? Dataset.u32(b, off + 8 + 4 * s, false) : len;
            if (start < 64 || end > len || start > end) {
                throw new ImageFormatException("RLE segment " + (s + 1) + " has an invalid offset");
            }
            unpack(b, off + (int) start, off + (int) end, plane, s + 1);
            int sample = s / bytesPerSample;
            int shift = 8 * (bytesPerSample - 1 - s % bytesPerSample);
            for (int i = 0, o = sample; i < pixels; i++, o += pm.samples()) {
                out[o] |= (plane[i] & 0xff) << shift;
            }
        }
        return out;
    }

    /** PackBits into {@code out}, which must be filled exactly (extra output, as some encoders pad, is dropped). */
    private static void unpack(byte[] b, int p, int end, byte[] out, int segment) throws ImageFormatException {
        int o = 0;
        while (o < out.length && p < end) {
            int n = b[p++];
            if (n >= 0) {
                int count = Math.min(n + 1, out.length - o);
                if (end - p < n + 1) {
                    throw new ImageFormatException("RLE segment " + segment + " cut short");
                }
                System.arraycopy(b, p, out, o, count);
                p += n + 1;
                o += count;
            } else if (n != -128) {
                if (p >= end) {
                    throw new ImageFormatException("RLE segment " + segment + " cut short");
                }
                int count = Math.min(1 - n, out.length - o);
                Arrays.fill(out, o, o + count, b[p++]);
                o += count;
            }
        }
        if (o < out.length) {
            throw new ImageFormatException(
                    "RLE segment " + segment + " decodes to " + o + " of " + out.length + " bytes");
        }
    }
}

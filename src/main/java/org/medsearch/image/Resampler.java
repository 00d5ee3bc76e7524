package org.medsearch.image;

/**
 * Antialiased bilinear resizing of float rasters, written by hand because ImageIO and Java2D
 * resample 8-bit images only and do not antialias when shrinking. It is Pillow's algorithm
 * ({@code Image.resize(..., BILINEAR)}): a separable triangle filter whose support widens with
 * the shrink factor, so a 512-pixel CT slice shrunk to 256 averages its neighbours instead of
 * aliasing. Up-scaling is plain bilinear interpolation with half-pixel centres.
 *
 * <pre>{@code
 * float[] small = Resampler.resize(pixels, 512, 512, 256, 256);
 * }</pre>
 */
public final class Resampler {
    private Resampler() {}

    /** Precomputed taps for one axis: for output i, weights over input [start[i], start[i]+count[i]). */
    private record Taps(int[] start, int[] count, float[] weights, int stride) {}

    public static float[] resize(float[] src, int srcW, int srcH, int dstW, int dstH) {
        if (srcW == dstW && srcH == dstH) {
            return src.clone();
        }
        // horizontal pass into an intermediate dstW x srcH raster, then vertical
        float[] tmp;
        if (srcW == dstW) {
            tmp = src;
        } else {
            Taps t = taps(srcW, dstW);
            tmp = new float[dstW * srcH];
            for (int y = 0; y < srcH; y++) {
                int row = y * srcW;
                for (int x = 0; x < dstW; x++) {
                    int s = t.start[x];
                    int wi = x * t.stride;
                    float acc = 0;
                    for (int k = 0; k < t.count[x]; k++) {
                        acc += src[row + s + k] * t.weights[wi + k];
                    }
                    tmp[y * dstW + x] = acc;
                }
            }
        }
        if (srcH == dstH) {
            return tmp == src ? src.clone() : tmp;
        }
        Taps t = taps(srcH, dstH);
        float[] out = new float[dstW * dstH];
        for (int y = 0; y < dstH; y++) {
            int s = t.start[y];
            int wi = y * t.stride;
            int o = y * dstW;
            for (int k = 0; k < t.count[y]; k++) {
                float wk = t.weights[wi + k];
                int r = (s + k) * dstW;
                for (int x = 0; x < dstW; x++) {
                    out[o + x] += tmp[r + x] * wk;
                }
            }
        }
        return out;
    }

    private static Taps taps(int in, int out) {
        double scale = (double) in / out;
        double filterScale = Math.max(scale, 1.0);
        double support = filterScale; // the triangle filter's support is 1
        int stride = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[out];
        int[] count = new int[out];
        float[] weights = new float[out * stride];
        for (int i = 0; i < out; i++) {
            double centre = (i + 0.5) * scale;
            int lo = Math.max((int) (centre - support + 0.5), 0);
            int hi = Math.min((int) (centre + support + 0.5), in);
            double sum = 0;
            int n = 0;
            double[] w = new double[hi - lo];
            for (int x = lo; x < hi; x++) {
                double d = Math.abs((x - centre + 0.5) / filterScale);
                double v = d < 1 ? 1 - d : 0;
                w[x - lo] = v;
                sum += v;
                n++;
            }
            start[i] = lo;
            count[i] = n;
            for (int k = 0; k < n; k++) {
                weights[i * stride + k] = (float) (sum > 0 ? w[k] / sum : 0);
            }
        }
        return new Taps(start, count, weights, stride);
    }
}

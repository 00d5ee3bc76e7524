package org.medsearch.image;

import java.util.SplittableRandom;

/**
 * Random changes to a training image that keep its finding: a small scale, shift and rotation
 * (one affine map, bilinear, outside filled with black), brightness and contrast jitter, and a
 * horizontal flip only when asked for, because laterality carries meaning in some data sets (a
 * left-sided finding, a situs inversus). It works on the resized gray plane in [0, 1], before
 * normalisation, so it costs one pass over {@code size * size} pixels on the loader's threads.
 *
 * <p>Contract: only training batches are augmented ({@link BatchLoader#optAugmentation}); the
 * validation, test, index and query images never pass through here. The result depends only on the
 * plane and the generator, so a seeded generator per image makes an epoch reproducible whatever the
 * thread that loads it.
 *
 * <pre>{@code
 * Augmentation a = Augmentation.standard(false);
 * float[] plane = prep.resize(image);            // size * size values in [0, 1]
 * float[] seen = a.apply(plane, prep.imageSize(), new SplittableRandom(seed));
 * }</pre>
 *
 * @param scale largest relative zoom either way (0.1: between 0.9x and 1.1x)
 * @param shift largest shift either way, as a fraction of the side
 * @param rotateDegrees largest rotation either way
 * @param brightness largest added intensity either way, on the [0, 1] scale
 * @param contrast largest relative contrast change either way around the image's mean
 * @param flip whether half of the images are mirrored left to right
 */
public record Augmentation(
        double scale, double shift, double rotateDegrees, double brightness, double contrast, boolean flip) {

    public Augmentation {
        check("scale", scale, 0.5);
        check("shift", shift, 0.5);
        check("rotateDegrees", rotateDegrees, 180);
        check("brightness", brightness, 1);
        check("contrast", contrast, 1);
    }

    private static void check(String name, double v, double max) {
        if (!(v >= 0 && v <= max)) {
            throw new IllegalArgumentException(name + " must be between 0 and " + max + ", got " + v);
        }
    }

    /**
     * The same defaults for every data set: up to 10% zoom, 6% shift, 10 degrees, 0.1 brightness and
     * 15% contrast; small enough that a lesion stays in the picture and its texture stays readable.
     */
    public static Augmentation standard(boolean flip) {
        return new Augmentation(0.10, 0.06, 10, 0.10, 0.15, flip);
    }

    /** This augmentation with or without the horizontal flip. */
    public Augmentation withFlip(boolean f) {
        return new Augmentation(scale, shift, rotateDegrees, brightness, contrast, f);
    }

    /**
     * A randomly changed copy of a square gray plane.
     *
     * @param plane {@code size * size} values in [0, 1], row by row; not modified
     * @param size the side
     * @param rnd the draws; six per call, always, so sequences stay aligned
     * @return a new plane, values clamped to [0, 1]
     */
    public float[] apply(float[] plane, int size, SplittableRandom rnd) {
        double s = 1 + uniform(rnd, scale);
        double tx = uniform(rnd, shift) * size;
        double ty = uniform(rnd, shift) * size;
        double a = Math.toRadians(uniform(rnd, rotateDegrees));
        double b = uniform(rnd, brightness);
        double c = 1 + uniform(rnd, contrast);
        boolean mirror = rnd.nextBoolean() && flip;
        // inverse map: output pixel -> source position, about the centre
        double cos = Math.cos(a) / s;
        double sin = Math.sin(a) / s;
        double centre = (size - 1) / 2.0;
        double mean = 0;
        for (float v : plane) {
            mean += v;
        }
        mean /= plane.length;
        float[] out = new float[plane.length];
        for (int y = 0; y < size; y++) {
            double dy = y - centre - ty;
            for (int x = 0; x < size; x++) {
                double dx = (mirror ? size - 1 - x : x) - centre - tx;
                double sx = cos * dx + sin * dy + centre;
                double sy = -sin * dx + cos * dy + centre;
                double v = bilinear(plane, size, sx, sy);
                v = (v - mean) * c + mean + b;
                out[y * size + x] = (float) Math.min(1, Math.max(0, v));
            }
        }
        return out;
    }

    private static double uniform(SplittableRandom rnd, double max) {
        return (rnd.nextDouble() * 2 - 1) * max;
    }

    /** The plane sampled at a real position; zero (black) outside it. */
    private static double bilinear(float[] p, int size, double x, double y) {
        if (x <= -1 || y <= -1 || x >= size || y >= size) {
            return 0;
        }
        int x0 = (int) Math.floor(x);
        int y0 = (int) Math.floor(y);
        double fx = x - x0;
        double fy = y - y0;
        double v00 = at(p, size, x0, y0);
        double v10 = at(p, size, x0 + 1, y0);
        double v01 = at(p, size, x0, y0 + 1);
        double v11 = at(p, size, x0 + 1, y0 + 1);
        return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy;
    }

    private static double at(float[] p, int size, int x, int y) {
        return x < 0 || y < 0 || x >= size || y >= size ? 0 : p[y * size + x];
    }
}

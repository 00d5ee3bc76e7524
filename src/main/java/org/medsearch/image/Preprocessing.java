package org.medsearch.image;

import java.util.Arrays;

/**
 * The exact transform from a decoded image to the network's input, identical in training, indexing,
 * query and the server, and recorded in every model manifest: resize to {@code imageSize} square
 * (antialiased bilinear), keep intensities in [0, 1], replicate gray to three channels, then
 * normalise each channel with {@code mean} and {@code std}.
 *
 * <pre>{@code
 * Preprocessing p = Preprocessing.imagenet(64);
 * float[] input = p.apply(image); // 64 * 64 * 3 floats, channels last
 * }</pre>
 *
 * @param imageSize the square side in pixels, 32 to 1024
 * @param mean per-channel mean, three values
 * @param std per-channel standard deviation, three positive values
 */
public record Preprocessing(int imageSize, float[] mean, float[] std) {

    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};
    public static final int CHANNELS = 3;

    public Preprocessing {
        if (imageSize < 32 || imageSize > 1024) {
            throw new IllegalArgumentException("image size must be between 32 and 1024, got " + imageSize);
        }
        if (mean.length != CHANNELS || std.length != CHANNELS) {
            throw new IllegalArgumentException("mean and std need three values each");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("std must be positive");
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The ImageNet statistics torchvision's pretrained weights expect (the default). */
    public static Preprocessing imagenet(int imageSize) {
        return new Preprocessing(imageSize, IMAGENET_MEAN, IMAGENET_STD);
    }

    /** Floats per image: {@code imageSize * imageSize * 3}. */
    public int inputLength() {
        return imageSize * imageSize * CHANNELS;
    }

    /** The network input for one image, channels last (H, W, C). */
    public float[] apply(MedicalImage img) {
        float[] out = new float[inputLength()];
        apply(img, out, 0);
        return out;
    }

    /** Writes the network input for one image into {@code out} at {@code offset}, channels last. */
    public void apply(MedicalImage img, float[] out, int offset) {
        normalise(resize(img), out, offset);
    }

    /** The first half of {@link #apply}: the gray plane at {@code imageSize} square, in [0, 1]. */
    public float[] resize(MedicalImage img) {
        float[] px = Resampler.resize(img.pixels(), img.width(), img.height(), imageSize, imageSize);
        for (int i = 0; i < px.length; i++) {
            px[i] = Math.min(1f, Math.max(0f, px[i]));
        }
        return px;
    }

    /**
     * The second half of {@link #apply}: a gray plane from {@link #resize} (or an augmented copy of
     * it) replicated to three channels and normalised, written channels last.
     */
    public void normalise(float[] plane, float[] out, int offset) {
        float m0 = mean[0], m1 = mean[1], m2 = mean[2];
        float s0 = 1f / std[0], s1 = 1f / std[1], s2 = 1f / std[2];
        int o = offset;
        for (float g : plane) {
            out[o] = (g - m0) * s0;
            out[o + 1] = (g - m1) * s1;
            out[o + 2] = (g - m2) * s2;
            o += 3;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p
                && p.imageSize == imageSize
                && Arrays.equals(p.mean, mean)
                && Arrays.equals(p.std, std);
    }

    @Override
    public int hashCode() {
        return imageSize * 31 + Arrays.hashCode(mean) * 17 + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "Preprocessing[size=" + imageSize + ", mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std)
                + "]";
    }
}

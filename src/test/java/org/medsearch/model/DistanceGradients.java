package org.medsearch.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Arrays;
import org.medsearch.image.Preprocessing;

/**
 * The gradient of the distance between two images' features with respect to each image's pixels,
 * on the PyTorch engine: one forward pass of the pair and one backward pass. Multiplied by the
 * change that blanking a region would make to the pixels, it is the first-order prediction of how
 * far blanking that region moves the two images apart, which is what a similarity map should rank.
 *
 * <p>Kept for {@code RefineBenchmarkTest -Dbench.map=gradient}: it ranked the cells worse than the
 * product's pairing map in the deletion test (63% against 78% on MedNIST at 128x128), so the
 * product does not use it.
 *
 * <p>The distance is the paper's: the mean squared error of the two 512-d features. Inputs are
 * pre-processed images, channels last ({@link Preprocessing#apply}); the gradients come back in the
 * same layout. Thread-safe: each call has its own arrays; the network is only read.
 *
 * <pre>{@code
 * try (DistanceGradients g = DistanceGradients.of(ModelBundle.load(dir), true)) {
 *     float[][] grad = g.gradients(prep.apply(query), prep.apply(hit));
 * }
 * }</pre>
 */
public final class DistanceGradients implements AutoCloseable {

    private final ModelBundle bundle;
    private final boolean owning;

    private DistanceGradients(ModelBundle bundle, boolean owning) {
        this.bundle = bundle;
        this.owning = owning;
    }

    /** Gradients through this bundle's network; {@code owning}: {@link #close} closes the bundle. */
    public static DistanceGradients of(ModelBundle bundle, boolean owning) {
        return new DistanceGradients(bundle, owning);
    }

    public Preprocessing preprocessing() {
        return bundle.preprocessing();
    }

    /**
     * The distance of two pre-processed images and its gradient with respect to each.
     *
     * @return {@code [gradient of a, gradient of b, {distance}]}
     */
    public float[][] gradients(float[] a, float[] b) {
        int len = bundle.preprocessing().inputLength();
        if (a.length != len || b.length != len) {
            throw new IllegalArgumentException("inputs must be pre-processed images of " + len + " values");
        }
        int s = bundle.preprocessing().imageSize();
        float[] both = Arrays.copyOf(a, 2 * len);
        System.arraycopy(b, 0, both, len, len);
        try (NDManager m = Engines.newManager()) {
            NDArray raw = m.create(both, new Shape(2, s, s, Preprocessing.CHANNELS));
            raw.setRequiresGradient(true);
            float distance;
            try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray f = bundle.network()
                        .forward(raw.transpose(0, 3, 1, 2), false)
                        .features();
                NDArray d = f.get(0).sub(f.get(1)).square().mean();
                distance = d.getFloat();
                gc.backward(d);
            }
            float[] g = raw.getGradient().toFloatArray();
            return new float[][] {Arrays.copyOf(g, len), Arrays.copyOfRange(g, len, 2 * len), {distance}};
        } finally {
            Engines.inferenceOnThisThread();
        }
    }

    /**
     * Per cell of a {@code grid x grid} partition of the input, the first-order change of the
     * distance if the image's pixels in that cell became {@code baseline}'s: the sum over the cell
     * of gradient x (baseline - input). Positive: blanking the cell moves the images apart.
     */
    public static float[] cellEffects(float[] gradient, float[] input, float[] baseline, int size, int grid) {
        float[] heat = new float[grid * grid];
        int c = Preprocessing.CHANNELS;
        for (int y = 0; y < size; y++) {
            int row = y * grid / size;
            for (int x = 0; x < size; x++) {
                int cell = row * grid + x * grid / size;
                int at = (y * size + x) * c;
                float sum = 0;
                for (int k = 0; k < c; k++) {
                    sum += gradient[at + k] * (baseline[at + k] - input[at + k]);
                }
                heat[cell] += sum;
            }
        }
        return heat;
    }

    @Override
    public void close() {
        if (owning) {
            bundle.close();
        }
    }
}

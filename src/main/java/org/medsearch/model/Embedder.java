package org.medsearch.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.Preprocessing;

/**
 * Images in, {@link Embedding}s out: the pre-processing of the model's manifest, then one forward
 * pass in inference mode. Safe to call from several threads; each call allocates its own native
 * memory and frees it before returning.
 *
 * <pre>{@code
 * Embedder e = new Embedder(bundle);
 * Embedding q = e.embed(ImageReaders.standard().read(Path.of("query.png")));
 * int cls = q.predictedClass();
 * }</pre>
 */
public final class Embedder {

    private final ModelBundle bundle;
    private final Preprocessing prep;

    public Embedder(ModelBundle bundle) {
        this.bundle = bundle;
        this.prep = bundle.preprocessing();
    }

    public Preprocessing preprocessing() {
        return prep;
    }

    public ModelBundle bundle() {
        return bundle;
    }

    /** Embeds one decoded image. */
    public Embedding embed(MedicalImage image) {
        return embed(prep.apply(image), 1).get(0);
    }

    /**
     * Embeds {@code n} pre-processed images.
     *
     * @param nhwc {@code n * prep.inputLength()} floats, channels last, as {@link Preprocessing#apply} writes them
     */
    public List<Embedding> embed(float[] nhwc, int n) {
        if (n == 0) {
            return List.of();
        }
        Engines.inferenceOnThisThread();
        ResNet18 net = bundle.network();
        try (NDManager m = Engines.newManager()) {
            NDArray x = Engines.input(m, nhwc, n, prep);
            ResNet18.Output out = net.forward(x, false);
            float[] feats = out.features().toFloatArray();
            // a bare backbone has no classes of its own: its head's outputs are not class probabilities
            int c = bundle.hasClassifier() ? net.numClasses() : 0;
            float[] probs = c == 0 ? new float[0] : out.logits().softmax(1).toFloatArray();
            List<Embedding> result = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                float[] v = new float[ResNet18.FEATURE_DIM];
                System.arraycopy(feats, i * ResNet18.FEATURE_DIM, v, 0, v.length);
                float[] p = new float[c];
                System.arraycopy(probs, i * c, p, 0, c);
                result.add(new Embedding(v, p));
            }
            return result;
        }
    }
}

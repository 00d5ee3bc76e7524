package org.medsearch.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.medsearch.image.Preprocessing;
import org.medsearch.util.MedsearchException;

/**
 * The {@link EmbeddingBackend} on DJL's PyTorch engine: one inference-mode forward pass of the
 * bundle's {@link ResNet18} (BatchNorm folded into the convolutions) per call, in native memory that
 * the call allocates and frees. The input array becomes the network's input with one copy, as a
 * channels-last view ({@link Engines#input}). Thread-safe as the interface requires.
 *
 * <pre>{@code
 * try (EmbeddingBackend backend = TorchBackend.load(Path.of("models/mednist"))) {
 *     Embedding e = backend.embed(ImageReaders.standard().read(Path.of("query.png")));
 * }
 * }</pre>
 */
public final class TorchBackend implements EmbeddingBackend {

    /** {@link #name()}. */
    public static final String NAME = "torch";

    private final ModelBundle bundle;
    private final boolean ownsBundle;
    private final Preprocessing prep;

    /** A backend on a loaded bundle, which it borrows: the caller closes the bundle after the backend. */
    public TorchBackend(ModelBundle bundle) {
        this(bundle, false);
    }

    private TorchBackend(ModelBundle bundle, boolean ownsBundle) {
        this.bundle = bundle;
        this.ownsBundle = ownsBundle;
        this.prep = bundle.preprocessing();
    }

    /** A backend that owns {@code bundle} and closes it with itself (for a bundle made, not loaded, by the caller). */
    public static TorchBackend owning(ModelBundle bundle) {
        return new TorchBackend(bundle, true);
    }

    /** Loads the bundle in {@code dir} ({@link ModelBundle#load}); the backend owns it and closes it. */
    public static TorchBackend load(Path dir) throws MedsearchException {
        return new TorchBackend(ModelBundle.load(dir), true);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ModelManifest manifest() {
        return bundle.manifest();
    }

    @Override
    public Preprocessing preprocessing() {
        return prep;
    }

    /** The bundle this backend runs. */
    public ModelBundle bundle() {
        return bundle;
    }

    @Override
    public List<Embedding> embed(float[] nhwc, int n) {
        if (EmbeddingBackend.checkBatch(prep, nhwc, n) == 0) {
            return List.of();
        }
        // grad mode is per thread, and the calling thread may never have run inference before
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

    @Override
    public void close() {
        if (ownsBundle) {
            bundle.close();
        }
    }
}

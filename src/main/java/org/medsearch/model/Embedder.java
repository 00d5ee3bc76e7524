package org.medsearch.model;

import java.util.List;
import org.medsearch.image.Preprocessing;

/**
 * The {@link TorchBackend} of a loaded {@link ModelBundle}, under the name and with the
 * {@link #bundle()} accessor that callers used before there were backends; it borrows the bundle and
 * does exactly what {@link TorchBackend} does. New code should depend on {@link EmbeddingBackend}.
 *
 * <pre>{@code
 * Embedder e = new Embedder(bundle);
 * Embedding q = e.embed(ImageReaders.standard().read(Path.of("query.png")));
 * int cls = q.predictedClass();
 * }</pre>
 */
public final class Embedder implements EmbeddingBackend {

    private final TorchBackend backend;

    public Embedder(ModelBundle bundle) {
        this.backend = new TorchBackend(bundle);
    }

    @Override
    public String name() {
        return backend.name();
    }

    @Override
    public ModelManifest manifest() {
        return backend.manifest();
    }

    @Override
    public Preprocessing preprocessing() {
        return backend.preprocessing();
    }

    public ModelBundle bundle() {
        return backend.bundle();
    }

    /**
     * Embeds {@code n} pre-processed images.
     *
     * @param nhwc {@code n * prep.inputLength()} floats, channels last, as {@link Preprocessing#apply} writes them
     */
    @Override
    public List<Embedding> embed(float[] nhwc, int n) {
        return backend.embed(nhwc, n);
    }

    /** Leaves the borrowed bundle open: its owner closes it. */
    @Override
    public void close() {
        backend.close();
    }
}

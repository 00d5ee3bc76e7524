package org.medsearch.service;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.Preprocessing;
import org.medsearch.model.FeatureMapper;
import org.medsearch.model.FeatureMaps;
import org.medsearch.search.SimilarityMap;
import org.medsearch.util.Progress;

/**
 * Explains a hit: the {@link SimilarityMap} of a query and a hit, and both images with it laid over
 * them. It runs the model's fp32 graph with its feature maps (one forward pass for the two images
 * together) whatever runtime searched; the maps of a blank gray image, computed once with the
 * graph at the first explanation, are subtracted from every cell before cells are compared in kind,
 * so that the zero padding's mark on the border cells, the same in every image, is not taken for
 * likeness.
 *
 * <p>Contract: an explanation of a query and an indexed image costs one forward pass per image;
 * its {@link SimilarityMap#distance()} is the pair's distance as the index computes it, to float
 * rounding. Thread-safe.
 *
 * <pre>{@code
 * try (Explainer x = Explainer.open(Path.of("model"), 0, Progress.NONE)) {
 *     Explainer.Explanation e = x.explain(query, hit, 256);
 *     Files.write(Path.of("query.png"), e.queryPng());
 * }
 * }</pre>
 */
public final class Explainer implements AutoCloseable {

    /** The gray level of the blank image whose maps are the baseline. */
    static final float BLANK = 0.5f;

    /** Builds the mapper: the graph from the weights and its session, done on first use by {@link #open}. */
    @FunctionalInterface
    private interface Loader {
        FeatureMapper load() throws IOException;
    }

    private final Loader loader;
    private FeatureMapper mapper;
    private FeatureMaps blank;

    private Explainer(Loader loader) {
        this.loader = loader;
    }

    /**
     * The explainer of a model bundle, or of {@code imagenet} at {@code imageSize} (0: 224). The
     * graph is built at the first explanation, so that a server that is never asked for one does not
     * pay for it at start.
     */
    public static Explainer open(Path model, int imageSize, Progress progress) {
        return new Explainer(() -> Models.explainer(model, imageSize, progress));
    }

    /** An explainer over a mapper it then owns, ready at once (tests). */
    public static Explainer of(FeatureMapper mapper) {
        Explainer x = new Explainer(() -> mapper);
        x.ready();
        return x;
    }

    /** The mapper and the blank image's maps, made on first use. */
    private synchronized FeatureMapper ready() {
        if (mapper == null) {
            try {
                mapper = loader.load();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot build the explanation graph: " + e.getMessage(), e);
            }
            int s = mapper.preprocessing().imageSize();
            float[] gray = new float[s * s];
            Arrays.fill(gray, BLANK);
            blank = mapper.featureMaps(mapper.preprocessing().apply(new MedicalImage(s, s, gray)), 1);
        }
        return mapper;
    }

    /**
     * A query and a hit explained.
     *
     * @param map where their distance comes from
     * @param queryPng the query with its similarity map over it
     * @param hitPng the hit with its similarity map over it
     * @param nanos the time it took, forward pass included
     */
    public record Explanation(SimilarityMap map, byte[] queryPng, byte[] hitPng, long nanos) {}

    /** The maps of a query and a hit; the overlays' longer side is {@code side} pixels. */
    public Explanation explain(MedicalImage query, MedicalImage hit, int side) {
        long t0 = System.nanoTime();
        SimilarityMap m = map(query, hit);
        byte[] q = SimilarityMap.overlayPng(query, m.queryHeat(), m.grid(), side);
        byte[] h = SimilarityMap.overlayPng(hit, m.hitHeat(), m.grid(), side);
        return new Explanation(m, q, h, System.nanoTime() - t0);
    }

    /** The similarity map alone (one forward pass of the two images). */
    public SimilarityMap map(MedicalImage query, MedicalImage hit) {
        FeatureMapper mapper = ready();
        Preprocessing p = mapper.preprocessing();
        float[] a = p.apply(query);
        float[] b = p.apply(hit);
        float[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return SimilarityMap.of(mapper.featureMaps(both, 2), 0, 1, baseline(), 0);
    }

    private synchronized FeatureMaps baseline() {
        return blank;
    }

    @Override
    public synchronized void close() {
        if (mapper != null) {
            mapper.close();
            mapper = null;
        }
    }
}

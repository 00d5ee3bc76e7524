package org.medsearch.model;

import org.medsearch.image.Preprocessing;

/**
 * A model that shows where its features come from: one forward pass gives the spatial feature
 * maps and the pooled features of a batch (the same features {@link EmbeddingBackend#embed} gives,
 * to float rounding). Explanations cost exactly this one pass per image.
 *
 * <pre>{@code
 * try (FeatureMapper m = Models.explainer(Path.of("model"), 0)) {
 *     FeatureMaps maps = m.featureMaps(m.preprocessing().apply(image), 1);
 * }
 * }</pre>
 */
public interface FeatureMapper extends AutoCloseable {

    /** The transform every input must have gone through. */
    Preprocessing preprocessing();

    /** The maps and features of {@code n} pre-processed images (channels last, as {@code embed} takes). */
    FeatureMaps featureMaps(float[] nhwc, int n);

    @Override
    void close();
}

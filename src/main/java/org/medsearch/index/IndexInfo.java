package org.medsearch.index;

import java.util.List;

/**
 * What an index was built with, stored in every Lucene commit.
 *
 * @param format {@value LuceneIndex#FORMAT}
 * @param modelFingerprint the fingerprint of the model whose vectors the index holds
 * @param classes the model's classes (empty for a backbone without a classifier)
 * @param dimensions vector length
 * @param createdBy the medsearch version that created the index
 * @param vectorFormat how the approximate path stores vectors
 * @param imageSize the model's input size (0 when unknown)
 */
public record IndexInfo(
        String format,
        String modelFingerprint,
        List<String> classes,
        int dimensions,
        String createdBy,
        VectorFormat vectorFormat,
        int imageSize) {

    public IndexInfo {
        if (vectorFormat == null) {
            vectorFormat = VectorFormat.FLOAT32;
        }
    }

    /**
     * Refuses a vector of another length than the index's (an add or a query).
     *
     * @param what "vector" or "query", for the message
     * @throws IllegalArgumentException if {@code v.length != dimensions}
     */
    public void requireDimensions(float[] v, String what) {
        if (v.length != dimensions) {
            throw new IllegalArgumentException(what + " of " + v.length + " dimensions, index has " + dimensions);
        }
    }

    public IndexInfo(String format, String modelFingerprint, List<String> classes, int dimensions, String createdBy) {
        this(format, modelFingerprint, classes, dimensions, createdBy, VectorFormat.FLOAT32, 0);
    }
}

package org.medsearch.index;

import java.util.List;

/**
 * What an index was built with, stored in every Lucene commit.
 *
 * @param format {@value LuceneIndex#FORMAT}
 * @param modelFingerprint the fingerprint of the model whose vectors the index holds
 * @param classes the model's classes
 * @param dimensions vector length
 * @param createdBy the medsearch version that created the index
 */
public record IndexInfo(String format, String modelFingerprint, List<String> classes, int dimensions,
        String createdBy) {}

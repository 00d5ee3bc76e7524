package org.medsearch.index;

import java.io.IOException;
import java.nio.file.Path;
import org.medsearch.index.solr.SolrVectorStore;

/**
 * {@link SolrVectorStore}'s other exact path, Lucene's exhaustive k-NN ({@link
 * SolrVectorStore#setKnnExactLimit}), held to the same contract and seeds: here it takes every exact
 * search of these small stores.
 */
class SolrKnnExactConformanceTest extends SolrVectorStoreConformanceTest {

    @Override
    protected VectorStore create(Path dir, IndexInfo info) throws IOException {
        return exhaustiveKnn(super.create(dir, info));
    }

    @Override
    protected VectorStore reopen(Path dir) throws IOException {
        return exhaustiveKnn(super.reopen(dir));
    }

    private static VectorStore exhaustiveKnn(VectorStore s) {
        ((SolrVectorStore) s).setKnnExactLimit(SolrVectorStore.KNN_EXACT_LIMIT);
        return s;
    }
}

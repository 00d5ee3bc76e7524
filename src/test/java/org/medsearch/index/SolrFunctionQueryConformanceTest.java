package org.medsearch.index;

import java.io.IOException;
import java.nio.file.Path;
import org.medsearch.index.solr.SolrVectorStore;

/**
 * {@link SolrVectorStore}'s other exact path, the {@code vectorSimilarity} function query (which
 * scores filters of {@link SolrVectorStore#KNN_EXACT_LIMIT} images or more), held to the same contract
 * and seeds: here it takes every exact search.
 */
class SolrFunctionQueryConformanceTest extends SolrVectorStoreConformanceTest {

    @Override
    protected VectorStore create(Path dir, IndexInfo info) throws IOException {
        return functionQueriesOnly(super.create(dir, info));
    }

    @Override
    protected VectorStore reopen(Path dir) throws IOException {
        return functionQueriesOnly(super.reopen(dir));
    }

    private static VectorStore functionQueriesOnly(VectorStore s) {
        ((SolrVectorStore) s).setKnnExactLimit(0);
        return s;
    }
}

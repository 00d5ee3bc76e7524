package org.medsearch.index;

import java.io.IOException;
import java.nio.file.Path;

/** {@link LuceneIndex} with a graph over int8-quantised vectors, against {@link VectorStore}'s contract. */
class LuceneIndexInt8ConformanceTest extends VectorStoreConformance {

    @Override
    protected IndexInfo info(String fingerprint) {
        return new IndexInfo(LuceneIndex.FORMAT, fingerprint, CLASSES, DIM, "test", VectorFormat.INT8, 0);
    }

    @Override
    protected VectorStore create(Path dir, IndexInfo info) throws IOException {
        return LuceneIndex.create(dir, info);
    }

    @Override
    protected VectorStore reopen(Path dir) throws IOException {
        return LuceneIndex.open(dir, true);
    }
}

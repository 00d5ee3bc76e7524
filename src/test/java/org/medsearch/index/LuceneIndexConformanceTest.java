package org.medsearch.index;

import java.io.IOException;
import java.nio.file.Path;

/** {@link LuceneIndex} against {@link VectorStore}'s contract. */
class LuceneIndexConformanceTest extends VectorStoreConformance {

    @Override
    protected VectorStore create(Path dir, IndexInfo info) throws IOException {
        return LuceneIndex.create(dir, info);
    }

    @Override
    protected VectorStore reopen(Path dir) throws IOException {
        return LuceneIndex.open(dir, true);
    }
}

package org.medsearch.index;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.medsearch.index.solr.SolrCluster;
import org.medsearch.index.solr.SolrLocation;
import org.medsearch.index.solr.SolrTestCluster;
import org.medsearch.index.solr.SolrVectorStore;

/**
 * {@link SolrVectorStore} against {@link VectorStore}'s contract, with the same seeds as the
 * embedded store: each store is a collection of 2 shards x 2 replicas on a real 2-node SolrCloud
 * ({@link SolrTestCluster}).
 */
class SolrVectorStoreConformanceTest extends VectorStoreConformance {

    private static SolrTestCluster solr;
    private static Path clusterDir;
    private static final Map<Path, SolrLocation> COLLECTIONS = new HashMap<>();
    private static int created;

    @BeforeAll
    static void startCluster() throws IOException {
        clusterDir = Files.createTempDirectory("medsearch-solr-conformance");
        solr = SolrTestCluster.start(2, clusterDir);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (solr != null) {
            solr.close();
        }
        org.medsearch.util.FileUtil.deleteTree(clusterDir);
    }

    static SolrLocation location(String collection) throws IOException {
        return SolrLocation.parse("solr://" + solr.zkHost() + "/" + collection);
    }

    @Override
    protected VectorStore create(Path dir, IndexInfo info) throws IOException {
        SolrLocation l = location("conformance" + (++created));
        try (SolrCluster c = SolrCluster.connect(l)) {
            c.createCollection(l.collection(), info.dimensions(), 2, 2);
        }
        COLLECTIONS.put(dir, l);
        return SolrVectorStore.openOrCreate(l, info);
    }

    @Override
    protected VectorStore reopen(Path dir) throws IOException {
        return SolrVectorStore.open(COLLECTIONS.get(dir), true);
    }
}

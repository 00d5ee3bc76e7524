package org.medsearch.index.solr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.medsearch.util.MedsearchException;

class SolrLocationTest {

    @Test
    void zooKeeperLocationsWithAndWithoutChroot() throws Exception {
        SolrLocation l = SolrLocation.parse("solr://zk1:2181,zk2:2182/solr/images");
        assertEquals(List.of("zk1:2181", "zk2:2182"), l.zkHosts());
        assertEquals(Optional.of("/solr"), l.chroot());
        assertEquals("images", l.collection());
        assertTrue(l.viaZooKeeper());
        assertEquals("solr://zk1:2181,zk2:2182/solr/images", l.toString());

        SolrLocation bare = SolrLocation.parse("solr://zk:2181/images");
        assertEquals(Optional.empty(), bare.chroot());
        assertEquals("images", bare.collection());

        SolrLocation deep = SolrLocation.parse("solr://zk:2181/a/b/c_1");
        assertEquals(Optional.of("/a/b"), deep.chroot());
        assertEquals("c_1", deep.collection());
    }

    @Test
    void httpLocations() throws Exception {
        SolrLocation l = SolrLocation.parse("solr+http://n1:8983,n2:8984/solr/images-v2");
        assertFalse(l.viaZooKeeper());
        assertEquals(List.of("http://n1:8983/solr", "http://n2:8984/solr"), l.solrUrls());
        assertEquals("images-v2", l.collection());
        assertEquals("solr+http://n1:8983,n2:8984/solr/images-v2", l.toString());
        assertEquals(
                List.of("https://n1:8443/solr"),
                SolrLocation.parse("solr+https://n1:8443/solr/x").solrUrls());
        assertEquals("other", l.withCollection("other").collection());
    }

    @Test
    void malformedLocationsAreRefusedInOneLine() {
        for (String bad : new String[] {
            "solr://",
            "solr://zk:2181",
            "solr://zk:2181/",
            "solr://zk/images",
            "solr://zk:port/images",
            "solr://zk:99999/images",
            "solr://zk:2181/solr/bad name",
            "solr://zk:2181/-dash",
            "solr+http://n1:8983/images",
            "solr+http://n1/solr/images",
            "solr+http://:8983/solr/images/",
            "ftp://x/y"
        }) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> SolrLocation.parse(bad), bad);
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().contains("expected") || e.getMessage().contains("not a valid collection"), bad);
        }
    }

    @Test
    void onlySolrSchemesAreSolr() {
        assertTrue(SolrLocation.isSolr("SOLR://zk:1/x"));
        assertTrue(SolrLocation.isSolr("solr+http://h:1/solr/x"));
        assertFalse(SolrLocation.isSolr("index"));
        assertFalse(SolrLocation.isSolr("/data/solr/index"));
    }
}

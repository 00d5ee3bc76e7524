package org.medsearch.service;

import java.nio.file.Path;
import org.medsearch.index.solr.SolrLocation;
import org.medsearch.util.MedsearchException;

/**
 * What {@code --index} names: a directory holding the embedded index, or a SolrCloud collection
 * ({@code solr://ZKHOST:PORT[/chroot]/COLLECTION}, {@code solr+http://HOST:PORT/solr/COLLECTION}).
 * {@link Stores} turns it into a store.
 *
 * <pre>{@code
 * IndexLocation.parse("index");                      // the directory ./index
 * IndexLocation.parse("solr://zk1:2181/solr/images"); // a collection, through ZooKeeper
 * }</pre>
 *
 * @param directory the embedded index's directory, or null
 * @param solr the collection, or null
 */
public record IndexLocation(Path directory, SolrLocation solr) {

    public IndexLocation {
        if ((directory == null) == (solr == null)) {
            throw new IllegalArgumentException("exactly one of directory and solr");
        }
    }

    /** A directory. */
    public static IndexLocation of(Path directory) {
        return new IndexLocation(directory, null);
    }

    /**
     * Parses {@code --index}'s value.
     *
     * @throws MedsearchException for a Solr location that is not well formed
     */
    public static IndexLocation parse(String s) throws MedsearchException {
        if (SolrLocation.isSolr(s)) {
            return new IndexLocation(null, SolrLocation.parse(s));
        }
        return new IndexLocation(Path.of(s), null);
    }

    public boolean isSolr() {
        return solr != null;
    }

    @Override
    public String toString() {
        return solr != null ? solr.toString() : directory.toString();
    }
}

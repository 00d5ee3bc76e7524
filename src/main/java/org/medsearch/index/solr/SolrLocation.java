package org.medsearch.index.solr;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.medsearch.util.MedsearchException;

/**
 * Where a SolrCloud collection is, as {@code --index} names it:
 * <ul>
 *   <li>{@code solr://ZKHOST:PORT[,ZKHOST:PORT...][/chroot]/COLLECTION}: a cluster addressed by its
 *       ZooKeeper ensemble, which the client watches for live nodes, leaders and aliases;</li>
 *   <li>{@code solr+http://HOST:PORT[,HOST:PORT...]/solr/COLLECTION} (or {@code solr+https://}): where no
 *       ZooKeeper address is known; the client learns the cluster's state from these nodes.</li>
 * </ul>
 * {@code COLLECTION} may be a collection or an alias. The last path segment is always the
 * collection; for {@code solr://} what lies between the hosts and it is the ZooKeeper chroot.
 *
 * <pre>{@code
 * SolrLocation l = SolrLocation.parse("solr://zk1:2181,zk2:2181/solr/images");
 * l.zkHosts();    // [zk1:2181, zk2:2181]
 * l.chroot();     // Optional[/solr]
 * l.collection(); // images
 * }</pre>
 *
 * @param zkHosts the ZooKeeper ensemble, empty for an HTTP location
 * @param chroot the ZooKeeper chroot, if any
 * @param solrUrls base URLs of Solr nodes ({@code http://host:port/solr}), empty for a ZooKeeper location
 * @param collection collection or alias
 */
public record SolrLocation(List<String> zkHosts, Optional<String> chroot, List<String> solrUrls, String collection) {

    public static final String ZK_SCHEME = "solr://";
    public static final String HTTP_SCHEME = "solr+http://";
    public static final String HTTPS_SCHEME = "solr+https://";

    public SolrLocation {
        zkHosts = List.copyOf(zkHosts);
        solrUrls = List.copyOf(solrUrls);
    }

    /** Whether {@code s} names a Solr location rather than a directory. */
    public static boolean isSolr(String s) {
        String l = s.toLowerCase(Locale.ROOT);
        return l.startsWith(ZK_SCHEME) || l.startsWith(HTTP_SCHEME) || l.startsWith(HTTPS_SCHEME);
    }

    /**
     * Parses a location.
     *
     * @throws MedsearchException with a one-line message naming what is wrong and the expected form
     */
    public static SolrLocation parse(String s) throws MedsearchException {
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith(ZK_SCHEME)) {
            String rest = s.substring(ZK_SCHEME.length());
            int slash = rest.indexOf('/');
            int last = rest.lastIndexOf('/');
            if (slash <= 0 || last == rest.length() - 1) {
                throw bad(s, "solr://ZKHOST:PORT[/chroot]/COLLECTION");
            }
            List<String> hosts = hosts(rest.substring(0, slash), s, "solr://ZKHOST:PORT[/chroot]/COLLECTION");
            String chroot = last > slash ? rest.substring(slash, last) : null;
            return new SolrLocation(
                    hosts, Optional.ofNullable(chroot), List.of(), collection(rest.substring(last + 1), s));
        }
        boolean tls = lower.startsWith(HTTPS_SCHEME);
        if (tls || lower.startsWith(HTTP_SCHEME)) {
            String form = "solr+http://HOST:PORT[,HOST:PORT]/solr/COLLECTION";
            String rest = s.substring(tls ? HTTPS_SCHEME.length() : HTTP_SCHEME.length());
            int slash = rest.indexOf('/');
            int last = rest.lastIndexOf('/');
            if (slash <= 0 || last <= slash || last == rest.length() - 1) {
                throw bad(s, form);
            }
            String context = rest.substring(slash, last);
            List<String> urls = new ArrayList<>();
            for (String h : hosts(rest.substring(0, slash), s, form)) {
                String url = (tls ? "https://" : "http://") + h + context;
                try {
                    new URI(url).toURL();
                } catch (URISyntaxException | java.net.MalformedURLException | IllegalArgumentException e) {
                    throw bad(s, form);
                }
                urls.add(url);
            }
            return new SolrLocation(List.of(), Optional.empty(), urls, collection(rest.substring(last + 1), s));
        }
        throw bad(s, "solr://ZKHOST:PORT[/chroot]/COLLECTION or solr+http://HOST:PORT/solr/COLLECTION");
    }

    private static List<String> hosts(String part, String s, String form) throws MedsearchException {
        List<String> hosts = new ArrayList<>();
        for (String h : part.split(",", -1)) {
            int colon = h.lastIndexOf(':');
            if (colon <= 0 || colon == h.length() - 1) {
                throw bad(s, form + " (each host needs a port)");
            }
            try {
                int port = Integer.parseInt(h.substring(colon + 1));
                if (port < 1 || port > 65535) {
                    throw bad(s, form + " (port out of range)");
                }
            } catch (NumberFormatException e) {
                throw bad(s, form + " (each host needs a numeric port)");
            }
            hosts.add(h);
        }
        return hosts;
    }

    private static String collection(String name, String s) throws MedsearchException {
        // Solr's own rule for collection and alias names
        if (!name.matches("[A-Za-z0-9_][A-Za-z0-9._-]*")) {
            throw new MedsearchException("'" + name + "' in " + s
                    + " is not a valid collection name (letters, digits, '.', '_', '-'; not starting with '-' or '.')");
        }
        return name;
    }

    private static MedsearchException bad(String s, String form) {
        return new MedsearchException("cannot read index location '" + s + "': expected " + form);
    }

    /** Whether the cluster is addressed through ZooKeeper. */
    public boolean viaZooKeeper() {
        return !zkHosts.isEmpty();
    }

    /** The same cluster, another collection or alias. */
    public SolrLocation withCollection(String name) throws MedsearchException {
        return new SolrLocation(zkHosts, chroot, solrUrls, collection(name, name));
    }

    @Override
    public String toString() {
        if (viaZooKeeper()) {
            return ZK_SCHEME + String.join(",", zkHosts) + chroot.orElse("") + "/" + collection;
        }
        String first = solrUrls.get(0);
        boolean tls = first.startsWith("https://");
        String context = URI.create(first).getPath();
        List<String> hosts = new ArrayList<>();
        for (String u : solrUrls) {
            URI uri = URI.create(u);
            hosts.add(uri.getHost() + ":" + uri.getPort());
        }
        return (tls ? HTTPS_SCHEME : HTTP_SCHEME) + String.join(",", hosts) + context + "/" + collection;
    }
}

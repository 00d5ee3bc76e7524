package org.medsearch.index.solr;

import java.io.IOException;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.http.NoHttpResponseException;
import org.apache.http.client.HttpClient;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.SolrServerException;
import org.apache.solr.client.solrj.impl.CloudLegacySolrClient;
import org.apache.solr.client.solrj.impl.ClusterStateProvider;
import org.apache.solr.client.solrj.impl.HttpClientUtil;
import org.apache.solr.client.solrj.impl.HttpClusterStateProvider;
import org.apache.solr.client.solrj.impl.HttpSolrClient;
import org.apache.solr.client.solrj.impl.LBHttpSolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.request.ConfigSetAdminRequest;
import org.apache.solr.client.solrj.response.ConfigSetAdminResponse;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.ContentStreamBase;
import org.apache.solr.common.util.NamedList;
import org.medsearch.util.MedsearchException;

/**
 * A connection to a SolrCloud cluster, and the administration medsearch does on it: upload its
 * configset, create collections, move aliases. Every request is retried while the cluster
 * recovers (a node stopped, a leader being elected), up to {@link #RETRY_MILLIS}; updates may be
 * retried because every medsearch update is idempotent (images are keyed by path).
 *
 * <p>The client is SolrJ's Apache-HttpClient cloud client: it routes updates to shard leaders and
 * queries to live replicas, and follows the cluster's state through ZooKeeper ({@code solr://}) or
 * through the nodes' Collections API ({@code solr+http://}). SolrJ's Jetty-based clients are not
 * used: Solr 9's Jetty 10 would meet the server's Jetty 12 on one class path.
 *
 * <pre>{@code
 * try (SolrCluster c = SolrCluster.connect(SolrLocation.parse("solr://zk:2181/images-v2"))) {
 *     c.createCollection("images-v2", 512, 2, 2);
 *     c.promote("images", "images-v2");
 * }
 * }</pre>
 */
@SuppressWarnings(
        "deprecation") // SolrJ 9 marks its Apache-HttpClient clients deprecated: they are the ones without Jetty
public final class SolrCluster implements AutoCloseable {

    /** How long a request is retried while the cluster recovers. */
    static final long RETRY_MILLIS = 90_000;

    private final SolrLocation location;
    private final CloudLegacySolrClient client;
    private final HttpClient http;

    private SolrCluster(SolrLocation location, CloudLegacySolrClient client, HttpClient http) {
        this.location = location;
        this.client = client;
        this.http = http;
    }

    /**
     * Connects to the cluster (not to a collection: see {@link #exists(String)}).
     *
     * @throws MedsearchException when no node or ZooKeeper server answers
     */
    public static SolrCluster connect(SolrLocation location) throws MedsearchException {
        ModifiableSolrParams p = new ModifiableSolrParams();
        p.set(HttpClientUtil.PROP_MAX_CONNECTIONS, 128);
        p.set(HttpClientUtil.PROP_MAX_CONNECTIONS_PER_HOST, 32);
        HttpClient http = HttpClientUtil.createClient(p);
        LBHttpSolrClient.Builder lb = new LBHttpSolrClient.Builder()
                .withHttpClient(http)
                .withConnectionTimeout(10, TimeUnit.SECONDS)
                .withSocketTimeout(120, TimeUnit.SECONDS);
        CloudLegacySolrClient client;
        try {
            CloudLegacySolrClient.Builder b;
            if (location.viaZooKeeper()) {
                // connect(20 s) below tries again after a failed ZooKeeper connect: two tries of 10 s fit its
                // 20 s (with 15 s, a wrong address took 32 s to report)
                b = new CloudLegacySolrClient.Builder(location.zkHosts(), location.chroot())
                        .withZkConnectTimeout(10, TimeUnit.SECONDS)
                        .withZkClientTimeout(30, TimeUnit.SECONDS);
            } else {
                ClusterStateProvider state = new HttpClusterStateProvider(location.solrUrls(), http);
                b = new CloudLegacySolrClient.Builder(state);
            }
            client = b.withLBHttpSolrClientBuilder(lb).withCollectionCacheTtl(5).build();
            client.connect(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            HttpClientUtil.close(http);
            throw unreachable(location, e);
        }
        return new SolrCluster(location, client, http);
    }

    private static MedsearchException unreachable(SolrLocation location, Exception e) {
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new MedsearchException("cannot reach SolrCloud at " + location + " (" + why.replaceAll("\\s+", " ")
                + "); is the cluster running and the address right?");
    }

    SolrLocation location() {
        return location;
    }

    CloudLegacySolrClient client() {
        return client;
    }

    /** Something to run against the cluster. */
    interface Call<T> {
        T run() throws SolrServerException, IOException;
    }

    /**
     * Runs {@code call}, retrying while the cluster is recovering: connection failures, 5xx
     * answers (no leader, no live replica, a node going down). A 4xx answer is the caller's
     * mistake and is not retried, nor is a {@link MedsearchException} that {@code call} throws
     * itself (a version conflict, a collection not found: waiting does not change them).
     */
    <T> T retrying(String what, Call<T> call) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS);
        long pause = 100;
        while (true) {
            try {
                return call.run();
            } catch (SolrServerException | IOException | SolrException e) {
                if (!transientFailure(e) || System.nanoTime() > deadline) {
                    throw new MedsearchException(what + " on " + location + " failed: " + oneLine(e));
                }
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException(what + " interrupted");
            }
            pause = Math.min(2_000, pause * 2);
        }
    }

    static boolean transientFailure(Throwable e) {
        if (e instanceof MedsearchException) {
            return false; // the call's own verdict (an IOException, hence the catch-all below)
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SolrException se) {
                int code = se.code();
                if (code == 409 || (code >= 400 && code < 500 && code != 408)) {
                    return false;
                }
                if (code >= 500 || code == 408) {
                    return true;
                }
            }
            if (t instanceof ConnectException
                    || t instanceof NoHttpResponseException
                    || t instanceof java.net.SocketTimeoutException
                    || t instanceof java.net.SocketException) {
                return true;
            }
        }
        // SolrJ wraps "no live servers" and routing failures in SolrServerException without a code
        return e instanceof SolrServerException || e instanceof IOException;
    }

    static String oneLine(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t.getMessage() == null || t instanceof SolrServerException)) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        m = m.replaceAll("\\s+", " ");
        return m.length() > 300 ? m.substring(0, 300) + "..." : m;
    }

    /** Whether {@code name} is a collection or an alias of this cluster. */
    public boolean exists(String name) throws IOException {
        return retrying("listing collections", () -> {
            ClusterStateProvider state = client.getClusterStateProvider();
            List<String> resolved = state.resolveAlias(name);
            for (String c : resolved) {
                if (state.getCollection(c) == null) {
                    return false;
                }
            }
            return !resolved.isEmpty();
        });
    }

    /** The collection {@code name} stands for (itself, or what the alias points at). */
    public String resolve(String name) throws IOException {
        return retrying("resolving " + name, () -> {
            List<String> r = client.getClusterStateProvider().resolveAlias(name);
            if (r.size() != 1) {
                throw new MedsearchException(
                        name + " is an alias of " + r.size() + " collections; medsearch needs exactly one");
            }
            return r.get(0);
        });
    }

    /** Aliases and the collection each points at. */
    public Map<String, String> aliases() throws IOException {
        return retrying("listing aliases", () -> {
            Map<String, String> m = new TreeMap<>();
            CollectionAdminRequest.ListAliases req = new CollectionAdminRequest.ListAliases();
            var rsp = req.process(client);
            m.putAll(rsp.getAliases());
            return m;
        });
    }

    /**
     * Uploads medsearch's configset for vectors of {@code dimensions} unless the cluster has it, and
     * creates collection {@code name} with it.
     *
     * @throws MedsearchException when the collection (or an alias of that name) exists already, or
     *     when the cluster refuses (too few nodes for the replicas, say)
     */
    public void createCollection(String name, int dimensions, int shards, int replicas) throws IOException {
        if (shards < 1 || replicas < 1) {
            throw new MedsearchException("--shards and --replicas must be at least 1");
        }
        if (exists(name)) {
            throw new MedsearchException("collection " + location.withCollection(name) + " exists already");
        }
        String configset = SolrSchema.configsetName(dimensions);
        boolean present = retrying("listing configsets", () -> {
            ConfigSetAdminResponse.List l = new ConfigSetAdminRequest.List().process(client);
            return l.getConfigSets().contains(configset);
        });
        if (!present) {
            byte[] zip = SolrSchema.configsetZip(dimensions);
            retrying("uploading configset " + configset, () -> {
                ConfigSetAdminRequest.Upload up = new ConfigSetAdminRequest.Upload()
                        .setUploadStream(
                                new ContentStreamBase.ByteArrayStream(zip, configset + ".zip", "application/zip"));
                up.setConfigSetName(configset);
                up.setOverwrite(true);
                return up.process(client);
            });
        }
        try {
            CollectionAdminRequest.Create create =
                    CollectionAdminRequest.createCollection(name, configset, shards, replicas);
            create.setWaitForFinalState(true);
            create.process(client);
        } catch (SolrServerException | SolrException e) {
            throw new MedsearchException("cannot create collection " + name + ": " + oneLine(e));
        }
        waitForActive(name, 60_000);
    }

    /** Waits until every replica of {@code collection} is active on a live node. */
    void waitForActive(String collection, long millis) throws IOException {
        long deadline = System.currentTimeMillis() + millis;
        while (true) {
            List<String> down = inactiveReplicas(collection);
            if (down.isEmpty()) {
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new MedsearchException("collection " + collection + " has replicas that are not active: " + down);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException();
            }
        }
    }

    /** Replicas of {@code collection} that are not active on a live node ("shard1/core_node3 (down)"). */
    List<String> inactiveReplicas(String collection) throws IOException {
        DocCollection c = docCollection(collection);
        var live = client.getClusterStateProvider().getLiveNodes();
        List<String> out = new ArrayList<>();
        for (Slice s : c.getSlices()) {
            for (Replica r : s.getReplicas()) {
                if (r.getState() != Replica.State.ACTIVE || !live.contains(r.getNodeName())) {
                    out.add(s.getName() + "/" + r.getName() + " ("
                            + r.getState().toString().toLowerCase(java.util.Locale.ROOT)
                            + (live.contains(r.getNodeName()) ? "" : ", node gone") + ")");
                }
            }
        }
        return out;
    }

    DocCollection docCollection(String collection) throws IOException {
        return retrying("reading the state of " + collection, () -> {
            DocCollection c = client.getClusterStateProvider().getCollection(collection);
            if (c == null) {
                throw new MedsearchException("collection " + collection + " not found on " + location);
            }
            return c;
        });
    }

    /**
     * Points alias {@code alias} at {@code collection}, atomically: a search through the alias
     * reaches the old collection or the new one, never neither.
     *
     * @return the collection the alias pointed at before, if any
     */
    public Optional<String> promote(String alias, String collection) throws IOException {
        if (alias.equals(collection)) {
            throw new MedsearchException("an alias cannot have its collection's name: " + alias);
        }
        Map<String, String> before = aliases();
        if (docCollectionOrNull(alias) != null) {
            throw new MedsearchException(alias + " is a collection, not an alias: choose another alias name");
        }
        retrying(
                "moving alias " + alias,
                () -> CollectionAdminRequest.createAlias(alias, collection).process(client));
        return Optional.ofNullable(before.get(alias));
    }

    private DocCollection docCollectionOrNull(String name) throws IOException {
        return retrying(
                "reading the cluster state",
                () -> client.getClusterStateProvider().getClusterState().getCollectionOrNull(name));
    }

    /** Deletes a collection (tests and benchmarks; the CLI never deletes data). */
    public void deleteCollection(String name) throws IOException {
        retrying(
                "deleting " + name,
                () -> CollectionAdminRequest.deleteCollection(name).process(client));
    }

    /** Sends a request to one node, not routed ({@code core} null for a node-level request such as CoreAdmin). */
    NamedList<Object> requestNode(String what, String baseUrl, SolrRequest<?> req, String core) throws IOException {
        return requestNode(what, baseUrl, req, core, 60_000);
    }

    /** {@link #requestNode(String, String, SolrRequest, String)} that may take up to {@code millis} (a forced merge). */
    NamedList<Object> requestNode(String what, String baseUrl, SolrRequest<?> req, String core, long millis)
            throws IOException {
        return retrying(what, () -> {
            try (HttpSolrClient node = new HttpSolrClient.Builder(baseUrl)
                    .withHttpClient(http)
                    .withConnectionTimeout(10, TimeUnit.SECONDS)
                    .withSocketTimeout((int) Math.min(Integer.MAX_VALUE, millis), TimeUnit.MILLISECONDS)
                    .build()) {
                return node.request(req, core);
            }
        });
    }

    /** The base URL (http://host:port/solr) of a live node that holds an active replica of {@code collection}. */
    String nodeOf(String collection) throws IOException {
        var live = client.getClusterStateProvider().getLiveNodes();
        for (Slice s : docCollection(collection).getSlices()) {
            for (Replica r : s.getReplicas()) {
                if (r.getState() == Replica.State.ACTIVE && live.contains(r.getNodeName())) {
                    return r.getBaseUrl();
                }
            }
        }
        throw new MedsearchException("collection " + collection + " has no active replica on a live node");
    }

    /** Sends a request to {@code collection} (retried like every other). */
    <T> T request(
            String what,
            SolrRequest<?> req,
            String collection,
            java.util.function.Function<org.apache.solr.common.util.NamedList<Object>, T> read)
            throws IOException {
        return retrying(what, () -> read.apply(client.request(req, collection)));
    }

    @Override
    public void close() throws IOException {
        try {
            client.close();
        } finally {
            HttpClientUtil.close(http);
        }
    }
}

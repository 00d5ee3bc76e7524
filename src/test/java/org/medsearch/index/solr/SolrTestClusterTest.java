package org.medsearch.index.solr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test cluster end to end, over Solr's HTTP APIs only (no SolrJ here): configset upload,
 * a 2 x 2 collection, updates and queries, one node stopped and restarted.
 */
class SolrTestClusterTest {

    static final String COLLECTION = "smoke";
    static final ObjectMapper JSON = new ObjectMapper();
    // HTTP/1.1: the JDK client's h2c upgrade gains nothing against a local Jetty
    static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    @Test
    void twoNodesSurviveOneNodeStoppedAndRestarted(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        SolrTestCluster solr = SolrTestCluster.start(2, dir);
        try {
            long started = System.nanoTime();
            assertTrue(solr.zkHost().matches("127\\.0\\.0\\.1:\\d+/solr"), solr.zkHost());
            assertEquals(2, solr.nodeUrls().size());
            String node0 = solr.nodeUrls().get(0);
            String node1 = solr.nodeUrls().get(1);

            long c0 = System.nanoTime();
            post(node0 + "/admin/configs?action=UPLOAD&name=" + COLLECTION, configsetZip(), "application/octet-stream");
            get(node0 + "/admin/collections?action=CREATE&name=" + COLLECTION
                    + "&numShards=2&replicationFactor=2&collection.configName=" + COLLECTION
                    + "&waitForFinalState=true");
            Map<String, Set<String>> nodesByShard = activeReplicaNodes(node0);
            long created = System.nanoTime();
            assertEquals(2, nodesByShard.size(), nodesByShard.toString());
            for (Set<String> nodes : nodesByShard.values()) {
                assertEquals(2, nodes.size(), "each shard on both nodes: " + nodesByShard);
            }

            post(
                    node0 + "/" + COLLECTION + "/update?commit=true",
                    ("[{\"id\":\"a\",\"label\":\"x\",\"vec\":[1,0,0,0]},"
                                    + "{\"id\":\"b\",\"label\":\"y\",\"vec\":[0,1,0,0]}]")
                            .getBytes(StandardCharsets.UTF_8),
                    "application/json");
            assertEquals(2, numFound(node0, "*:*"));
            assertEquals(2, numFound(node1, "*:*"));
            assertEquals(
                    "a",
                    select(node1, "{!knn f=vec topK=1}[0.9,0.1,0,0]")
                            .at("/response/docs/0/id")
                            .asText());

            long s0 = System.nanoTime();
            solr.stopNode(1);
            long stopped = System.nanoTime();
            assertEquals(List.of(node0), solr.liveNodeUrls());
            assertEquals(2, numFound(node0, "*:*"), "both shards answer from node 0's replicas");

            long u0 = System.nanoTime();
            // node 0's replicas lead now (an election after node 1 left); c lands on node 0 only
            retry(() -> post(
                    node0 + "/" + COLLECTION + "/update?commit=true",
                    "[{\"id\":\"c\",\"label\":\"z\"}]".getBytes(StandardCharsets.UTF_8),
                    "application/json"));
            assertEquals(3, numFound(node0, "*:*"));
            long updated = System.nanoTime();

            long r0 = System.nanoTime();
            solr.startNode(1);
            long restarted = System.nanoTime();
            assertEquals(List.of(node0, node1), solr.liveNodeUrls());
            // node 1's own cores, each asked alone: together they hold c, which they got by recovery
            long onNode1 = 0;
            for (String core : coresOn(node0, node1)) {
                onNode1 += select(node1 + "/" + core, "*:*", "distrib=false")
                        .at("/response/numFound")
                        .asLong();
            }
            assertEquals(3, onNode1);
            assertEquals(3, numFound(node1, "*:*"));

            String rss = rss(solr.pid());
            long q0 = System.nanoTime();
            solr.close();
            System.out.printf(
                    "Solr test cluster: start %d ms, configset + collection %d ms, stop node %d ms,"
                            + " update without it %d ms, restart node %d ms, close %d ms, child RSS %s%n",
                    ms(t0, started),
                    ms(c0, created),
                    ms(s0, stopped),
                    ms(u0, updated),
                    ms(r0, restarted),
                    ms(q0, System.nanoTime()),
                    rss);
        } finally {
            solr.close(); // no-op once closed above
        }
    }

    /** shard -> nodes of its replicas, once all of them are active. */
    private static Map<String, Set<String>> activeReplicaNodes(String node) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            JsonNode shards = clusterStatus(node).path("shards");
            Map<String, Set<String>> out = new TreeMap<>();
            boolean allActive = true;
            for (Map.Entry<String, JsonNode> shard : shards.properties()) {
                Set<String> nodes = new HashSet<>();
                for (JsonNode replica : shard.getValue().path("replicas")) {
                    allActive &= replica.path("state").asText().equals("active");
                    nodes.add(replica.path("node_name").asText());
                }
                out.put(shard.getKey(), nodes);
            }
            if (allActive && !out.isEmpty()) {
                return out;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("replicas not active after 60 s: " + shards);
            }
            Thread.sleep(200);
        }
    }

    /** Names of the cores that the node at {@code baseUrl} hosts for the collection. */
    private static List<String> coresOn(String node, String baseUrl) throws Exception {
        List<String> cores = new ArrayList<>();
        for (JsonNode shard : clusterStatus(node).path("shards")) {
            for (JsonNode replica : shard.path("replicas")) {
                if (replica.path("base_url").asText().equals(baseUrl)) {
                    cores.add(replica.path("core").asText());
                }
            }
        }
        assertEquals(2, cores.size(), "one replica of each shard on " + baseUrl);
        return cores;
    }

    private static JsonNode clusterStatus(String node) throws Exception {
        return get(node + "/admin/collections?action=CLUSTERSTATUS&collection=" + COLLECTION)
                .path("cluster")
                .path("collections")
                .path(COLLECTION);
    }

    private static long numFound(String node, String query) throws Exception {
        return select(node, query).at("/response/numFound").asLong();
    }

    private static JsonNode select(String node, String query) throws Exception {
        return select(node + "/" + COLLECTION, query, "fl=id");
    }

    private static JsonNode select(String coreUrl, String query, String params) throws Exception {
        return get(coreUrl + "/select?" + params + "&q=" + URLEncoder.encode(query, StandardCharsets.UTF_8));
    }

    private static JsonNode get(String url) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(withJson(url))).GET());
    }

    private static JsonNode post(String url, byte[] body, String contentType) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(withJson(url)))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    private static String withJson(String url) {
        return url + (url.contains("?") ? "&" : "?") + "wt=json";
    }

    private static JsonNode send(HttpRequest.Builder request) throws Exception {
        HttpResponse<String> rsp = HTTP.send(
                request.timeout(Duration.ofSeconds(120)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (rsp.statusCode() != 200) {
            throw new IOException(
                    rsp.request().method() + " " + rsp.uri() + ": HTTP " + rsp.statusCode() + "\n" + rsp.body());
        }
        return JSON.readTree(rsp.body());
    }

    interface Call {
        void run() throws Exception;
    }

    /** Retries for up to 30 s: updates wait for a shard leader, which an election may still be choosing. */
    private static void retry(Call call) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                call.run();
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }

    /** The configset's files at the zip's root, as the ConfigSets API's UPLOAD wants them. */
    private static byte[] configsetZip() throws Exception {
        Path conf = Path.of(
                SolrTestClusterTest.class.getResource("/solr-smoke-configset").toURI());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes);
                Stream<Path> files = Files.list(conf)) {
            for (Path f : files.sorted().toList()) {
                zip.putNextEntry(new ZipEntry(f.getFileName().toString()));
                zip.write(Files.readAllBytes(f));
                zip.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    private static String rss(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                    .filter(l -> l.startsWith("VmRSS:"))
                    .map(l -> l.substring(6).strip())
                    .findFirst()
                    .orElse("?");
        } catch (IOException e) {
            return "?";
        }
    }

    private static long ms(long from, long to) {
        return Duration.ofNanos(to - from).toMillis();
    }
}

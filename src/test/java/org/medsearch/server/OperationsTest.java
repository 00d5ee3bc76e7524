package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.TestImages;

/**
 * What a hospital's operators rely on, over real HTTP: named tokens with roles, the audit trail
 * (every line checked, no patient identifier or path in it, fail closed when it cannot be
 * written) and the Prometheus metrics (parsed, counters equal to the requests made).
 */
class OperationsTest {

    static final String ALICE = "alice-search-token-0123456789";
    static final String BOB = "bob-writer-token-0123456789ab";
    static final String OPS = "ops-admin-token-0123456789abc";

    @TempDir
    static Path scratch;

    static Fixture.Built built;
    static Fixture.Running running;
    static Http http;
    static Path audit;

    @BeforeAll
    static void start() throws Exception {
        built = Fixture.synthetic();
        Path tokens = scratch.resolve("tokens");
        Files.writeString(
                tokens,
                "# name role token\n"
                        + "alice search " + ALICE + "\n"
                        + Tokens.line("bob", Tokens.Role.WRITER, BOB) + "\n"
                        + "ops admin " + OPS + "\n");
        audit = scratch.resolve("audit/audit.jsonl");
        running = Fixture.start(
                built,
                ServerConfig.defaults()
                        .withTokens(Tokens.read(tokens))
                        .withAudit(new ServerConfig.Audit(audit, 1L << 20, 3))
                        .withStatsAdminOnly(true),
                scratch);
        http = running.http;
    }

    @AfterAll
    static void stop() throws Exception {
        if (running != null) {
            running.close();
        }
    }

    static String[] auth(String token) {
        return new String[] {"Authorization", "Bearer " + token};
    }

    HttpResponse<byte[]> search(String token, byte[] image) throws Exception {
        MultipartBody body = new MultipartBody().field("k", "3").file("image", "PATIENT-SECRET-name.png", image);
        return token == null ? http.post("/api/search", body) : http.post("/api/search", body, auth(token));
    }

    HttpResponse<byte[]> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(http.uri(path));
        if (token != null) {
            b.headers(auth(token));
        }
        return http.send(b);
    }

    static List<Long> ids(HttpResponse<byte[]> r) throws Exception {
        List<Long> ids = new ArrayList<>();
        Http.json(r).get("results").forEach(h -> ids.add(h.get("id").asLong()));
        return ids;
    }

    /** One expected audit line. */
    record Line(String token, String action, List<Long> ids, int status) {}

    @Test
    void rolesTheAuditTrailAndTheMetricsAgree() throws Exception {
        Files.deleteIfExists(audit);
        Map<String, Double> start = PrometheusText.parse(Http.text(get("/metrics", OPS)));
        List<Line> expected = new ArrayList<>();
        byte[] query = Files.readAllBytes(built.data().resolve("disc/img_003.png"));

        HttpResponse<byte[]> r = search(ALICE, query);
        assertEquals(200, r.statusCode(), Http.text(r));
        expected.add(new Line("alice", "search", ids(r), 200));
        r = search(ALICE, query);
        expected.add(new Line("alice", "search", ids(r), 200));
        r = search(null, query);
        assertEquals(200, r.statusCode(), Http.text(r));
        expected.add(new Line("anonymous", "search", ids(r), 200));
        long seen = ids(r).get(0);

        assertEquals(200, get("/api/images/" + seen, ALICE).statusCode());
        expected.add(new Line("alice", "view", List.of(seen), 200));
        assertEquals(200, get("/api/images/" + seen + "/thumbnail", ALICE).statusCode());
        expected.add(new Line("alice", "thumbnail", List.of(seen), 200));
        long next = ids(r).get(1);
        HttpResponse<byte[]> why = get("/api/explain?query=" + seen + "&id=" + next, ALICE);
        assertEquals(200, why.statusCode(), Http.text(why));
        expected.add(new Line("alice", "explain", List.of(seen, next), 200));

        // a searcher may not write; a writer may; a wrong token is 401 on any route
        byte[] fresh = TestImages.png(TestImages.pattern("disc", 64, new Random(77)));
        MultipartBody add = new MultipartBody().field("label", "disc").file("image", "PATIENT-SECRET-x.png", fresh);
        Http.assertError(http.post("/api/images", add, auth(ALICE)), 403, "forbidden");
        expected.add(new Line("alice", "add", List.of(), 403));
        r = http.post("/api/images", add, auth(BOB));
        assertEquals(201, r.statusCode(), Http.text(r));
        long added = Http.json(r).get("id").asLong();
        expected.add(new Line("bob", "add", List.of(added), 201));
        assertEquals(204, http.delete("/api/images/" + added, auth(BOB)).statusCode());
        expected.add(new Line("bob", "delete", List.of(added), 204));
        Http.assertError(search("not-a-token-of-this-server", query), 401, "unauthorized");
        expected.add(new Line("invalid", "search", List.of(), 401));
        assertEquals(404, get("/api/images/" + (added + 1000), OPS).statusCode());
        expected.add(new Line("ops", "view", List.of(added + 1000), 404));
        // not audited: health, classes
        assertEquals(200, get("/api/health", null).statusCode());

        List<String> lines = Files.readAllLines(audit, StandardCharsets.UTF_8);
        assertEquals(expected.size(), lines.size(), String.join("\n", lines));
        for (int i = 0; i < lines.size(); i++) {
            JsonNode j = ApiResponses.MAPPER.readTree(lines.get(i));
            Line e = expected.get(i);
            assertTrue(
                    j.get("time").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z"),
                    lines.get(i));
            assertEquals("127.0.0.1", j.get("client").asText(), lines.get(i));
            assertEquals(e.token(), j.get("token").asText(), lines.get(i));
            assertEquals(e.action(), j.get("action").asText(), lines.get(i));
            List<Long> ids = new ArrayList<>();
            j.get("ids").forEach(x -> ids.add(x.asLong()));
            assertEquals(e.ids(), ids, lines.get(i));
            assertEquals(e.status(), j.get("status").asInt(), lines.get(i));
            assertEquals(e.status() >= 400, j.has("error"), lines.get(i));
            if (e.status() == 401 || e.status() == 403) {
                assertEquals(
                        e.status() == 401 ? "unauthorized" : "forbidden",
                        j.get("error").asText());
            }
        }
        String log = Files.readString(audit, StandardCharsets.UTF_8);
        for (String secret : List.of(
                Fixture.PATIENT_PREFIX, "img_", ".png", built.data().toString(), "/", ALICE, BOB, OPS, "sha256")) {
            assertFalse(log.contains(secret), "the audit trail holds no '" + secret + "'");
        }

        // statistics are for admins; the counters equal the requests made above
        Http.assertError(get("/metrics", null), 401, "unauthorized");
        Http.assertError(get("/metrics", ALICE), 403, "forbidden");
        Http.assertError(get("/api/stats", BOB), 403, "forbidden");
        assertEquals(200, get("/api/stats", OPS).statusCode());
        HttpResponse<byte[]> m = get("/metrics", OPS);
        assertEquals(200, m.statusCode());
        assertTrue(m.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        Map<String, Double> samples = PrometheusText.parse(Http.text(m));
        assertEquals(
                3.0,
                delta(
                        start,
                        samples,
                        "http_server_requests_seconds_count{method=\"POST\",route=\"/api/search\",status=\"200\"}"));
        assertEquals(
                1.0,
                delta(
                        start,
                        samples,
                        "http_server_requests_seconds_count{method=\"POST\",route=\"/api/search\",status=\"401\"}"));
        assertEquals(
                1.0,
                delta(
                        start,
                        samples,
                        "http_server_requests_seconds_count{method=\"POST\",route=\"/api/images\",status=\"201\"}"));
        assertEquals(
                1.0,
                delta(
                        start,
                        samples,
                        "http_server_requests_seconds_count{method=\"POST\",route=\"/api/images\",status=\"403\"}"));
        assertEquals(
                1.0,
                delta(
                        start,
                        samples,
                        "http_server_requests_seconds_count{method=\"DELETE\",route=\"/api/images/{id}\",status=\"204\"}"));
        assertEquals(
                1.0,
                delta(
                        start,
                        samples,
                        "http_server_requests_seconds_count{method=\"GET\",route=\"/api/images/{id}/thumbnail\",status=\"200\"}"));
        assertEquals(
                1.0,
                delta(
                        start,
                        samples,
                        "http_server_requests_seconds_count{method=\"GET\",route=\"/metrics\",status=\"401\"}"));
        assertEquals(3.0, delta(start, samples, "medsearch_search_seconds_count"), "one index search per search");
        assertEquals(3.0, delta(start, samples, "medsearch_model_seconds_count"));
        assertEquals((double) running.index.size(), samples.get("medsearch_index_images"));
        assertEquals(0.0, samples.get("medsearch_queue_admitted"));
        assertTrue(samples.containsKey("medsearch_queue_rejected_total"));
        assertTrue(samples.keySet().stream().anyMatch(k -> k.startsWith("jvm_memory_used_bytes{")), "JVM memory");
        // a histogram's buckets only grow, and the last (+Inf) is the count
        List<double[]> buckets = new ArrayList<>();
        Pattern le = Pattern.compile("medsearch_search_seconds_bucket\\{le=\"([^\"]+)\"\\}");
        samples.forEach((k, v) -> {
            Matcher x = le.matcher(k);
            if (x.matches()) {
                double bound = x.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(x.group(1));
                buckets.add(new double[] {bound, v});
            }
        });
        assertTrue(buckets.size() > 5, "a histogram: " + buckets.size() + " buckets");
        double count = samples.get("medsearch_search_seconds_count");
        buckets.sort((a, b) -> Double.compare(a[0], b[0]));
        double previous = 0;
        for (double[] b : buckets) {
            assertTrue(b[1] >= previous, "buckets are cumulative");
            previous = b[1];
        }
        assertEquals(count, previous, "the +Inf bucket holds every search");
    }

    @Test
    void anAuditTrailThatCannotBeWrittenRefusesRequests() throws Exception {
        byte[] query = Files.readAllBytes(built.data().resolve("stripes/img_002.png"));
        assertEquals(200, search(ALICE, query).statusCode());
        long before = running.index.size();
        long victim = ids(search(ALICE, query)).get(0);
        // a directory where the file was: no one can append to it, root included
        Files.delete(audit);
        Files.createDirectory(audit);
        try {
            JsonNode j = Http.assertError(search(ALICE, query), 503, "audit_unavailable");
            assertTrue(j.get("message").asText().contains("audit"), j.toString());
            Http.assertError(http.delete("/api/images/" + victim, auth(BOB)), 503, "audit_unavailable");
            assertEquals(before, running.index.size(), "a write the trail could not record did not happen");
            Http.assertError(get("/api/images/" + victim, ALICE), 503, "audit_unavailable");
            // what is not audited still answers, so the operator sees the server alive
            assertEquals(200, get("/api/health", null).statusCode());
            Map<String, Double> samples = PrometheusText.parse(Http.text(get("/metrics", OPS)));
            assertTrue(samples.get("medsearch_audit_failures_total") >= 3.0, samples.toString());
        } finally {
            Files.delete(audit);
        }
        assertEquals(200, search(ALICE, query).statusCode(), "the trail is back: so are the answers");
        List<String> lines = Files.readAllLines(audit);
        assertEquals(1, lines.size());
        assertTrue(lines.get(0).contains("\"token\":\"alice\""), lines.get(0));
    }

    /** How much a sample grew between two scrapes (a series that was absent counts from 0). */
    static double delta(Map<String, Double> before, Map<String, Double> after, String key) {
        assertTrue(after.containsKey(key), "no sample " + key);
        return after.get(key) - before.getOrDefault(key, 0.0);
    }

    /** A strict reader of Prometheus's text format 0.0.4: every line must parse. */
    static final class PrometheusText {
        private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
        private static final Pattern SAMPLE = Pattern.compile(
                "(" + NAME + ")(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})?"
                        + " ([-+]?(?:[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?|NaN|Inf))( -?[0-9]+)?");
        private static final Pattern META = Pattern.compile("# (HELP|TYPE) (" + NAME + ")( .*)?");

        static Map<String, Double> parse(String text) {
            Map<String, Double> samples = new HashMap<>();
            Map<String, String> types = new HashMap<>();
            for (String line : text.split("\n")) {
                if (line.isEmpty()) {
                    continue;
                }
                if (line.startsWith("#")) {
                    Matcher m = META.matcher(line);
                    assertTrue(m.matches(), "not a HELP or TYPE line: " + line);
                    if (m.group(1).equals("TYPE")) {
                        String t = m.group(3).strip();
                        assertTrue(t.matches("counter|gauge|histogram|summary|untyped"), line);
                        assertTrue(types.put(m.group(2), t) == null, "TYPE given twice: " + line);
                    }
                    continue;
                }
                Matcher m = SAMPLE.matcher(line);
                assertTrue(m.matches(), "not a sample line: " + line);
                String key = m.group(1) + (m.group(2) == null ? "" : m.group(2).replace(",}", "}"));
                String v = m.group(3);
                double value = v.endsWith("Inf")
                        ? (v.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY)
                        : Double.parseDouble(v);
                assertTrue(samples.put(key, value) == null, "sample given twice: " + line);
            }
            assertFalse(samples.isEmpty());
            return samples;
        }
    }
}

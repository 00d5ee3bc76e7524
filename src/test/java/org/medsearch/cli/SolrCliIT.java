package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.index.solr.SolrTestCluster;
import org.medsearch.server.MultipartBody;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Json;

/**
 * The command line against a real 2-node SolrCloud ({@link SolrTestCluster}), end to end: {@code solr
 * create}, two {@code index --worker} processes of the packaged launcher filling one collection at
 * once, {@code index --check} and {@code --stats}, an incremental re-run, {@code search} and {@code
 * delete}, {@code serve} answering searches, adds and deletes over HTTP, {@code solr promote} and a
 * search through the alias, and the one-line refusals of user mistakes as the launcher prints them
 * (its own process: what SolrJ and ZooKeeper log lands on the same stderr). An integration test:
 * it needs the packaged jar; the commands that need no process of their own run in this JVM.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SolrCliIT {

    static final Path LAUNCHER = Path.of("medsearch").toAbsolutePath();
    static final String TOKEN = "solr-it-token-0123456789abcdef";
    static final int CLASSES = 3;
    static final int PER_CLASS = 20;
    static final int IMAGES = CLASSES * PER_CLASS;

    @TempDir
    static Path work;

    static SolrTestCluster solr;
    static Path data;
    static Path model;
    /** The launcher's environment: the patient-key salt and the uploads under the test's folder, not ~/.medsearch. */
    static Map<String, String> env;

    /** Where the cluster is, through its ZooKeeper (with Solr's chroot). */
    static String cluster;
    /** The collection the tests fill. */
    static String collection;

    @BeforeAll
    static void startClusterAndTrain() throws Exception {
        assertTrue(
                Files.isRegularFile(LAUNCHER.resolveSibling("target/medsearch.jar")),
                "the jar is built in the package phase: run with mvn verify");
        long t0 = System.nanoTime();
        solr = SolrTestCluster.start(2, work.resolve("cluster"));
        cluster = "solr://" + solr.zkHost();
        collection = cluster + "/images-v1";
        env = Map.of(
                "MEDSEARCH_PATIENT_SALT", work.resolve("salt").toString(),
                "MEDSEARCH_UPLOADS", work.resolve("uploads").toString());
        data = TestImages.writeDataset(work.resolve("data"), CLASSES, PER_CLASS, 64, 11);
        model = work.resolve("model");
        long t1 = System.nanoTime();
        CliRun train = CliRun.run(
                "train",
                "--data",
                data.toString(),
                "--out",
                model.toString(),
                "--image-size",
                "64",
                "--epochs",
                "2",
                "--batch",
                "16",
                "--quiet");
        assertEquals(0, train.code(), train.toString());
        System.out.printf("SolrCliIT: cluster %d ms, training %d ms%n", ms(t0, t1), ms(t1, System.nanoTime()));
    }

    @AfterAll
    static void stopCluster() {
        if (solr != null) {
            solr.close();
        }
    }

    @Test
    @Order(1)
    void twoWorkerProcessesFillANewCollectionWithEveryImageOnce() throws Exception {
        CliRun create = CliRun.run("solr", "create", "--index", collection, "--shards", "2", "--replicas", "2");
        assertEquals(0, create.code(), create.toString());
        assertTrue(
                create.out().contains("Created " + collection + ": 2 shards x 2 replicas, 512-d vectors"),
                create.out());
        CliRun.run("solr", "create", "--index", collection, "--shards", "2", "--replicas", "2")
                .assertUserError("exists already");

        // two processes at once, as on two machines: they race for the index's metadata and for id blocks
        long t0 = System.nanoTime();
        List<Process> workers = new ArrayList<>();
        List<CompletableFuture<String>> outs = new ArrayList<>();
        List<CompletableFuture<String>> errs = new ArrayList<>();
        try {
            for (int w = 0; w < 2; w++) {
                Process p = start(
                        "index",
                        "--model",
                        model.toString(),
                        "--data",
                        data.toString(),
                        "--index",
                        collection,
                        "--worker",
                        w + "/2",
                        "-q");
                workers.add(p);
                outs.add(LauncherIT.drain(p.getInputStream()));
                errs.add(LauncherIT.drain(p.getErrorStream()));
            }
            int total = 0;
            List<Integer> shares = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                Process p = workers.get(w);
                assertTrue(p.waitFor(3, TimeUnit.MINUTES), "worker " + w + " did not end");
                String out = outs.get(w).get(10, TimeUnit.SECONDS);
                String err = errs.get(w).get(10, TimeUnit.SECONDS);
                assertEquals(0, p.exitValue(), "worker " + w + ": " + out + err);
                assertQuiet(err);
                Matcher m = Pattern.compile("Indexed " + Pattern.quote(collection)
                                + ": (\\d+) added, 0 updated, 0 unchanged, 0 skipped")
                        .matcher(out);
                assertTrue(m.find(), out);
                shares.add(Integer.parseInt(m.group(1)));
                total += shares.get(w);
            }
            System.out.printf("SolrCliIT: two worker processes indexed %s images in %d ms%n", shares, ms(t0));
            assertEquals(IMAGES, total, "the workers' shares: " + shares);
            assertTrue(shares.get(0) > 0 && shares.get(1) > 0, "each worker has a share: " + shares);
        } finally {
            workers.forEach(Process::destroyForcibly);
        }

        CliRun check = CliRun.run("index", "--check", "--index", collection);
        assertEquals(0, check.code(), check.toString());
        assertTrue(check.out().contains("Index " + collection + " is consistent: " + IMAGES + " images"), check.out());
        CliRun stats = CliRun.run("index", "--stats", "--index", collection);
        assertEquals(0, stats.code(), stats.toString());
        assertTrue(stats.out().contains("images            " + IMAGES + " (next id "), stats.out());
        assertTrue(stats.out().contains("2 shards x 2 replicas, collection images-v1"), stats.out());
        for (String cls : List.of("stripes", "columns", "disc")) {
            assertTrue(stats.out().matches("(?s).*\\n  " + cls + " +" + PER_CLASS + "\\n.*"), cls + ": " + stats.out());
        }

        // a worker run again finds its share unchanged
        CliRun again = CliRun.run(
                "index",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--index",
                collection,
                "--worker",
                "1/2",
                "-q");
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains(": 0 added, 0 updated, "), again.out());
        assertTrue(again.out().contains("; " + IMAGES + " images in the index"), again.out());
    }

    @Test
    @Order(2)
    void searchFindsTheQueryAndDeleteRemovesIt() {
        Path query = data.resolve("disc/img_007.png");
        CliRun r = search(collection, query);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("     5  ") && !r.out().contains("     6  "), r.out());
        String[] first = row(r.out(), 1);
        assertTrue(Double.parseDouble(first[1]) < 1e-4, "the query itself comes first: " + String.join(" ", first));
        assertEquals("disc", first[3]);
        assertTrue(first[4].endsWith("img_007.png"), first[4]);
        String id = first[2];

        CliRun delete = CliRun.run("delete", "--index", collection, id);
        assertEquals(0, delete.code(), delete.toString());
        assertTrue(delete.out().contains("Removed 1 images; " + (IMAGES - 1) + " remain"), delete.out());

        CliRun after = search(collection, query);
        assertEquals(0, after.code(), after.toString());
        for (int rank = 1; rank <= 5; rank++) {
            String[] hit = row(after.out(), rank);
            assertNotEquals(id, hit[2], after.out());
            assertFalse(hit[4].endsWith("disc/img_007.png"), after.out());
        }
        CliRun check = CliRun.run("index", "--check", "--index", collection);
        assertEquals(0, check.code(), check.toString());
        assertTrue(check.out().contains("is consistent: " + (IMAGES - 1) + " images"), check.out());
    }

    @Test
    @Order(3)
    void serveAnswersSearchesAndWritesThroughTheApi() throws Exception {
        Path token = Files.writeString(work.resolve("token"), TOKEN + "\n");
        int port = LauncherIT.freePort();
        Process p = start(
                "serve",
                "--model",
                model.toString(),
                "--index",
                collection,
                "--port",
                String.valueOf(port),
                "--token-file",
                token.toString());
        try {
            CompletableFuture<String> out = LauncherIT.drain(p.getInputStream());
            CompletableFuture<String> err = LauncherIT.drain(p.getErrorStream());
            LauncherIT.awaitHealthy(p, port);
            HttpClient client =
                    HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String base = "http://127.0.0.1:" + port;

            byte[] indexed = Files.readAllBytes(data.resolve("stripes/img_003.png"));
            JsonNode found = search(client, base, indexed, "3");
            assertEquals(3, found.get("results").size(), found.toString());
            assertEquals("stripes", found.at("/results/0/label").asText(), found.toString());

            byte[] fresh = TestImages.png(TestImages.pattern("disc", 64, new Random(4242)));
            MultipartBody add = new MultipartBody().field("label", "disc").file("image", "fresh.png", fresh);
            HttpResponse<String> added = client.send(
                    HttpRequest.newBuilder(URI.create(base + "/api/images"))
                            .header("Content-Type", add.contentType())
                            .header("Authorization", "Bearer " + TOKEN)
                            .POST(add.publisher())
                            .timeout(Duration.ofSeconds(60))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(201, added.statusCode(), added.body());
            long id = Json.MAPPER.readTree(added.body()).get("id").asLong();
            Path uploads = work.resolve("uploads").resolve("images-v1");
            assertEquals(1, count(uploads), "the upload is kept under $MEDSEARCH_UPLOADS/<collection>");
            assertEquals(
                    id, search(client, base, fresh, "1").at("/results/0/id").asLong(), "found at once");

            HttpResponse<String> deleted = client.send(
                    HttpRequest.newBuilder(URI.create(base + "/api/images/" + id))
                            .header("Authorization", "Bearer " + TOKEN)
                            .DELETE()
                            .timeout(Duration.ofSeconds(60))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(204, deleted.statusCode(), deleted.body());
            assertNotEquals(
                    id, search(client, base, fresh, "1").at("/results/0/id").asLong(), "gone at once");
            assertEquals(0, count(uploads), "the upload's file goes with it");

            LauncherIT.kill("-TERM", p.pid()); // a graceful stop (Process.destroy would close the pipes too)
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the server did not stop");
            String stdout = out.get(10, TimeUnit.SECONDS);
            assertTrue(stdout.contains("Serving " + (IMAGES - 1) + " images"), stdout);
            assertQuiet(err.get(10, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        CliRun check = CliRun.run("index", "--check", "--index", collection);
        assertTrue(check.out().contains("is consistent: " + (IMAGES - 1) + " images"), check.out());
    }

    @Test
    @Order(4)
    void promoteThenSearchThroughTheAlias() {
        String empty = cluster + "/images-empty";
        assertEquals(
                0,
                CliRun.run("solr", "create", "--index", empty, "--shards", "1", "--replicas", "2")
                        .code());
        CliRun.run("solr", "promote", "--index", empty, "--alias", "images").assertUserError("holds no image");

        CliRun promote = CliRun.run("solr", "promote", "--index", collection, "--alias", "images");
        assertEquals(0, promote.code(), promote.toString());
        assertTrue(
                promote.out().contains(cluster + "/images -> images-v1 (" + (IMAGES - 1) + " images), new alias"),
                promote.out());
        CliRun r = search(cluster + "/images", data.resolve("columns/img_002.png"));
        assertEquals(0, r.code(), r.toString());
        String[] first = row(r.out(), 1);
        assertEquals("columns", first[3], r.out());
        assertTrue(first[4].endsWith("columns/img_002.png"), r.out());
        CliRun stats = CliRun.run("index", "--stats", "--index", cluster + "/images");
        assertTrue(stats.out().contains("collection images-v1"), stats.out());
    }

    /**
     * User mistakes, each through the launcher (a process of its own, so that anything a library
     * prints on stderr shows): exit 2 and one line, no stack trace.
     */
    @Test
    @Order(5)
    void userMistakesAreOneLine() throws Exception {
        Path q = data.resolve("disc/img_001.png");
        // the unreachable cluster takes the connect timeout: it runs while the others do
        Process unreachable =
                start("search", "--model", model.toString(), "--index", "solr://127.0.0.1:1/nope", q.toString());
        CompletableFuture<String> unreachableErr = LauncherIT.drain(unreachable.getErrorStream());
        LauncherIT.drain(unreachable.getInputStream());
        long t0 = System.nanoTime();
        try {
            assertOneLine(
                    run("search", "--model", model.toString(), "--index", cluster + "/nope", q.toString()),
                    "medsearch: collection nope not found on " + cluster + "/nope: create it with 'medsearch solr"
                            + " create");
            assertOneLine(
                    run("search", "--model", model.toString(), "--index", "solr://zkhost/images", q.toString()),
                    "cannot read index location 'solr://zkhost/images'");

            Path other = work.resolve("other-model");
            CliRun train = CliRun.run(
                    "train",
                    "--data",
                    data.toString(),
                    "--out",
                    other.toString(),
                    "--image-size",
                    "32",
                    "--epochs",
                    "1",
                    "--batch",
                    "16",
                    "--seed",
                    "2",
                    "-q");
            assertEquals(0, train.code(), train.toString());
            assertOneLine(
                    run("index", "--model", other.toString(), "--data", data.toString(), "--index", collection, "-q"),
                    "holds vectors of another model");
            assertOneLine(
                    run("search", "--model", other.toString(), "--index", collection, q.toString()),
                    "was built with model");

            assertTrue(unreachable.waitFor(2, TimeUnit.MINUTES), "the search of an unreachable cluster did not end");
            long unreachableMs = ms(t0);
            assertOneLine(
                    new LauncherIT.Run(unreachable.exitValue(), "", unreachableErr.get(10, TimeUnit.SECONDS)),
                    "medsearch: cannot reach SolrCloud at solr://127.0.0.1:1/nope");
            System.out.printf("SolrCliIT: an unreachable cluster was reported after %d ms%n", unreachableMs);
        } finally {
            unreachable.destroyForcibly();
        }
        // nothing of the other model got in
        CliRun check = CliRun.run("index", "--check", "--index", collection);
        assertTrue(check.out().contains("is consistent: " + (IMAGES - 1) + " images"), check.out());
    }

    // ---------------------------------------------------------------------------------------------

    static CliRun search(String index, Path query) {
        return CliRun.run("search", "--model", model.toString(), "--index", index, "--k", "5", query.toString());
    }

    /** The columns of a search's printed hit at {@code rank}: rank, MSE, id, class, path. */
    static String[] row(String out, int rank) {
        return out.lines()
                .filter(l -> l.matches("\\s+" + rank + "\\s+\\S+\\s+\\d+\\s+.*"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no hit ranked " + rank + " in:\n" + out))
                .trim()
                .split("\\s+");
    }

    static JsonNode search(HttpClient client, String base, byte[] image, String k) throws Exception {
        MultipartBody body =
                new MultipartBody().field("k", k).field("scope", "all").file("image", "query.png", image);
        HttpResponse<String> r = client.send(
                HttpRequest.newBuilder(URI.create(base + "/api/search"))
                        .header("Content-Type", body.contentType())
                        .POST(body.publisher())
                        .timeout(Duration.ofSeconds(60))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return Json.MAPPER.readTree(r.body());
    }

    static long count(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    /** Nothing but what medsearch itself says: no library's log line, no stack trace. */
    static void assertQuiet(String err) {
        assertFalse(
                err.contains("WARN") || err.contains("ERROR") || err.contains("Exception") || err.contains("\tat "),
                "stderr: " + err);
    }

    static void assertOneLine(LauncherIT.Run r, String expected) {
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains(expected), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertQuiet(r.err().replace(expected, ""));
    }

    static Process start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
        pb.environment().keySet().removeAll(List.of("MEDSEARCH_JAVA_OPTS", "JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS"));
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }

    /** Runs the launcher to its end, both streams read to their end. */
    static LauncherIT.Run run(String... args) throws Exception {
        Process p = start(args);
        try {
            CompletableFuture<String> out = LauncherIT.drain(p.getInputStream());
            CompletableFuture<String> err = LauncherIT.drain(p.getErrorStream());
            assertTrue(p.waitFor(3, TimeUnit.MINUTES), "medsearch " + String.join(" ", args) + " did not end");
            return new LauncherIT.Run(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
    }

    static long ms(long from) {
        return ms(from, System.nanoTime());
    }

    static long ms(long from, long to) {
        return TimeUnit.NANOSECONDS.toMillis(to - from);
    }
}

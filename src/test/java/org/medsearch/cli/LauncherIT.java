package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.server.MultipartBody;
import org.medsearch.testutil.HostileImages;
import org.medsearch.testutil.TestImages;

/**
 * The launcher script {@code ./medsearch} as a user runs it, over the packaged jar (hence an
 * integration test, after {@code package}): the PID it starts with becomes the JVM's, so a SIGTERM
 * to it stops the server gracefully; it hides the JVM's incubator notice and no other line; it
 * keeps Java's exit codes.
 */
class LauncherIT {

    /** The notice the JVM prints at every start because of {@code --add-modules jdk.incubator.vector}. */
    static final String INCUBATOR = "WARNING: Using incubator modules";
    /** Failsafe runs in the project's base directory, where the launcher is. */
    static final Path LAUNCHER = Path.of("medsearch").toAbsolutePath();

    @TempDir
    static Path work;

    static Path data;
    static Path model;
    static Path index;

    /** What one run of the launcher printed, read to the end of both streams. */
    record Run(int code, String out, String err) {}

    /** A tiny model (2 classes x 8 images of 32x32, one epoch) and its index, built by the launcher itself. */
    @BeforeAll
    static void buildModelAndIndex() throws Exception {
        assertTrue(
                Files.isRegularFile(LAUNCHER.resolveSibling("target/medsearch.jar")),
                "the jar is built in the package phase: run with mvn verify");
        data = TestImages.writeDataset(work.resolve("data"), 2, 8, 32, 11);
        model = work.resolve("model");
        index = work.resolve("index");
        Run train = run(
                Map.of(),
                "train",
                "--data",
                data.toString(),
                "--out",
                model.toString(),
                "--image-size",
                "32",
                "--epochs",
                "1",
                "--batch",
                "8",
                "-q");
        assertEquals(0, train.code(), train.toString());
        Run idx = run(
                Map.of(),
                "index",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--index",
                index.toString(),
                "-q");
        assertEquals(0, idx.code(), idx.toString());
        assertFalse(train.err().contains(INCUBATOR) || idx.err().contains(INCUBATOR), train.err() + idx.err());
    }

    @Test
    void sigtermToTheLauncherStopsTheServerGracefully() throws Exception {
        int port = freePort();
        Process p = start(
                "serve",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--port",
                String.valueOf(port),
                "--grace",
                "20");
        List<ProcessHandle> family = new ArrayList<>();
        try {
            CompletableFuture<String> out = drain(p.getInputStream());
            CompletableFuture<String> err = drain(p.getErrorStream());
            awaitHealthy(p, port);
            family.addAll(p.descendants().toList());

            // two searches that take seconds (64-megapixel images to decode), admitted before the SIGTERM
            MultipartBody body = new MultipartBody().file("image", "big.png", TestImages.bigBlackPng(8000, 8000));
            HttpClient client =
                    HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpRequest search = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/search"))
                    .header("Content-Type", body.contentType())
                    .POST(body.publisher())
                    .timeout(Duration.ofSeconds(60))
                    .build();
            List<CompletableFuture<Long>> answered = new ArrayList<>();
            List<CompletableFuture<HttpResponse<String>>> searches = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                CompletableFuture<HttpResponse<String>> f =
                        client.sendAsync(search, HttpResponse.BodyHandlers.ofString());
                searches.add(f);
                answered.add(f.thenApply(r -> System.nanoTime()));
            }
            awaitInFlight(client, port, 2);
            long killed = System.nanoTime();
            kill("-TERM", p.pid());
            Thread.sleep(200);
            assertTrue(
                    p.isAlive() || answered.stream().allMatch(CompletableFuture::isDone),
                    "the process ./medsearch started ended at once (exit " + (p.isAlive() ? "" : p.exitValue())
                            + ") with searches unanswered: the SIGTERM did not reach Java");
            for (CompletableFuture<HttpResponse<String>> f : searches) {
                HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(r.body().contains("\"predicted\""), r.body());
            }
            assertTrue(
                    answered.stream().anyMatch(f -> f.join() > killed),
                    "no search was still in flight at the SIGTERM (they answered too fast to test the stop)");

            assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the server stops within seconds of its last request");
            assertEquals(143, p.exitValue(), "the JVM's exit on SIGTERM (128 + 15)");
            assertThrows(
                    ConnectException.class,
                    () -> new Socket(InetAddress.getLoopbackAddress(), port).close(),
                    "the port is closed");
            String stdout = out.get(10, TimeUnit.SECONDS);
            String stderr = err.get(10, TimeUnit.SECONDS);
            assertTrue(stdout.contains("Stopped: the requests in flight were answered."), stdout + stderr);
            assertFalse(stderr.contains(INCUBATOR), stderr);
            for (ProcessHandle h : family) {
                assertTrue(waitGone(h), "left running: " + h.info());
            }
        } finally {
            p.destroyForcibly();
            family.forEach(ProcessHandle::destroyForcibly);
        }
    }

    /**
     * Issue 10: four maximum-size decodes at once (each just under --max-decoded) and two TIFF bombs,
     * against the server as the launcher runs it (its JVM, its GC, no -Xmx). The decodes share
     * --decode-memory, so the peak resident set stays within the baseline plus that budget plus a
     * fixed allowance for the JVM's own slack; the bombs are refused from their headers. (On a 2-core
     * machine the upload gate also admits only two decodes at once; on more cores the budget is what
     * holds them.) How far G1 grows the heap for the decodes' garbage varies from machine to machine:
     * the peak has been 0.7 to 1.2 GiB above the baseline plus the budget on machines like this one
     * (more of it shows on ONNX Runtime, whose baseline is lower than PyTorch's), and the allowance
     * is 2 GiB.
     */
    @Test
    void peakMemoryStaysBoundedUnderMaximumSizeDecodes() throws Exception {
        int port = freePort();
        long budgetMiB = 1024;
        Process p = start(
                "serve",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--port",
                String.valueOf(port),
                "--max-decoded",
                "512",
                "--decode-memory",
                String.valueOf(budgetMiB));
        try {
            drain(p.getInputStream());
            CompletableFuture<String> err = drain(p.getErrorStream());
            awaitHealthy(p, port);
            HttpClient client =
                    HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpRequest warm =
                    searchRequest(port, TestImages.png(TestImages.pattern("disc", 32, new java.util.Random(1))));
            for (int i = 0; i < 3; i++) {
                assertEquals(
                        200,
                        client.send(warm, HttpResponse.BodyHandlers.ofString()).statusCode());
            }
            long baseline = peakRss(client, port);

            // 8192x8000 RGBA, 8 bits: 64 MP, 250 MiB of samples and 250 MiB of floats, just under 512 MiB
            HttpRequest big = searchRequest(port, HostileImages.png(8192, 8000, 6, 8));
            HttpRequest bomb = searchRequest(port, HostileImages.tiff(4096, 4096, 64));
            List<CompletableFuture<HttpResponse<String>>> bigs = new ArrayList<>();
            List<CompletableFuture<HttpResponse<String>>> bombs = new ArrayList<>();
            for (int i = 0; i < BIG_DECODES; i++) {
                bigs.add(client.sendAsync(big, HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < 2; i++) {
                bombs.add(client.sendAsync(bomb, HttpResponse.BodyHandlers.ofString()));
            }
            int served = 0;
            for (CompletableFuture<HttpResponse<String>> f : bigs) {
                HttpResponse<String> r = f.get(120, TimeUnit.SECONDS);
                assertTrue(r.statusCode() == 200 || r.statusCode() == 503, r.statusCode() + " " + r.body());
                served += r.statusCode() == 200 ? 1 : 0;
            }
            assertTrue(served >= 1, "no maximum-size image was served");
            for (CompletableFuture<HttpResponse<String>> f : bombs) {
                HttpResponse<String> r = f.get(120, TimeUnit.SECONDS);
                assertEquals(422, r.statusCode(), r.body());
            }
            long peak = peakRss(client, port);
            long bound = baseline + ((budgetMiB + SLACK_MIB) << 20);
            System.out.printf(
                    "decode memory: baseline peak RSS %d MiB, after %d maximum-size decodes and 2 bombs "
                            + "%d MiB (bound %d MiB), %d of %d served%n",
                    baseline >> 20, BIG_DECODES, peak >> 20, bound >> 20, served, BIG_DECODES);
            assertTrue(
                    peak <= bound,
                    "peak RSS " + (peak >> 20) + " MiB over the bound of " + (bound >> 20)
                            + " MiB (baseline " + (baseline >> 20) + " MiB + decode memory " + budgetMiB + " MiB + "
                            + SLACK_MIB + " MiB)");
            assertFalse(err.isDone() && err.get().contains("OutOfMemoryError"));
        } finally {
            p.destroyForcibly();
        }
    }

    /** The JVM's own share beyond the live decodes: freed arrays not yet collected, G1's regions, code. */
    static final long SLACK_MIB = 2048;

    static final int BIG_DECODES = 4;

    static HttpRequest searchRequest(int port, byte[] image) {
        MultipartBody body = new MultipartBody().file("image", "q.png", image);
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/search"))
                .header("Content-Type", body.contentType())
                .POST(body.publisher())
                .timeout(Duration.ofSeconds(120))
                .build();
    }

    static long peakRss(HttpClient client, int port) throws Exception {
        HttpResponse<String> r = client.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/stats"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return new ObjectMapper()
                .readTree(r.body())
                .path("memory")
                .path("peakRssBytes")
                .asLong();
    }

    @Test
    void aPortInUseIsOneLineAndExitTwo() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Run r = run(
                    Map.of(),
                    "serve",
                    "--model",
                    model.toString(),
                    "--index",
                    index.toString(),
                    "--port",
                    String.valueOf(taken.getLocalPort()));
            assertEquals(2, r.code(), r.toString());
            assertEquals(
                    List.of("medsearch: cannot serve on 127.0.0.1:" + taken.getLocalPort()
                            + ": Port already in use. Make sure no other process is using port " + taken.getLocalPort()
                            + " and try again."),
                    r.err().lines().toList(),
                    "one line, no Javalin ERROR line: " + r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void javasExitCodesAndOtherStderrLinesPassThrough() throws Exception {
        Run version = run(Map.of(), "--version");
        assertEquals(0, version.code(), version.toString());
        assertTrue(version.out().startsWith("medsearch "), version.out());
        assertEquals("", version.err(), "the incubator notice is the only line dropped");

        Run missing = run(
                Map.of(),
                "search",
                "--model",
                work.resolve("none").toString(),
                "--index",
                index.toString(),
                data.resolve("stripes/img_000.png").toString());
        assertEquals(2, missing.code(), missing.toString());
        assertEquals(1, missing.err().lines().count(), missing.err());
        assertTrue(missing.err().startsWith("medsearch: model not found"), missing.err());

        // the JVM's notice of options from the environment comes before the incubator one: both handled
        Run picked = run(Map.of("JDK_JAVA_OPTIONS", "-Dmedsearch.it=1"), "--version");
        assertEquals(0, picked.code(), picked.toString());
        assertEquals(
                List.of("NOTE: Picked up JDK_JAVA_OPTIONS: -Dmedsearch.it=1"),
                picked.err().lines().toList());

        // the JVM refuses to start (exit 1) before its notice: every line it prints passes, in order
        Run bad = run(Map.of("MEDSEARCH_JAVA_OPTS", "-XX:+NoSuchOption"), "--version");
        assertEquals(1, bad.code(), bad.toString());
        assertEquals(
                List.of(
                        "Unrecognized VM option 'NoSuchOption'",
                        "Error: Could not create the Java Virtual Machine.",
                        "Error: A fatal exception has occurred. Program will exit."),
                bad.err().lines().toList());
    }

    // ---------------------------------------------------------------------------------------------

    static Process start(String... args) throws IOException {
        return start(Map.of(), args);
    }

    static Process start(Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
        // the JVM announces these options on stderr: the tests set them only where they expect that
        pb.environment().keySet().removeAll(List.of("MEDSEARCH_JAVA_OPTS", "JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS"));
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }

    /** Runs the launcher to its end; both streams are read to their end (the stderr filter's too). */
    static Run run(Map<String, String> env, String... args) throws Exception {
        Process p = start(env, args);
        try {
            CompletableFuture<String> out = drain(p.getInputStream());
            CompletableFuture<String> err = drain(p.getErrorStream());
            assertTrue(p.waitFor(3, TimeUnit.MINUTES), "medsearch " + String.join(" ", args) + " did not end");
            return new Run(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(
                () -> {
                    try (in) {
                        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                },
                r -> {
                    Thread t = new Thread(r, "launcher-it-drain");
                    t.setDaemon(true);
                    t.start();
                });
    }

    static void awaitHealthy(Process p, int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            assertTrue(
                    p.isAlive(),
                    "the server ended before it was healthy (exit " + (p.isAlive() ? 0 : p.exitValue()) + ")");
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/api/health")
                        .toURL()
                        .openConnection();
                c.setConnectTimeout(1000);
                c.setReadTimeout(5000);
                try {
                    if (c.getResponseCode() == 200) {
                        return;
                    }
                } finally {
                    c.disconnect();
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the server was not healthy within 120 s");
    }

    /** Waits until the server's inference queue holds {@code n} searches (admitted, decoding or computing). */
    static void awaitInFlight(HttpClient client, int port, int n) throws Exception {
        HttpRequest stats = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/stats"))
                .timeout(Duration.ofSeconds(10))
                .build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        int inFlight = 0;
        while (System.nanoTime() < deadline) {
            String json =
                    client.send(stats, HttpResponse.BodyHandlers.ofString()).body();
            inFlight = new ObjectMapper().readTree(json).at("/queue/inFlight").asInt();
            if (inFlight >= n) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("only " + inFlight + " of " + n + " searches reached the server within 30 s");
    }

    static void kill(String signal, long pid) throws Exception {
        Process k = new ProcessBuilder("kill", signal, String.valueOf(pid))
                .inheritIO()
                .start();
        assertTrue(k.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, k.exitValue(), "kill " + signal + " " + pid);
    }

    static boolean waitGone(ProcessHandle h) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (h.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        return !h.isAlive();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}

package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.model.ModelBundle;
import org.medsearch.testutil.Bundles;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Hashing;
import org.medsearch.util.Json;

/**
 * The ONNX runtime as the launcher runs it (separate processes, the packaged jar, hence an
 * integration test): two processes that find a bundle without its graph at the same time both
 * succeed and leave one graph that matches the manifest; a damaged graph is one line on stderr; and
 * no run leaves ONNX Runtime's droppings behind (the loader's temp folder, the telemetry store, its
 * log and session file).
 *
 * <p>Each process gets its own {@code HOME}, {@code TMPDIR}, {@code java.io.tmpdir} and
 * {@code MEDSEARCH_CACHE} under the test's folder, so what a run leaves is exactly what is in them
 * afterwards. The model is a random ResNet-18 bundle written by the test: no PyTorch in any process.
 * (Never start these JVMs with a long {@code -cp}: ONNX Runtime 1.29.0 crashes the JVM when the
 * command line is longer than about 4 KB; the launcher runs {@code java -jar}.)
 */
class OnnxLauncherIT {

    static final Path LAUNCHER = LauncherIT.LAUNCHER;

    @TempDir
    static Path work;

    static Path data;
    static Path model;
    static Path index;

    /** What one run of the launcher printed, and its process id. */
    record Run(long pid, int code, String out, String err) {}

    @BeforeAll
    static void buildModelAndIndex() throws Exception {
        assertTrue(
                Files.isRegularFile(LAUNCHER.resolveSibling("target/medsearch.jar")),
                "the jar is built in the package phase: run with mvn verify");
        data = TestImages.writeDataset(work.resolve("data"), 2, 4, 32, 11);
        model = Bundles.random(work.resolve("model"), List.of(TestImages.PATTERNS[0], TestImages.PATTERNS[1]), 32, 5);
        index = work.resolve("index");
        Sandbox box = Sandbox.create("setup");
        Run idx = box.run("index", "--model", model.toString(), "--data", data.toString(), "--index", index.toString());
        assertEquals(0, idx.code(), idx.toString());
        assertTrue(Files.isRegularFile(model.resolve("model.onnx")), "index exported the graph");
        box.assertNothingLeft(idx);
    }

    @Test
    void twoProcessesFindingNoGraphBothSucceedAndLeaveOne() throws Exception {
        Path dir = copyOfModel("race");
        // as a bundle made before graphs existed: no file, no record, no lock file
        Files.delete(dir.resolve("model.onnx"));
        Files.deleteIfExists(dir.resolve(".graphs.lock"));
        ObjectNode manifest = (ObjectNode)
                Json.MAPPER.readTree(dir.resolve(ModelBundle.MANIFEST).toFile());
        assertNotNull(manifest.remove("graphs"));
        Files.write(dir.resolve(ModelBundle.MANIFEST), Json.MAPPER.writeValueAsBytes(manifest));

        // a fresh cache too: both processes also unpack ONNX Runtime's native libraries at once
        Sandbox box = Sandbox.create("race");
        String[] search = {
            "search",
            "--model",
            dir.toString(),
            "--index",
            index.toString(),
            data.resolve("stripes/img_001.png").toString()
        };
        Process a = box.start(search);
        Process b = box.start(search);
        Run ra = finish(a, search);
        Run rb = finish(b, search);

        assertEquals(0, ra.code(), ra.toString());
        assertEquals(0, rb.code(), rb.toString());
        assertEquals("", ra.err());
        assertEquals("", rb.err());
        assertFalse(hits(ra.out()).isEmpty(), ra.out());
        assertEquals(hits(ra.out()), hits(rb.out()), "both processes ran the same graph");

        Path graph = dir.resolve("model.onnx");
        assertTrue(Files.isRegularFile(graph));
        JsonNode g =
                Json.MAPPER.readTree(dir.resolve(ModelBundle.MANIFEST).toFile()).at("/graphs/onnx");
        assertEquals("model.onnx", g.path("file").asText(), g.toString());
        assertEquals(Hashing.sha256Hex(graph), g.path("sha256").asText());
        assertEquals(
                Hashing.sha256Hex(dir.resolve(ModelBundle.WEIGHTS)),
                g.path("weightsSha256").asText());
        assertArrayEquals(
                Files.readAllBytes(model.resolve("model.onnx")), Files.readAllBytes(graph), "the export is the same");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(
                    List.of(".graphs.lock", "manifest.json", "model.onnx", "weights.safetensors"),
                    files.map(p -> p.getFileName().toString()).sorted().toList(),
                    "one graph, no temporary file (.model.onnx*.tmp, .manifest.json*.tmp)");
        }
        box.assertNothingLeft(ra);
        box.assertNothingLeft(rb);
    }

    @Test
    void aDamagedGraphIsOneLineOnStderrAndANonZeroExit() throws Exception {
        Path dir = copyOfModel("damaged");
        Path graph = dir.resolve("model.onnx");
        byte[] bytes = Files.readAllBytes(graph);
        bytes[bytes.length / 2] ^= 0x55;
        Files.write(graph, bytes);

        Sandbox box = Sandbox.create("damaged");
        Run r = box.run(
                "search",
                "--model",
                dir.toString(),
                "--index",
                index.toString(),
                data.resolve("columns/img_002.png").toString());
        assertNotEquals(0, r.code(), r.toString());
        assertEquals(2, r.code(), "a damaged model is the user's to fix: " + r);
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), "exactly one line on stderr: " + r.err());
        assertTrue(lines.get(0).startsWith("medsearch: " + graph), r.err());
        assertTrue(lines.get(0).contains("does not match its manifest"), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        assertEquals("", r.out());
        assertArrayEquals(bytes, Files.readAllBytes(graph), "the damaged graph is left for the user to look at");
        box.assertNothingLeft(r);
    }

    /**
     * Without {@code TMPDIR} and {@code java.io.tmpdir} set, the native library's log goes to
     * {@code /tmp} under the process's id: it is gone after the run. (The loader's folder in
     * {@code /tmp} has a random name that cannot be told from other processes' here: the sandboxed
     * runs above check it.)
     */
    @Test
    void theDefaultTemporaryDirectoryKeepsNoLogOfTheRun() throws Exception {
        Sandbox box = Sandbox.create("default-tmp");
        box.env.remove("TMPDIR");
        box.env.remove("MEDSEARCH_JAVA_OPTS");
        Run r = box.run(
                "search",
                "--model",
                copyOfModel("default-tmp").toString(),
                "--index",
                index.toString(),
                data.resolve("stripes/img_003.png").toString());
        assertEquals(0, r.code(), r.toString());
        assertFalse(Files.exists(Path.of("/tmp", "mat-debug-" + r.pid() + ".log")));
        box.assertNothingLeft(r);
    }

    // ---------------------------------------------------------------------------------------------

    /** A process's own home, cache and temporary directories, which the test checks afterwards. */
    record Sandbox(Path root, Path home, Path tmp, Path cache, Map<String, String> env) {

        static Sandbox create(String name) throws IOException {
            Path root = Files.createDirectories(work.resolve("sandbox-" + name));
            Path home = Files.createDirectories(root.resolve("home"));
            Path tmp = Files.createDirectories(root.resolve("tmp"));
            Path cache = root.resolve("cache");
            Map<String, String> env = new HashMap<>();
            env.put("HOME", home.toString());
            env.put("TMPDIR", tmp.toString());
            env.put("MEDSEARCH_CACHE", cache.toString());
            env.put("MEDSEARCH_JAVA_OPTS", "-Djava.io.tmpdir=" + tmp);
            return new Sandbox(root, home, tmp, cache, env);
        }

        Process start(String... args) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
            cmd.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile());
            pb.environment()
                    .keySet()
                    .removeAll(List.of(
                            "MEDSEARCH_JAVA_OPTS",
                            "JDK_JAVA_OPTIONS",
                            "JAVA_TOOL_OPTIONS",
                            "XDG_CACHE_HOME",
                            "TMPDIR",
                            "MEDSEARCH_CACHE"));
            pb.environment().putAll(env);
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            return pb.start();
        }

        Run run(String... args) throws Exception {
            return finish(start(args), args);
        }

        /**
         * Nothing of the run is left: the home stays empty (no telemetry store under .cache), the
         * temporary directory too (no loader folder, no log, no session file), and the cache holds the
         * native libraries only.
         */
        void assertNothingLeft(Run r) throws IOException {
            assertEquals(List.of(), listing(home), "left in HOME by " + r.pid());
            if (env.containsKey("TMPDIR")) {
                assertEquals(List.of(), listing(tmp), "left in the temporary directory by " + r.pid());
            }
            assertFalse(Files.exists(Path.of("/tmp", "mat-debug-" + r.pid() + ".log")));
            List<String> cached = listing(cache);
            assertTrue(
                    cached.stream().allMatch(p -> p.startsWith("onnxruntime")),
                    "only ONNX Runtime's libraries in the cache: " + cached);
        }
    }

    static Run finish(Process p, String... args) throws Exception {
        try {
            CompletableFuture<String> out = LauncherIT.drain(p.getInputStream());
            CompletableFuture<String> err = LauncherIT.drain(p.getErrorStream());
            assertTrue(p.waitFor(3, TimeUnit.MINUTES), "medsearch " + String.join(" ", args) + " did not end");
            return new Run(p.pid(), p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    /** Everything under {@code dir}, relative, sorted; empty when it does not exist. */
    static List<String> listing(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !p.equals(dir))
                    .map(p -> dir.relativize(p).toString())
                    .sorted()
                    .toList();
        }
    }

    /** The result lines of a search (rank, distance, id, class, path): what does not depend on timing. */
    static List<String> hits(String out) {
        return out.lines()
                .filter(l -> l.matches("\\s+\\d+\\s+\\S+\\s+\\d+\\s+.*") || l.contains("predicted:"))
                .map(l -> l.contains("predicted:")
                        ? l.substring(0, l.indexOf("model ")).strip()
                        : l)
                .toList();
    }

    static Path copyOfModel(String name) throws IOException {
        Path dir = work.resolve("model-" + name);
        FileUtil.deleteTree(dir);
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }
}

package org.medsearch.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.ResNet18;
import org.medsearch.model.TorchBackend;
import org.medsearch.testutil.Bundles;
import org.medsearch.util.Hashing;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;

/**
 * The graphs of a bundle ({@link OnnxGraphs}): the fp32 graph appears on first use, once, recorded
 * with its hash; a damaged graph is refused in one line; a missing or stale one is exported again;
 * the int8 graph is never made behind the user's back; and {@link OnnxBackend} on the exported graph
 * computes what {@link TorchBackend} computes on the weights. The bundles are random ResNet-18s
 * written by hand ({@link Bundles}): no training, no shared data.
 */
class OnnxGraphsTest {

    static final List<String> CLASSES = List.of("a", "b", "c");
    static final int SIZE = 32;
    static final double TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    Path bundle() throws IOException {
        return Bundles.random(tmp.resolve("model"), CLASSES, SIZE, 7);
    }

    @Test
    void aBundleWithoutAGraphGetsOneOnFirstUseAndKeepsIt() throws Exception {
        Path dir = bundle();
        Path file = dir.resolve(OnnxGraphs.FP32_FILE);
        assertFalse(Files.exists(file));
        assertTrue(ModelBundle.readManifest(dir).graphs().isEmpty());

        OnnxGraphs.Loaded first = OnnxGraphs.load(dir, OnnxBackend.FP32);

        assertEquals(file, first.file());
        assertTrue(Files.isRegularFile(file));
        assertArrayEquals(Files.readAllBytes(file), first.bytes());
        ModelManifest m = ModelBundle.readManifest(dir);
        ModelManifest.Graph g = m.graphs().get(OnnxBackend.FP32);
        assertNotNull(g, "the manifest records the graph: " + m.graphs());
        assertEquals(OnnxGraphs.FP32_FILE, g.file());
        assertEquals(Hashing.sha256Hex(file), g.sha256());
        assertEquals(Hashing.sha256Hex(dir.resolve(ModelBundle.WEIGHTS)), g.weightsSha256());
        assertEquals(m.weightsSha256(), g.weightsSha256());
        assertEquals("fp32", g.precision());
        assertEquals(ResNet18Onnx.OPSET, g.opset());
        assertEquals(g, first.manifest().graphs().get(OnnxBackend.FP32), "what load returns is what it wrote");
        assertEquals(List.of(), temporaryFiles(dir));

        // the second use reads it: neither the graph nor the manifest is written again (a rename would
        // give the file another inode)
        Object graphKey = key(file);
        Object manifestKey = key(dir.resolve(ModelBundle.MANIFEST));
        byte[] manifestBytes = Files.readAllBytes(dir.resolve(ModelBundle.MANIFEST));
        byte[] graphBytes = Files.readAllBytes(file);
        var graphTime = Files.getLastModifiedTime(file);
        OnnxGraphs.Loaded second = OnnxGraphs.load(dir, OnnxBackend.FP32);
        assertArrayEquals(first.bytes(), second.bytes());
        assertEquals(graphKey, key(file));
        assertEquals(manifestKey, key(dir.resolve(ModelBundle.MANIFEST)));
        assertEquals(graphTime, Files.getLastModifiedTime(file));
        assertArrayEquals(graphBytes, Files.readAllBytes(file));
        assertArrayEquals(manifestBytes, Files.readAllBytes(dir.resolve(ModelBundle.MANIFEST)));
        assertEquals(g, second.manifest().graphs().get(OnnxBackend.FP32));
    }

    @Test
    void manyThreadsLoadingAtOnceExportOnce() throws Exception {
        Path dir = bundle();
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<OnnxGraphs.Loaded>> loads = new ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                loads.add(pool.submit(() -> {
                    ready.countDown();
                    go.await();
                    return OnnxGraphs.load(dir, OnnxBackend.FP32);
                }));
            }
            assertTrue(ready.await(30, TimeUnit.SECONDS));
            go.countDown();
            List<OnnxGraphs.Loaded> results = new ArrayList<>();
            for (Future<OnnxGraphs.Loaded> f : loads) {
                results.add(f.get(120, TimeUnit.SECONDS));
            }

            Path file = dir.resolve(OnnxGraphs.FP32_FILE);
            byte[] bytes = Files.readAllBytes(file);
            ModelManifest.Graph g = ModelBundle.readManifest(dir).graphs().get(OnnxBackend.FP32);
            assertNotNull(g);
            assertEquals(Hashing.sha256Hex(bytes), g.sha256());
            for (OnnxGraphs.Loaded r : results) {
                assertArrayEquals(bytes, r.bytes());
                // one export: every thread got the one record (a second export records another time)
                assertEquals(g, r.manifest().graphs().get(OnnxBackend.FP32));
            }
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(
                        List.of(OnnxGraphs.LOCK_FILE, ModelBundle.MANIFEST, OnnxGraphs.FP32_FILE, ModelBundle.WEIGHTS),
                        files.map(p -> p.getFileName().toString()).sorted().toList());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aDamagedGraphIsRefusedInOneLineNamingTheFileAndLeftAsItIs() throws Exception {
        Path dir = bundle();
        OnnxGraphs.load(dir, OnnxBackend.FP32);
        Path file = dir.resolve(OnnxGraphs.FP32_FILE);
        byte[] bytes = Files.readAllBytes(file);
        for (int i = bytes.length / 2; i < bytes.length / 2 + 4; i++) {
            bytes[i] ^= (byte) 0xff;
        }
        Files.write(file, bytes);

        MedsearchException e = assertThrows(MedsearchException.class, () -> OnnxGraphs.load(dir, OnnxBackend.FP32));
        assertOneLine(e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("does not match its manifest"), e.getMessage());
        MedsearchException viaBackend =
                assertThrows(MedsearchException.class, () -> OnnxBackend.open(dir, OnnxBackend.FP32));
        assertEquals(e.getMessage(), viaBackend.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(file), "the damaged file is the user's to look at");
    }

    @Test
    void aGraphHalfWrittenByAKilledProcessIsCleanedUpByTheNextExport() throws Exception {
        Path dir = bundle();
        Path stale = dir.resolve("." + OnnxGraphs.FP32_FILE + "12345.tmp");
        Files.write(stale, new byte[] {1, 2, 3}); // what a kill -9 in the middle of the write leaves
        OnnxGraphs.load(dir, OnnxBackend.FP32);
        assertFalse(Files.exists(stale), "the stale temporary file is gone");
        assertTrue(Files.isRegularFile(dir.resolve(OnnxGraphs.FP32_FILE)));
    }

    @Test
    void aDeletedGraphIsExportedAgain() throws Exception {
        Path dir = bundle();
        byte[] before = OnnxGraphs.load(dir, OnnxBackend.FP32).bytes();
        Path file = dir.resolve(OnnxGraphs.FP32_FILE);
        Files.delete(file);

        OnnxGraphs.Loaded again = OnnxGraphs.load(dir, OnnxBackend.FP32);
        assertTrue(Files.isRegularFile(file));
        assertArrayEquals(before, Files.readAllBytes(file), "the export is deterministic");
        assertArrayEquals(before, again.bytes());
        assertEquals(
                Hashing.sha256Hex(file),
                ModelBundle.readManifest(dir).graphs().get(OnnxBackend.FP32).sha256());
    }

    @Test
    void aGraphOfOtherWeightsIsExportedAgain() throws Exception {
        Path dir = bundle();
        Path file = dir.resolve(OnnxGraphs.FP32_FILE);
        byte[] old = OnnxGraphs.load(dir, OnnxBackend.FP32).bytes();
        String oldWeights = ModelBundle.readManifest(dir).weightsSha256();

        // new weights, recorded in the manifest; the graph entry still names the old ones
        Bundles.replaceWeights(dir, 8);
        ModelManifest stale = ModelBundle.readManifest(dir);
        assertEquals(oldWeights, stale.graphs().get(OnnxBackend.FP32).weightsSha256());
        assertNotEquals(oldWeights, stale.weightsSha256());

        OnnxGraphs.Loaded fresh = OnnxGraphs.load(dir, OnnxBackend.FP32);
        ModelManifest.Graph g = ModelBundle.readManifest(dir).graphs().get(OnnxBackend.FP32);
        assertEquals(stale.weightsSha256(), g.weightsSha256());
        assertEquals(Hashing.sha256Hex(file), g.sha256());
        assertFalse(java.util.Arrays.equals(old, fresh.bytes()), "the graph of the new weights");
        assertArrayEquals(fresh.bytes(), Files.readAllBytes(file));
        assertEquals(List.of(), temporaryFiles(dir));

        // the same when only the record is stale: the file matches its hash, but not the weights
        ModelManifest m = ModelBundle.readManifest(dir);
        ModelManifest.Graph wrong = new ModelManifest.Graph(
                g.file(),
                g.sha256(),
                "0".repeat(64),
                g.opset(),
                g.precision(),
                g.calibration(),
                g.createdBy(),
                g.createdAt());
        Json.write(dir.resolve(ModelBundle.MANIFEST), m.withGraph(OnnxBackend.FP32, wrong));
        OnnxGraphs.load(dir, OnnxBackend.FP32);
        assertEquals(
                m.weightsSha256(),
                ModelBundle.readManifest(dir).graphs().get(OnnxBackend.FP32).weightsSha256());
    }

    @Test
    void int8WithoutAQuantizedGraphAsksForQuantizeInOneLine() throws Exception {
        Path dir = bundle();
        MedsearchException none = assertThrows(MedsearchException.class, () -> OnnxGraphs.load(dir, OnnxBackend.INT8));
        assertOneLine(none.getMessage());
        assertTrue(none.getMessage().contains("medsearch quantize"), none.getMessage());
        assertFalse(Files.exists(dir.resolve(OnnxGraphs.INT8_FILE)));
        assertFalse(Files.exists(dir.resolve(OnnxGraphs.FP32_FILE)), "asking for int8 exports nothing");
        assertTrue(ModelBundle.readManifest(dir).graphs().isEmpty());
        MedsearchException viaBackend =
                assertThrows(MedsearchException.class, () -> OnnxBackend.open(dir, OnnxBackend.INT8));
        assertEquals(none.getMessage(), viaBackend.getMessage());

        // an int8 graph of earlier weights is not used either
        OnnxGraphs.load(dir, OnnxBackend.FP32);
        Files.write(dir.resolve(OnnxGraphs.INT8_FILE), new byte[] {1, 2, 3});
        ModelManifest m = ModelBundle.readManifest(dir);
        Json.write(
                dir.resolve(ModelBundle.MANIFEST),
                m.withGraph(
                        OnnxBackend.INT8,
                        new ModelManifest.Graph(
                                OnnxGraphs.INT8_FILE,
                                Hashing.sha256Hex(new byte[] {1, 2, 3}),
                                "0".repeat(64),
                                ResNet18Onnx.OPSET,
                                "int8",
                                null,
                                "test",
                                "2026-01-01T00:00:00Z")));
        MedsearchException stale = assertThrows(MedsearchException.class, () -> OnnxGraphs.load(dir, OnnxBackend.INT8));
        assertOneLine(stale.getMessage());
        assertTrue(stale.getMessage().contains("medsearch quantize"), stale.getMessage());
        assertTrue(stale.getMessage().contains("current weights"), stale.getMessage());
    }

    /**
     * A bundle the process cannot write to (a read-only mount, an immutable folder, no permission)
     * still runs: its graph is exported into memory, and nothing is written. Made unwritable with
     * {@code chmod} where that suffices, else (as root) with {@code chattr +i}; skipped where neither
     * does it.
     */
    @Test
    void aBundleThatCannotBeWrittenIsExportedIntoMemory() throws Exception {
        Path dir = bundle();
        byte[] manifest = Files.readAllBytes(dir.resolve(ModelBundle.MANIFEST));
        Runnable restore = unwritable(dir);
        try {
            OnnxGraphs.Loaded g = OnnxGraphs.load(dir, OnnxBackend.FP32);
            assertEquals(null, g.file());
            assertTrue(g.bytes().length > 1_000_000, "a whole graph: " + g.bytes().length + " bytes");
            try (EmbeddingBackend b = OnnxBackend.open(dir, OnnxBackend.FP32)) {
                float[] x = new float[b.preprocessing().inputLength()];
                assertEquals(CLASSES.size(), b.embed(x, 1).get(0).probabilities().length);
            }
        } finally {
            restore.run();
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(
                    List.of(ModelBundle.MANIFEST, ModelBundle.WEIGHTS),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertArrayEquals(manifest, Files.readAllBytes(dir.resolve(ModelBundle.MANIFEST)));
    }

    /** Makes {@code dir} unwritable; returns what undoes it. Skips the test where that cannot be done. */
    static Runnable unwritable(Path dir) throws Exception {
        dir.toFile().setWritable(false, false);
        if (!canWrite(dir)) {
            return () -> dir.toFile().setWritable(true, true);
        }
        dir.toFile().setWritable(true, true);
        boolean immutable;
        try {
            Process p = new ProcessBuilder("chattr", "+i", dir.toString())
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            immutable = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            immutable = false; // no chattr
        }
        Runnable undo = () -> {
            try {
                Process p = new ProcessBuilder("chattr", "-i", dir.toString())
                        .redirectErrorStream(true)
                        .start();
                p.getInputStream().readAllBytes();
                assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "chattr -i " + dir);
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        };
        if (immutable && !canWrite(dir)) {
            return undo;
        }
        if (immutable) {
            undo.run();
        }
        org.junit.jupiter.api.Assumptions.abort("cannot make a folder unwritable here (root without chattr +i)");
        return null;
    }

    static boolean canWrite(Path dir) {
        try {
            Files.delete(Files.createFile(dir.resolve("probe")));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void theOnnxBackendComputesWhatTheTorchBackendComputes() throws Exception {
        Path dir = bundle();
        int n = 4;
        try (EmbeddingBackend onnx = OnnxBackend.open(dir, OnnxBackend.FP32);
                EmbeddingBackend torch = TorchBackend.load(dir)) {
            assertEquals("onnx", onnx.name());
            assertEquals(torch.fingerprint(), onnx.fingerprint());
            assertEquals(torch.preprocessing(), onnx.preprocessing());
            int len = onnx.preprocessing().inputLength();
            Random rnd = new Random(42);
            float[] nhwc = new float[n * len];
            for (int i = 0; i < nhwc.length; i++) {
                nhwc[i] = (float) rnd.nextGaussian();
            }
            List<Embedding> a = onnx.embed(nhwc, n);
            List<Embedding> b = torch.embed(nhwc, n);
            assertEquals(n, a.size());
            double featureScale = 0;
            for (int i = 0; i < n; i++) {
                Embedding x = a.get(i);
                Embedding y = b.get(i);
                assertEquals(ResNet18.FEATURE_DIM, x.vector().length);
                assertEquals(CLASSES.size(), x.probabilities().length);
                assertClose(y.vector(), x.vector(), "features of image " + i);
                assertClose(y.probabilities(), x.probabilities(), "probabilities of image " + i);
                assertEquals(y.predictedClass(), x.predictedClass(), "predicted class of image " + i);
                for (float v : y.vector()) {
                    featureScale = Math.max(featureScale, Math.abs(v));
                }
            }
            // the comparison means something: the features are not all zero, the images not all alike
            assertTrue(featureScale > 0.1, "largest feature " + featureScale);
            assertFalse(java.util.Arrays.equals(a.get(0).vector(), a.get(1).vector()));
        }
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= TOLERANCE, what + ": max abs difference " + worst + " > " + TOLERANCE);
    }

    static void assertOneLine(String message) {
        assertNotNull(message);
        assertFalse(message.isBlank());
        assertEquals(1, message.lines().count(), "one line: " + message);
        assertFalse(message.contains("\n") || message.contains("\r"), message);
    }

    static Object key(Path file) throws IOException {
        Object k = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        assertNotNull(k, "this file system has no file keys");
        return k;
    }

    /** Temporary files of atomic writes ({@code .model.onnx123.tmp}) left in {@code dir}. */
    static List<String> temporaryFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".tmp"))
                    .toList();
        }
    }
}

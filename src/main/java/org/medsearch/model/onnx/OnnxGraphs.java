package org.medsearch.model.onnx;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.Tensor;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Hashing;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Version;

/**
 * The ONNX graphs inside a model bundle: {@value #FP32_FILE} (exported from the weights) and
 * {@value #INT8_FILE} ({@link Quantizer}), each recorded in the manifest's {@code graphs} with its
 * SHA-256 and the weights it was made from.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #load} returns graph bytes whose SHA-256 matches the manifest; a file that does not
 *       match is refused with a one-line {@link MedsearchException} (nothing is overwritten: a
 *       damaged file is the user's to look at).</li>
 *   <li>A bundle with no fp32 graph (made before graphs existed), or one made from other weights,
 *       gets one on first use: exactly once, even when several processes start together. Writers
 *       hold an exclusive lock on {@value #LOCK_FILE}; the graph file appears whole (written aside,
 *       forced, renamed), then the manifest is rewritten the same way. A reader that finds the work
 *       done under the lock uses it.</li>
 *   <li>A bundle the process cannot write to (no permission, a read-only mount, an immutable
 *       folder) is exported into memory each time instead, with the weights' hash checked as
 *       {@link ModelBundle#load} checks it.</li>
 * </ul>
 *
 * <pre>{@code
 * OnnxGraphs.Loaded g = OnnxGraphs.load(Path.of("model"), OnnxBackend.FP32);
 * }</pre>
 */
public final class OnnxGraphs {
    private OnnxGraphs() {}

    public static final String FP32_FILE = "model.onnx";
    public static final String INT8_FILE = "model-int8.onnx";
    public static final String LOCK_FILE = ".graphs.lock";

    /** File locks are per process; this keeps two threads of one process from both taking it. */
    private static final ReentrantLock IN_PROCESS = new ReentrantLock();

    /** A verified graph and the manifest that records it. */
    public record Loaded(ModelManifest manifest, byte[] bytes, Path file) {}

    /** The verified graph of {@code runtime} ({@link OnnxBackend#FP32} or {@link OnnxBackend#INT8}). */
    public static Loaded load(Path dir, String runtime) throws MedsearchException {
        ModelManifest m = ModelBundle.readManifest(dir);
        ModelManifest.Graph g = m.graphs().get(runtime);
        if (current(m, g) && Files.isRegularFile(dir.resolve(g.file()))) {
            return new Loaded(m, verified(dir, g), dir.resolve(g.file()));
        }
        if (OnnxBackend.INT8.equals(runtime)) {
            throw new MedsearchException(dir + " has no int8 graph"
                    + (g == null ? "" : " for its current weights") + ": make one with 'medsearch quantize --model "
                    + dir + "'");
        }
        if (!OnnxBackend.FP32.equals(runtime)) {
            throw new IllegalArgumentException("unknown ONNX runtime " + runtime);
        }
        return exportFp32(dir);
    }

    /**
     * Exports the fp32 graph into the bundle if it has none for its current weights (see the class
     * contract); returns it. Training calls this at its end.
     */
    public static Loaded exportFp32(Path dir) throws MedsearchException {
        try {
            return underLock(dir, () -> {
                ModelManifest m = ModelBundle.readManifest(dir);
                ModelManifest.Graph g = m.graphs().get(OnnxBackend.FP32);
                if (current(m, g) && Files.isRegularFile(dir.resolve(g.file()))) {
                    return new Loaded(m, verified(dir, g), dir.resolve(g.file())); // another process did it
                }
                byte[] bytes = OnnxCodec.write(fromBundle(dir, m));
                Path file = dir.resolve(FP32_FILE);
                FileUtil.writeAtomically(file, bytes);
                ModelManifest updated = m.withGraph(OnnxBackend.FP32, record(FP32_FILE, bytes, m, "fp32", null));
                Json.write(dir.resolve(ModelBundle.MANIFEST), updated);
                return new Loaded(updated, bytes, file);
            });
        } catch (FileSystemException e) {
            // not AccessDeniedException alone: a read-only mount (EROFS) or an immutable folder (EPERM)
            // is a FileSystemException of its own
            ModelManifest m = ModelBundle.readManifest(dir);
            return new Loaded(m, OnnxCodec.write(fromBundle(dir, m)), null);
        } catch (IOException e) {
            throw new MedsearchException("cannot write the ONNX graph into " + dir + ": " + e.getMessage());
        }
    }

    /** Records an int8 graph made by {@link Quantizer} in the bundle (same locking as the export). */
    public static ModelManifest saveInt8(Path dir, byte[] bytes, Map<String, Object> calibration)
            throws MedsearchException {
        try {
            return underLock(dir, () -> {
                ModelManifest m = ModelBundle.readManifest(dir);
                FileUtil.writeAtomically(dir.resolve(INT8_FILE), bytes);
                ModelManifest updated = m.withGraph(OnnxBackend.INT8, record(INT8_FILE, bytes, m, "int8", calibration));
                Json.write(dir.resolve(ModelBundle.MANIFEST), updated);
                return updated;
            });
        } catch (IOException e) {
            throw new MedsearchException("cannot write the int8 graph into " + dir + ": " + e.getMessage());
        }
    }

    /** The fp32 graph of a bundle's weights, checked against the manifest's hash. */
    static OnnxModel fromBundle(Path dir, ModelManifest m) throws MedsearchException {
        return fromBundle(dir, m, false);
    }

    /** As {@link #fromBundle(Path, ModelManifest)}, with the feature map output for explanations. */
    public static OnnxModel fromBundle(Path dir, ModelManifest m, boolean withFeatureMap) throws MedsearchException {
        Map<String, Tensor> sd = ModelBundle.readWeights(dir, m);
        try {
            return ResNet18Onnx.build(sd, m.classes().size(), m.preprocessing().imageSize(), withFeatureMap);
        } catch (IllegalArgumentException e) {
            throw new MedsearchException("cannot read " + dir.resolve(m.weightsFile()) + ": " + e.getMessage());
        }
    }

    private static boolean current(ModelManifest m, ModelManifest.Graph g) {
        return g != null
                && g.file() != null
                && m.weightsSha256() != null
                && m.weightsSha256().equals(g.weightsSha256());
    }

    private static byte[] verified(Path dir, ModelManifest.Graph g) throws MedsearchException {
        Path file = dir.resolve(g.file()).normalize();
        if (!file.startsWith(dir.normalize())) {
            throw new MedsearchException(dir + ": graph file '" + g.file() + "' lies outside the model");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new MedsearchException("cannot read " + file + ": " + e.getMessage());
        }
        String sha = Hashing.sha256Hex(bytes);
        if (!sha.equals(g.sha256())) {
            throw ModelBundle.mismatch(
                    file,
                    sha,
                    g.sha256(),
                    "the graph is damaged or was modified; "
                            + ("int8".equals(g.precision())
                                    ? "make it again with 'medsearch quantize'"
                                    : "delete it and medsearch exports it again"));
        }
        return bytes;
    }

    private static ModelManifest.Graph record(
            String file, byte[] bytes, ModelManifest m, String precision, Map<String, Object> calibration) {
        return new ModelManifest.Graph(
                file,
                Hashing.sha256Hex(bytes),
                m.weightsSha256(),
                ResNet18Onnx.OPSET,
                precision,
                calibration,
                Version.current(),
                Instant.now().toString());
    }

    private interface Work<T> {
        T run() throws IOException, MedsearchException;
    }

    /**
     * Graph files half-written by a process killed while it held the lock: under the lock nobody else
     * writes them, so any left is stale.
     */
    private static void removeStaleTemporaries(Path dir) throws IOException {
        for (String name : List.of(FP32_FILE, INT8_FILE)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "." + name + "*.tmp")) {
                for (Path p : ds) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @SuppressWarnings("try") // the lock is held for the work's duration and never read
    private static <T> T underLock(Path dir, Work<T> work) throws IOException, MedsearchException {
        IN_PROCESS.lock();
        try (FileChannel ch =
                        FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            removeStaleTemporaries(dir);
            return work.run();
        } finally {
            IN_PROCESS.unlock();
        }
    }
}

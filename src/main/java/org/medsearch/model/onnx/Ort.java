package org.medsearch.model.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.medsearch.dataset.MedNist;
import org.medsearch.util.FileUtil;
import org.medsearch.util.MedsearchException;

/**
 * The one place that starts ONNX Runtime, so that every entry point runs it the same way.
 *
 * <p>Left to itself, ONNX Runtime's Java loader unpacks its native libraries into a new
 * {@code /tmp/onnxruntime-java*} folder at every start and leaves the folder behind. Here they are
 * unpacked once into medsearch's cache ({@code <cache>/onnxruntime/<version>-<platform>/}, atomically,
 * so two processes starting together agree) and loaded from there through the loader's
 * {@code onnxruntime.native.path} property. The loader still makes its (empty) temp folder (in
 * {@code java.io.tmpdir}), and the library's telemetry SDK makes an SQLite store under
 * {@code $XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime} (else {@code $HOME/.cache/...}: the
 * environment's {@code HOME}, which need not be Java's {@code user.home}), an empty
 * {@code mat-debug-<pid>.log} and a session file {@code .ses} in {@code $TMPDIR} (else {@code /tmp};
 * not {@code java.io.tmpdir}) as the environment starts. Telemetry is switched off at once
 * ({@code setTelemetry(false)}), and what the start made and was not there before is removed again,
 * right away and at exit, so a run leaves nothing behind.
 *
 * <p>Pitfall: ONNX Runtime 1.29.0 crashes the JVM (SIGSEGV, no hs_err file) while it starts when
 * the process's command line is longer than about 4 KB, as a {@code java -cp} with a hundred jars
 * makes it. The launcher ({@code java -jar}) and Maven's test runners (a manifest-only jar) keep it
 * short.
 *
 * <p>Threads: each session gets {@code MEDSEARCH_THREADS} intra-op threads (default: the available
 * processors), one inter-op thread, and threads that sleep rather than spin when idle: on a 2-core
 * machine a spinning pool steals the cores that decoding and the server need.
 *
 * <pre>{@code
 * try (OrtSession s = Ort.environment().createSession(bytes, Ort.options())) { ... }
 * }</pre>
 */
public final class Ort {
    private Ort() {}

    /** The ONNX Runtime version the jar carries. */
    public static final String VERSION = "1.29.0";

    private static volatile OrtEnvironment env;
    private static volatile Leftovers startState;

    /** A new session on {@code graph}, with {@link #options()}. */
    public static OrtSession session(byte[] graph) throws OrtException, MedsearchException {
        try (OrtSession.SessionOptions o = options()) {
            return environment().createSession(graph, o);
        } finally {
            Leftovers l = startState;
            if (l != null) {
                l.removeNewEmpty();
            }
        }
    }

    /** The process's environment; the first call unpacks and loads the native library. */
    public static OrtEnvironment environment() throws MedsearchException {
        OrtEnvironment e = env;
        if (e != null) {
            return e;
        }
        synchronized (Ort.class) {
            if (env == null) {
                Leftovers before = Leftovers.now();
                try {
                    if (System.getProperty("onnxruntime.native.path") == null) {
                        System.setProperty(
                                "onnxruntime.native.path",
                                unpack(MedNist.cacheDir()).toString());
                    }
                    OrtEnvironment e2 =
                            OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "medsearch");
                    e2.setTelemetry(false);
                    env = e2;
                } catch (IOException | UnsatisfiedLinkError | IllegalStateException | OrtException e2) {
                    throw new MedsearchException("cannot start ONNX Runtime: " + e2.getMessage()
                            + " (use --runtime torch to run on PyTorch instead)");
                } finally {
                    before.removeNewEmpty();
                }
                // the telemetry folder appears later (with the first session, or at exit)
                startState = before;
                Runtime.getRuntime().addShutdownHook(new Thread(before::removeNewEmpty, "onnxruntime-cleanup"));
            }
            return env;
        }
    }

    /** Session options for inference on this machine (see the class comment for the threads). */
    public static OrtSession.SessionOptions options() throws OrtException, MedsearchException {
        environment(); // the native library must be loaded our way before any other ONNX Runtime class
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(threads());
        o.setInterOpNumThreads(1);
        o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        o.addConfigEntry("session.intra_op.allow_spinning", "0");
        o.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
        return o;
    }

    /** Intra-op threads: {@code MEDSEARCH_THREADS} if set, else the available processors. */
    public static int threads() {
        String t = System.getenv("MEDSEARCH_THREADS");
        if (t != null && t.matches("\\d{1,4}") && Integer.parseInt(t) > 0) {
            return Integer.parseInt(t);
        }
        return Runtime.getRuntime().availableProcessors();
    }

    private static final List<String> LIBRARIES = List.of("libonnxruntime.so", "libonnxruntime4j_jni.so");

    /** Unpacks the native libraries into the cache once; returns their folder. */
    static Path unpack(Path cache) throws IOException {
        String platform = platform();
        Path dir = cache.resolve("onnxruntime").resolve(VERSION + "-" + platform);
        Files.createDirectories(dir);
        for (String lib : LIBRARIES) {
            String resource = "/ai/onnxruntime/native/" + platform + "/" + lib;
            Path target = dir.resolve(lib);
            try (InputStream in = OrtEnvironment.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IOException("this build of ONNX Runtime has no native library for " + platform);
                }
                if (Files.isRegularFile(target) && Files.size(target) > 0) {
                    continue; // unpacked by an earlier run (each file appears whole: written aside, then renamed)
                }
                FileUtil.writeAtomically(target, in::transferTo);
            }
        }
        return dir;
    }

    private static String platform() throws IOException {
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(java.util.Locale.ROOT);
        if (!os.contains("linux")) {
            throw new IOException("medsearch runs ONNX Runtime on Linux only (this is " + os + ")");
        }
        return switch (arch) {
            case "amd64", "x86_64" -> "linux-x64";
            case "aarch64", "arm64" -> "linux-aarch64";
            default -> throw new IOException("no ONNX Runtime library for " + arch);
        };
    }

    /**
     * What ONNX Runtime leaves on disk at start: new empty folders, an empty log, the telemetry store
     * and its session file (see the class comment for where each goes).
     */
    private record Leftovers(Set<Path> tempFolders, List<Path> newTelemetryFolders, boolean sessionFile) {
        /** Where the Java loader makes its folder. */
        static Path tmp() {
            return Path.of(System.getProperty("java.io.tmpdir"));
        }

        /** Where the native library writes its log and session file. */
        static Path nativeTmp() {
            String t = System.getenv("TMPDIR");
            return Path.of(t != null && !t.isBlank() ? t : "/tmp");
        }

        static Path telemetry() {
            String xdg = System.getenv("XDG_CACHE_HOME");
            String home = System.getenv("HOME");
            Path cache = xdg != null && !xdg.isBlank()
                    ? Path.of(xdg)
                    : Path.of(home != null && !home.isBlank() ? home : System.getProperty("user.home"), ".cache");
            return cache.resolve("Microsoft").resolve("DeveloperTools");
        }

        static Path session() {
            return nativeTmp().resolve(".ses");
        }

        static Leftovers now() {
            Set<Path> temp = new HashSet<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp(), "onnxruntime-java*")) {
                ds.forEach(temp::add);
            } catch (IOException e) {
                // nothing listed: nothing will be removed
            }
            // the store's folder and those above it that do not exist yet, innermost first: the SDK makes
            // them all (in a fresh HOME, .cache too)
            List<Path> fresh = new java.util.ArrayList<>();
            Path t = telemetry();
            for (Path p : List.of(
                    t.resolve(".onnxruntime"), t, t.getParent(), t.getParent().getParent())) {
                if (Files.exists(p)) {
                    break;
                }
                fresh.add(p);
            }
            return new Leftovers(temp, List.copyOf(fresh), Files.exists(session()));
        }

        void removeNewEmpty() {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp(), "onnxruntime-java*")) {
                for (Path p : ds) {
                    if (!tempFolders.contains(p)) {
                        deleteIfEmpty(p);
                    }
                }
            } catch (IOException e) {
                // best effort: an empty folder in the temp directory
            }
            String log = "mat-debug-" + ProcessHandle.current().pid() + ".log";
            for (Path dir : List.of(tmp(), nativeTmp()).stream().distinct().toList()) {
                try {
                    Path l = dir.resolve(log);
                    if (Files.isRegularFile(l) && Files.size(l) == 0) {
                        Files.delete(l);
                    }
                } catch (IOException e) {
                    // best effort
                }
            }
            if (!sessionFile) {
                try {
                    Files.deleteIfExists(session());
                } catch (IOException e) {
                    // best effort
                }
            }
            if (!newTelemetryFolders.isEmpty()) {
                try {
                    FileUtil.deleteTree(newTelemetryFolders.get(0));
                } catch (IOException e) {
                    // best effort: the store may be being written; the exit hook tries again
                }
                for (Path p : newTelemetryFolders.subList(1, newTelemetryFolders.size())) {
                    if (!deleteIfEmpty(p)) {
                        break;
                    }
                }
            }
        }

        private static boolean deleteIfEmpty(Path dir) {
            try {
                Files.delete(dir); // refused for a folder that is not empty
                return true;
            } catch (IOException e) {
                return false;
            }
        }
    }
}

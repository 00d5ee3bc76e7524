package org.medsearch.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.medsearch.image.Preprocessing;

/**
 * The one place that starts DJL's PyTorch engine, so that every entry point (CLI, server, tests)
 * runs it the same way: offline (no telemetry, no downloads: the native library comes from the
 * {@code pytorch-native-cpu} jar), on the CPU, with {@code MEDSEARCH_THREADS} intra-op threads when
 * set. {@code OMP_WAIT_POLICY=PASSIVE} must be set in the environment by the launcher: OpenMP reads
 * it before Java can.
 *
 * <pre>{@code
 * try (NDManager m = Engines.newManager()) { ... }
 * }</pre>
 */
public final class Engines {
    private static volatile boolean configured;

    private Engines() {}

    /** Sets DJL's system properties; idempotent, and must run before the engine loads. */
    public static synchronized void configure() {
        if (configured) {
            return;
        }
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("ai.djl.pytorch.graph_optimizer", "false");
        String threads = System.getenv("MEDSEARCH_THREADS");
        if (threads != null && threads.matches("\\d+") && Integer.parseInt(threads) > 0) {
            System.setProperty("ai.djl.pytorch.num_threads", threads);
        }
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        configured = true;
    }

    /** A new root manager on the CPU. */
    public static NDManager newManager() {
        configure();
        return NDManager.newBaseManager(Device.cpu(), "PyTorch");
    }

    /** "PyTorch 2.7.1 (DJL 0.36.0)". */
    public static String versions() {
        configure();
        return "PyTorch " + Engine.getEngine("PyTorch").getVersion() + " (DJL " + Engine.getDjlVersion() + ")";
    }

    public static String pytorchVersion() {
        configure();
        return Engine.getEngine("PyTorch").getVersion();
    }

    public static String djlVersion() {
        configure();
        return Engine.getDjlVersion();
    }

    /** Intra-op threads the engine uses. */
    public static int threads() {
        configure();
        Engine.getEngine("PyTorch");
        return TorchOps.numThreads();
    }

    /**
     * A (N, 3, S, S) network input from channels-last floats, without copying them twice: the array
     * is NHWC in memory (see {@link ResNet18}'s note on channels-last), NCHW in shape.
     */
    public static NDArray input(NDManager m, float[] nhwc, int n, Preprocessing prep) {
        int s = prep.imageSize();
        return m.create(nhwc, new Shape(n, s, s, Preprocessing.CHANNELS)).transpose(0, 3, 1, 2);
    }

    /** Turns autograd off on the calling thread (PyTorch's grad mode is per thread). */
    public static void inferenceOnThisThread() {
        TorchOps.setGradMode(false);
    }
}

package org.medsearch.model;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The only class that touches DJL's PyTorch internals ({@code ai.djl.pytorch.*}: {@link JniUtils},
 * {@link PtNDArray}); everything else in medsearch uses DJL's engine-neutral API. Each method is here
 * because that API cannot express it. Keeping them in one place keeps the PyTorch dependency of
 * {@link ResNet18}, {@link Trainer} and {@link Engines} visible, and {@code TorchInternalsTest}
 * keeps it here.
 *
 * <p>All methods are thin: no copies, no checks beyond the casts, so the hot paths cost what the
 * direct calls cost.
 */
final class TorchOps {

    private TorchOps() {}

    /**
     * Sets autograd on or off for the calling thread and returns what was set before. PyTorch's grad
     * mode is per thread, and DJL's API switches it only inside a {@code GradientCollector}; inference
     * must run with it off (or every forward pass records a graph), and so must the optimiser's in-place
     * updates of leaves that require gradients (which PyTorch refuses while recording).
     *
     * <pre>{@code
     * boolean before = TorchOps.setGradMode(false);
     * try {
     *     w.subi(u);
     * } finally {
     *     TorchOps.setGradMode(before);
     * }
     * }</pre>
     */
    static boolean setGradMode(boolean on) {
        boolean before = JniUtils.isGradMode();
        JniUtils.setGradMode(on);
        return before;
    }

    /** Intra-op threads PyTorch uses; DJL's {@code Engine} does not report them. */
    static int numThreads() {
        return JniUtils.getNumThreads();
    }

    /**
     * PyTorch's {@code batch_norm} over axis 1, with PyTorch's momentum convention ({@code running =
     * (1 - momentum) * running + momentum * batch}); in training mode it updates {@code runningMean} and
     * {@code runningVar} in place. DJL's public {@code BatchNorm.batchNorm} takes DJL's convention and
     * passes {@code 1 - momentum} computed in float, so PyTorch's 0.1 would arrive as 0.100000024 and the
     * running statistics would drift from torch's: hence the native call.
     */
    static NDArray batchNorm(
            NDArray x,
            NDArray runningMean,
            NDArray runningVar,
            NDArray gamma,
            NDArray beta,
            boolean training,
            float momentum,
            float eps) {
        // JniUtils names its parameters (gamma, beta, mean, var), but the native call takes
        // (mean, var, gamma, beta), as PtNDArrayEx.batchNorm passes them
        return JniUtils.batchNorm(
                (PtNDArray) x,
                (PtNDArray) runningMean,
                (PtNDArray) runningVar,
                (PtNDArray) gamma,
                (PtNDArray) beta,
                training,
                momentum,
                eps);
    }
}

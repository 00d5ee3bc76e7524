package org.medsearch.model;

import java.util.Locale;

/**
 * Which engine runs a model's forward pass for indexing and search. Training always runs on
 * PyTorch ({@link Trainer}); inference can run on either.
 *
 * <ul>
 *   <li>{@link #ONNX} (the default): ONNX Runtime on the fp32 graph exported from the weights; the
 *       same features as {@link #TORCH} to 1e-4, about twice as fast on a CPU.</li>
 *   <li>{@link #ONNX_INT8}: ONNX Runtime on the static int8 graph {@code medsearch quantize} makes;
 *       faster still, with features that differ slightly (its report states by how much).</li>
 *   <li>{@link #TORCH}: DJL's PyTorch engine on the weights themselves, as training computes them.</li>
 * </ul>
 *
 * <pre>{@code
 * InferenceRuntime rt = InferenceRuntime.parse("onnx-int8");
 * }</pre>
 */
public enum InferenceRuntime {
    ONNX("onnx"),
    ONNX_INT8("onnx-int8"),
    TORCH("torch");

    /** What {@code --runtime} defaults to. */
    public static final InferenceRuntime DEFAULT = ONNX;

    private final String label;

    InferenceRuntime(String label) {
        this.label = label;
    }

    /** "onnx", "onnx-int8" or "torch": the CLI spelling and the backend's {@link EmbeddingBackend#name()}. */
    public String label() {
        return label;
    }

    /** Parses a label, case-insensitively. */
    public static InferenceRuntime parse(String s) {
        for (InferenceRuntime r : values()) {
            if (r.label.equalsIgnoreCase(s.trim())) {
                return r;
            }
        }
        throw new IllegalArgumentException(
                "unknown runtime '" + s + "': expected onnx, onnx-int8 or torch".toLowerCase(Locale.ROOT));
    }

    @Override
    public String toString() {
        return label;
    }
}

package org.medsearch.model.onnx;

import java.util.List;
import java.util.Map;
import org.medsearch.model.ResNet18;
import org.medsearch.model.Tensor;
import org.medsearch.util.Version;

/**
 * torchvision's ResNet-18 as an ONNX graph, built from a state dict in plain Java: BatchNorm folded
 * into each convolution (in double precision, as {@link ResNet18}'s inference path does), a dynamic
 * batch axis, and two outputs.
 *
 * <p>Contract: input {@value #INPUT}, float32 {@code (N, size, size, 3)}, channels last, exactly as
 * {@link org.medsearch.image.Preprocessing#apply} writes it (the graph transposes it once); outputs
 * {@value #FEATURES} {@code (N, 512)}, the global-average-pool features, and {@value #LOGITS}
 * {@code (N, classes)}. On the same weights and input it computes what {@link ResNet18#forward}
 * computes in inference mode (to float rounding). Opset {@value #OPSET}.
 *
 * <pre>{@code
 * OnnxModel graph = ResNet18Onnx.build(SafeTensors.read(weights), 6, 64);
 * Files.write(dir.resolve("model.onnx"), OnnxCodec.write(graph));
 * }</pre>
 */
public final class ResNet18Onnx {
    private ResNet18Onnx() {}

    public static final String INPUT = "input";
    public static final String FEATURES = "features";
    public static final String LOGITS = "logits";
    /** The last convolutional block's output {@code (N, 512, g, g)}, before the pooling: explanation graphs only. */
    public static final String FEATURE_MAP = "feature_map";

    public static final String BATCH = "N";
    /** Opset 17: every operator here, and per-channel QuantizeLinear/DequantizeLinear for int8. */
    public static final int OPSET = 17;

    /**
     * Builds the graph.
     *
     * @param stateDict torchvision names ({@code conv1.weight}, {@code bn1.running_mean}, ...,
     *     {@code fc.bias}); float tensors
     * @param numClasses rows of {@code fc.weight}
     * @param imageSize the input side
     * @throws IllegalArgumentException when a tensor is missing or has the wrong shape
     */
    public static OnnxModel build(Map<String, Tensor> stateDict, int numClasses, int imageSize) {
        return build(stateDict, numClasses, imageSize, false);
    }

    /**
     * Builds the graph, with {@value #FEATURE_MAP} as a third output when {@code withFeatureMap}:
     * the spatial features whose average the {@value #FEATURES} are, for similarity maps.
     */
    public static OnnxModel build(
            Map<String, Tensor> stateDict, int numClasses, int imageSize, boolean withFeatureMap) {
        Map<String, long[]> layout = ResNet18.layout(numClasses);
        for (Map.Entry<String, long[]> e : layout.entrySet()) {
            if (e.getKey().endsWith("num_batches_tracked")) {
                continue;
            }
            Tensor t = stateDict.get(e.getKey());
            if (t == null || !java.util.Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException("state dict: " + e.getKey() + " is "
                        + (t == null ? "missing" : "of shape " + java.util.Arrays.toString(t.shape())) + ", expected "
                        + java.util.Arrays.toString(e.getValue()));
            }
        }
        OnnxModel m = new OnnxModel("resnet18", OPSET).producer("medsearch", Version.current());
        m.input(INPUT, OnnxModel.FLOAT, BATCH, (long) imageSize, (long) imageSize, 3L);
        String x = m.node(
                "Transpose", List.of(INPUT), List.of("input_nchw"), OnnxModel.Attribute.ints("perm", 0, 3, 1, 2));
        String h = conv(m, stateDict, x, "conv1", "bn1", 7, 2, 3);
        h = m.node("Relu", List.of(h), List.of("conv1_relu"));
        h = m.node(
                "MaxPool",
                List.of(h),
                List.of("maxpool"),
                OnnxModel.Attribute.ints("kernel_shape", 3, 3),
                OnnxModel.Attribute.ints("strides", 2, 2),
                OnnxModel.Attribute.ints("pads", 1, 1, 1, 1));
        for (int s = 0; s < 4; s++) {
            for (int b = 0; b < 2; b++) {
                String p = "layer" + (s + 1) + "." + b;
                int stride = (s > 0 && b == 0) ? 2 : 1;
                String out = conv(m, stateDict, h, p + ".conv1", p + ".bn1", 3, stride, 1);
                out = m.node("Relu", List.of(out), List.of(p + ".relu1"));
                out = conv(m, stateDict, out, p + ".conv2", p + ".bn2", 3, 1, 1);
                String identity = (s > 0 && b == 0)
                        ? conv(m, stateDict, h, p + ".downsample.0", p + ".downsample.1", 1, stride, 0)
                        : h;
                String sum = m.node("Add", List.of(out, identity), List.of(p + ".add"));
                h = m.node("Relu", List.of(sum), List.of(p + ".out"));
            }
        }
        String pooled = m.node("GlobalAveragePool", List.of(h), List.of("avgpool"));
        m.node("Flatten", List.of(pooled), List.of(FEATURES), OnnxModel.Attribute.of("axis", 1L));
        m.initializer(
                "fc.weight",
                stateDict.get("fc.weight").shape(),
                stateDict.get("fc.weight").toFloatArray());
        m.initializer(
                "fc.bias",
                stateDict.get("fc.bias").shape(),
                stateDict.get("fc.bias").toFloatArray());
        m.node(
                "Gemm",
                List.of(FEATURES, "fc.weight", "fc.bias"),
                List.of(LOGITS),
                OnnxModel.Attribute.of("transB", 1L));
        m.output(FEATURES, OnnxModel.FLOAT, BATCH, (long) ResNet18.FEATURE_DIM);
        m.output(LOGITS, OnnxModel.FLOAT, BATCH, (long) numClasses);
        if (withFeatureMap) {
            long g = grid(imageSize);
            m.node("Identity", List.of(h), List.of(FEATURE_MAP));
            m.output(FEATURE_MAP, OnnxModel.FLOAT, BATCH, (long) ResNet18.FEATURE_DIM, g, g);
        }
        return m;
    }

    /** The side of the last block's feature grid for an input side: five halvings, rounding up. */
    public static int grid(int imageSize) {
        int g = imageSize;
        for (int i = 0; i < 5; i++) {
            g = (g + 1) / 2;
        }
        return g;
    }

    /** A convolution with the BatchNorm after it folded in: y = conv(x, w * s) + (beta - mean * s). */
    private static String conv(
            OnnxModel m, Map<String, Tensor> sd, String x, String conv, String bn, int k, int stride, int pad) {
        Tensor weight = sd.get(conv + ".weight");
        ResNet18.Folded f = ResNet18.foldBatchNorm(
                weight.toFloatArray(),
                sd.get(bn + ".weight").toFloatArray(),
                sd.get(bn + ".bias").toFloatArray(),
                sd.get(bn + ".running_mean").toFloatArray(),
                sd.get(bn + ".running_var").toFloatArray());
        int out = f.bias().length;
        m.initializer(conv + ".weight", weight.shape(), f.weight());
        m.initializer(conv + ".bias", new long[] {out}, f.bias());
        return m.node(
                "Conv",
                List.of(x, conv + ".weight", conv + ".bias"),
                List.of(conv + ".out"),
                OnnxModel.Attribute.ints("kernel_shape", k, k),
                OnnxModel.Attribute.ints("strides", stride, stride),
                OnnxModel.Attribute.ints("pads", pad, pad, pad, pad));
    }
}

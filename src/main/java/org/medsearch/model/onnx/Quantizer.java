package org.medsearch.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.medsearch.util.MedsearchException;

/**
 * Static int8 quantization of a {@link ResNet18Onnx} graph, in ONNX's QDQ form: every activation
 * a convolution or a residual sum reads is quantized to uint8 with a scale and zero point measured on
 * calibration images (the smallest and largest value seen), every convolution weight to int8 with
 * one symmetric scale per output channel, and every bias to int32 at the product of its input's and
 * weight's scales. ONNX Runtime fuses each {@code DequantizeLinear -> Conv -> QuantizeLinear} into
 * one integer convolution ({@code QLinearConv}: uint8 x int8, accumulated in int32, which AVX-512
 * VNNI and AMX run natively) and each quantized {@code Add} into {@code QLinearAdd}.
 *
 * <p>What stays float, on purpose: the global average pool, the 512-d features it produces and the
 * classifier; the features are what the index compares, and pooling is too cheap to be worth 8 bits.
 * A ReLU right after a convolution or a sum is folded into that node's output quantization (zero
 * point 0 clamps the negatives), as ONNX Runtime's own quantizer does.
 *
 * <p>Contract: the result has the input and outputs of the fp32 graph (names, shapes, types) and
 * computes the same function up to quantization error; it depends only on the graph and the
 * calibration images (deterministic). Cost: one fp32 pass over the calibration images with every
 * intermediate tensor as an output (memory grows with the batch: keep batches small at 224).
 *
 * <pre>{@code
 * OnnxModel int8 = Quantizer.quantize(ResNet18Onnx.build(sd, 6, 64), batches);
 * }</pre>
 */
public final class Quantizer {
    private Quantizer() {}

    /** How the activation ranges are measured. */
    public static final String METHOD = "minmax";

    /** Activation quantization: uint8 with a zero point. */
    private static final int QMAX = 255;
    /** Weight quantization: symmetric int8, -127..127 (so that -w is representable too). */
    private static final int WMAX = 127;

    /**
     * Quantizes {@code fp32}.
     *
     * @param fp32 a graph from {@link ResNet18Onnx#build}
     * @param calibrationBatches pre-processed images, NHWC, each batch {@code n * size * size * 3} floats
     * @throws MedsearchException when there are no calibration images, or ONNX Runtime fails
     */
    public static OnnxModel quantize(OnnxModel fp32, List<float[]> calibrationBatches) throws MedsearchException {
        if (calibrationBatches.isEmpty()) {
            throw new MedsearchException("int8 quantization needs calibration images; none were given");
        }
        Map<String, float[]> ranges = calibrate(fp32, calibrationBatches);
        return rewrite(fp32, ranges);
    }

    /** The ops whose outputs may need a quantization range. */
    private static final Set<String> MEASURED = Set.of("Transpose", "Conv", "Relu", "Add", "MaxPool");

    /** Min and max of every measured tensor over all calibration images. */
    static Map<String, float[]> calibrate(OnnxModel fp32, List<float[]> batches) throws MedsearchException {
        OnnxModel probe;
        try {
            probe = OnnxCodec.read(OnnxCodec.write(fp32));
        } catch (IOException e) {
            throw new IllegalStateException("the graph does not read back", e); // it was just written
        }
        List<OnnxModel.ValueInfo> outs = new ArrayList<>(probe.outputs());
        List<String> names = new ArrayList<>();
        for (OnnxModel.Node n : probe.nodes()) {
            if (MEASURED.contains(n.opType())) {
                names.add(n.outputs().get(0));
                outs.add(new OnnxModel.ValueInfo(n.outputs().get(0), OnnxModel.FLOAT, null));
            }
        }
        probe.replaceOutputs(outs);
        List<Object> inDims = fp32.inputs().get(0).dims();
        long per = 1;
        for (int i = 1; i < inDims.size(); i++) {
            per *= ((Number) inDims.get(i)).longValue();
        }
        Map<String, float[]> ranges = new LinkedHashMap<>();
        for (String name : names) {
            ranges.put(name, new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
        }
        try (OrtSession session = Ort.session(OnnxCodec.write(probe))) {
            for (float[] batch : batches) {
                if (batch.length == 0 || batch.length % per != 0) {
                    throw new IllegalArgumentException("a calibration batch of " + batch.length
                            + " floats is not a whole number of images of " + per);
                }
                long[] shape = new long[inDims.size()];
                shape[0] = batch.length / per;
                for (int i = 1; i < shape.length; i++) {
                    shape[i] = ((Number) inDims.get(i)).longValue();
                }
                try (OnnxTensor x = OnnxTensor.createTensor(Ort.environment(), FloatBuffer.wrap(batch), shape);
                        OrtSession.Result r =
                                session.run(Map.of(fp32.inputs().get(0).name(), x), new HashSet<>(names))) {
                    for (String name : names) {
                        FloatBuffer b = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
                        float[] mm = ranges.get(name);
                        while (b.hasRemaining()) {
                            float v = b.get();
                            mm[0] = Math.min(mm[0], v);
                            mm[1] = Math.max(mm[1], v);
                        }
                    }
                }
            }
        } catch (OrtException e) {
            throw new MedsearchException("calibration failed in ONNX Runtime: " + e.getMessage());
        }
        return ranges;
    }

    /** A quantized activation: the uint8 tensor and its scale and zero point initializers. */
    private record QTensor(String q, String scale, String zeroPoint, float scaleValue) {}

    private static OnnxModel rewrite(OnnxModel fp32, Map<String, float[]> ranges) {
        OnnxModel q = new OnnxModel(fp32.graphName() + "-int8", fp32.opset())
                .producer(fp32.producer(), fp32.producerVersion());
        fp32.inputs().forEach(q::input);
        q.replaceOutputs(fp32.outputs());
        fp32.metadata().forEach(q::metadata);
        q.metadata("medsearch.precision", "int8");
        q.metadata("medsearch.calibration", METHOD);

        Map<String, List<OnnxModel.Node>> consumers = new HashMap<>();
        for (OnnxModel.Node n : fp32.nodes()) {
            for (String in : n.inputs()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        Map<String, QTensor> quantized = new HashMap<>();
        Set<OnnxModel.Node> folded = new HashSet<>();
        Rewriter w = new Rewriter(q, fp32, quantized);
        for (OnnxModel.Node n : fp32.nodes()) {
            if (folded.contains(n)) {
                continue;
            }
            switch (n.opType()) {
                case "Transpose" -> {
                    q.add(n);
                    w.quantizeOutput(n.outputs().get(0), n.outputs().get(0), ranges);
                }
                case "Conv", "Add" -> {
                    List<String> in = new ArrayList<>();
                    if (n.opType().equals("Conv")) {
                        QTensor x = quantized.get(n.inputs().get(0));
                        in.add(w.dequantize(x, n.name()));
                        in.addAll(w.convWeights(n, x));
                    } else {
                        for (String s : n.inputs()) {
                            in.add(w.dequantize(quantized.get(s), n.name()));
                        }
                    }
                    String y = n.outputs().get(0);
                    q.add(new OnnxModel.Node(n.name(), n.opType(), in, n.outputs(), n.attributes()));
                    List<OnnxModel.Node> next = consumers.getOrDefault(y, List.of());
                    if (next.size() == 1 && next.get(0).opType().equals("Relu")) {
                        folded.add(next.get(0));
                        w.quantizeOutput(y, next.get(0).outputs().get(0), ranges);
                    } else {
                        w.quantizeOutput(y, y, ranges);
                    }
                }
                case "MaxPool" -> {
                    QTensor x = quantized.get(n.inputs().get(0));
                    String y = n.outputs().get(0);
                    q.add(new OnnxModel.Node(
                            n.name(), n.opType(), List.of(w.dequantize(x, n.name())), n.outputs(), n.attributes()));
                    // max commutes with a monotone quantization: same scale and zero point, so ONNX Runtime pools uint8
                    w.requantize(y, x);
                }
                default -> w.floatNode(n);
            }
        }
        return q;
    }

    /** The rewriting steps, over the graph being built. */
    private static final class Rewriter {
        final OnnxModel q;
        final OnnxModel fp32;
        final Map<String, QTensor> quantized;

        Rewriter(OnnxModel q, OnnxModel fp32, Map<String, QTensor> quantized) {
            this.q = q;
            this.fp32 = fp32;
            this.quantized = quantized;
        }

        /** Q(floatTensor) with the range measured on {@code rangeOf}, known from then on as {@code name}. */
        void quantizeOutput(String floatTensor, String name, Map<String, float[]> ranges) {
            float[] mm = ranges.get(name);
            if (mm == null) {
                throw new IllegalStateException("no calibration range for " + name);
            }
            float lo = Math.min(0f, mm[0]);
            float hi = Math.max(0f, mm[1]);
            float scale = (hi - lo) / QMAX;
            if (!(scale > 0) || !Float.isFinite(scale)) {
                scale = 1e-8f; // a tensor that was 0 on every calibration image
            }
            int zp = Math.max(0, Math.min(QMAX, Math.round(-lo / scale)));
            String s = q.initializer(name + ".scale", new long[0], new float[] {scale});
            String z = q.initializer(new OnnxModel.Initializer(
                    name + ".zero_point", OnnxModel.UINT8, new long[0], new byte[] {(byte) zp}));
            QTensor t = new QTensor(name + ".q", s, z, scale);
            q.node("QuantizeLinear", List.of(floatTensor, s, z), List.of(t.q()));
            quantized.put(name, t);
        }

        /** Q(floatTensor) with the parameters of {@code like} (no new range). */
        void requantize(String floatTensor, QTensor like) {
            QTensor t = new QTensor(floatTensor + ".q", like.scale(), like.zeroPoint(), like.scaleValue());
            q.node("QuantizeLinear", List.of(floatTensor, like.scale(), like.zeroPoint()), List.of(t.q()));
            quantized.put(floatTensor, t);
        }

        /** A DequantizeLinear of its own for one consumer (ONNX Runtime fuses per consumer). */
        String dequantize(QTensor t, String consumer) {
            if (t == null) {
                throw new IllegalStateException("an input of " + consumer + " was not quantized");
            }
            String out = t.q() + ".dq." + consumer;
            q.node("DequantizeLinear", List.of(t.q(), t.scale(), t.zeroPoint()), List.of(out));
            return out;
        }

        /** The convolution's weight and bias as int8/int32 initializers behind DequantizeLinear. */
        List<String> convWeights(OnnxModel.Node conv, QTensor x) {
            OnnxModel.Initializer wInit = fp32.initializers().get(conv.inputs().get(1));
            OnnxModel.Initializer bInit = fp32.initializers().get(conv.inputs().get(2));
            float[] w = wInit.floats();
            float[] b = bInit.floats();
            int out = (int) wInit.dims()[0];
            int per = w.length / out;
            float[] wScale = new float[out];
            byte[] wq = new byte[w.length];
            float[] bScale = new float[out];
            ByteBuffer bq = ByteBuffer.allocate(4 * out).order(ByteOrder.LITTLE_ENDIAN);
            for (int o = 0; o < out; o++) {
                float max = 0;
                for (int i = o * per; i < (o + 1) * per; i++) {
                    max = Math.max(max, Math.abs(w[i]));
                }
                float s = max > 0 ? max / WMAX : 1e-8f;
                wScale[o] = s;
                for (int i = o * per; i < (o + 1) * per; i++) {
                    wq[i] = (byte) Math.max(-WMAX, Math.min(WMAX, Math.round(w[i] / s)));
                }
                bScale[o] = x.scaleValue() * s;
                long v = Math.round((double) b[o] / bScale[o]);
                bq.putInt((int) Math.max(Integer.MIN_VALUE + 1L, Math.min(Integer.MAX_VALUE, v)));
            }
            String wName = wInit.name();
            String bName = bInit.name();
            q.initializer(new OnnxModel.Initializer(wName + ".int8", OnnxModel.INT8, wInit.dims(), wq));
            q.initializer(wName + ".scale", new long[] {out}, wScale);
            q.initializer(
                    new OnnxModel.Initializer(wName + ".zero_point", OnnxModel.INT8, new long[] {out}, new byte[out]));
            q.initializer(new OnnxModel.Initializer(bName + ".int32", OnnxModel.INT32, new long[] {out}, bq.array()));
            q.initializer(bName + ".scale", new long[] {out}, bScale);
            q.initializer(new OnnxModel.Initializer(
                    bName + ".zero_point", OnnxModel.INT32, new long[] {out}, new byte[4 * out]));
            String wd = q.node(
                    "DequantizeLinear",
                    List.of(wName + ".int8", wName + ".scale", wName + ".zero_point"),
                    List.of(wName + ".dq"),
                    OnnxModel.Attribute.of("axis", 0L));
            String bd = q.node(
                    "DequantizeLinear",
                    List.of(bName + ".int32", bName + ".scale", bName + ".zero_point"),
                    List.of(bName + ".dq"),
                    OnnxModel.Attribute.of("axis", 0L));
            return List.of(wd, bd);
        }

        /** A node that stays float: quantized inputs are dequantized, float weights are copied. */
        void floatNode(OnnxModel.Node n) {
            List<String> in = new ArrayList<>();
            for (String s : n.inputs()) {
                QTensor t = quantized.get(s);
                if (t != null) {
                    in.add(dequantize(t, n.name()));
                    continue;
                }
                OnnxModel.Initializer init = fp32.initializers().get(s);
                if (init != null && !q.initializers().containsKey(s)) {
                    q.initializer(init);
                }
                in.add(s);
            }
            q.add(new OnnxModel.Node(n.name(), n.opType(), in, n.outputs(), n.attributes()));
        }
    }
}

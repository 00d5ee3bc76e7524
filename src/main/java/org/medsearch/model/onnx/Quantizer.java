package org.medsearch.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
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
 * calibration images (the range that holds all but the most extreme {@code 100 - percentile}
 * percent of each tensor's values, from a histogram; outliers would otherwise spend the 256 levels
 * on values that hardly occur), every convolution weight to int8 with
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
 * calibration images (deterministic). Cost: two fp32 passes over the calibration images with every
 * intermediate tensor as an output (memory grows with the batch: keep batches small at 224).
 *
 * <pre>{@code
 * OnnxModel int8 = Quantizer.quantize(ResNet18Onnx.build(sd, 6, 64), batches);
 * }</pre>
 */
public final class Quantizer {
    private Quantizer() {}

    /** How the activation ranges are measured (with {@link #PERCENTILE}). */
    public static final String METHOD = "percentile";

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
        return quantize(fp32, calibrationBatches, PERCENTILE);
    }

    /** The default: the range holds all but the most extreme 0.001% of each tensor's calibration values. */
    public static final double PERCENTILE = 99.999;

    /**
     * Quantizes {@code fp32}, each activation's range cut at {@code percentile} of its calibration
     * values (100: the smallest and largest value seen).
     */
    public static OnnxModel quantize(OnnxModel fp32, List<float[]> calibrationBatches, double percentile)
            throws MedsearchException {
        if (calibrationBatches.isEmpty()) {
            throw new MedsearchException("int8 quantization needs calibration images; none were given");
        }
        if (!(percentile > 50 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
        }
        Map<String, float[]> ranges = calibrate(fp32, calibrationBatches, percentile);
        return rewrite(fp32, ranges);
    }

    /** The ops whose outputs may need a quantization range. */
    private static final Set<String> MEASURED = Set.of("Transpose", "Conv", "Relu", "Add", "MaxPool");

    /** Min and max of every measured tensor over all calibration images. */
    static Map<String, float[]> calibrate(OnnxModel fp32, List<float[]> batches, double percentile)
            throws MedsearchException {
        List<OnnxModel.ValueInfo> outs = new ArrayList<>(fp32.outputs());
        List<String> names = new ArrayList<>();
        for (OnnxModel.Node n : fp32.nodes()) {
            if (MEASURED.contains(n.opType())) {
                names.add(n.outputs().get(0));
                outs.add(new OnnxModel.ValueInfo(n.outputs().get(0), OnnxModel.FLOAT, null));
            }
        }
        OnnxModel probe = fp32.withOutputs(outs);
        List<Object> inDims = fp32.inputs().get(0).dims();
        long per = 1;
        for (int i = 1; i < inDims.size(); i++) {
            per *= ((Number) inDims.get(i)).longValue();
        }
        Map<String, float[]> ranges = new LinkedHashMap<>();
        for (String name : names) {
            ranges.put(name, new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
        }
        Map<String, long[]> histograms = new HashMap<>();
        try (OrtSession session = Ort.session(OnnxCodec.write(probe))) {
            // pass 1: the full range of each tensor; pass 2 (percentile < 100): its histogram within that range
            for (int pass = 1; pass <= (percentile < 100 ? 2 : 1); pass++) {
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
                            if (pass == 1) {
                                while (b.hasRemaining()) {
                                    float v = b.get();
                                    mm[0] = Math.min(mm[0], v);
                                    mm[1] = Math.max(mm[1], v);
                                }
                            } else {
                                long[] h = histograms.computeIfAbsent(name, k -> new long[BINS]);
                                float lo = Math.min(0f, mm[0]);
                                float width = (Math.max(0f, mm[1]) - lo) / BINS;
                                while (b.hasRemaining()) {
                                    float v = b.get();
                                    int bin = width > 0 ? (int) ((v - lo) / width) : 0;
                                    h[Math.max(0, Math.min(BINS - 1, bin))]++;
                                }
                            }
                        }
                    }
                }
            }
        } catch (OrtException e) {
            throw new MedsearchException("calibration failed in ONNX Runtime: " + e.getMessage());
        }
        for (Map.Entry<String, long[]> e : histograms.entrySet()) {
            float[] mm = ranges.get(e.getKey());
            float lo = Math.min(0f, mm[0]);
            float hi = Math.max(0f, mm[1]);
            ranges.put(e.getKey(), clip(e.getValue(), lo, hi, percentile));
        }
        return ranges;
    }

    private static final int BINS = 4096;

    /**
     * The range that keeps {@code percentile} of the values: the tails beyond it, each side, hold at
     * most {@code (100 - percentile)%} of them. Zero stays inside (it must be exact).
     */
    static float[] clip(long[] h, float lo, float hi, double percentile) {
        long total = 0;
        for (long c : h) {
            total += c;
        }
        long cut = (long) Math.floor(total * (100 - percentile) / 100);
        float width = (hi - lo) / h.length;
        int first = 0;
        for (long seen = 0; first < h.length - 1 && seen + h[first] <= cut; first++) {
            seen += h[first];
        }
        int last = h.length - 1;
        for (long seen = 0; last > 0 && seen + h[last] <= cut; last--) {
            seen += h[last];
        }
        return new float[] {Math.min(0f, lo + first * width), Math.max(0f, lo + (last + 1) * width)};
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
                case "Add" -> {
                    if (feedsThePool(n, consumers)) {
                        // the sum the features are pooled from stays float: one rounding fewer where it counts most
                        w.floatNode(n);
                    } else {
                        w.quantizedNode(n, consumers, folded, ranges);
                    }
                }
                case "Conv" -> w.quantizedNode(n, consumers, folded, ranges);
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

    /** Whether {@code add}'s ReLU is what the global average pool reads: the last residual sum. */
    private static boolean feedsThePool(OnnxModel.Node add, Map<String, List<OnnxModel.Node>> consumers) {
        List<OnnxModel.Node> next = consumers.getOrDefault(add.outputs().get(0), List.of());
        if (next.size() != 1 || !next.get(0).opType().equals("Relu")) {
            return false;
        }
        List<OnnxModel.Node> after =
                consumers.getOrDefault(next.get(0).outputs().get(0), List.of());
        return after.size() == 1 && after.get(0).opType().equals("GlobalAveragePool");
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

        /**
         * A convolution or sum on dequantized inputs, its output quantized again (with the range of
         * the ReLU after it, which is then folded away).
         */
        void quantizedNode(
                OnnxModel.Node n,
                Map<String, List<OnnxModel.Node>> consumers,
                Set<OnnxModel.Node> folded,
                Map<String, float[]> ranges) {
            List<String> in = new ArrayList<>();
            if (n.opType().equals("Conv")) {
                QTensor x = quantized.get(n.inputs().get(0));
                in.add(dequantize(x, n.name()));
                in.addAll(convWeights(n, x));
            } else {
                for (String s : n.inputs()) {
                    in.add(dequantize(quantized.get(s), n.name()));
                }
            }
            String y = n.outputs().get(0);
            q.add(new OnnxModel.Node(n.name(), n.opType(), in, n.outputs(), n.attributes()));
            List<OnnxModel.Node> next = consumers.getOrDefault(y, List.of());
            if (next.size() == 1 && next.get(0).opType().equals("Relu")) {
                folded.add(next.get(0));
                quantizeOutput(y, next.get(0).outputs().get(0), ranges);
            } else {
                quantizeOutput(y, y, ranges);
            }
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

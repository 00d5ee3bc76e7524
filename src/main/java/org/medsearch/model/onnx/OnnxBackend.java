package org.medsearch.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.medsearch.image.Preprocessing;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.ResNet18;
import org.medsearch.util.MedsearchException;

/**
 * The {@link EmbeddingBackend} on ONNX Runtime: one session over the model's exported graph
 * ({@link ResNet18Onnx}, fp32, or its int8 form from {@link Quantizer}), created once and shared by
 * all threads (a session's {@code run} is thread-safe). No PyTorch is loaded. The class
 * probabilities are the softmax of the graph's logits, computed here in double precision.
 *
 * <p>Contract: as {@link EmbeddingBackend}'s; the fp32 graph's outputs match {@code TorchBackend}'s to
 * 1e-4 (see {@code OnnxConformanceTest}). {@link #name()} is {@value #FP32} or {@value #INT8}.
 *
 * <pre>{@code
 * try (EmbeddingBackend b = OnnxBackend.open(Path.of("model"), OnnxBackend.FP32)) {
 *     Embedding e = b.embed(image);
 * }
 * }</pre>
 */
public final class OnnxBackend implements EmbeddingBackend, org.medsearch.model.FeatureMapper {

    public static final String FP32 = "onnx";
    public static final String INT8 = "onnx-int8";

    private final String name;
    private final ModelManifest manifest;
    private final Preprocessing prep;
    private final OrtSession session;
    private final boolean classifier;

    OnnxBackend(String name, ModelManifest manifest, byte[] graph) throws MedsearchException {
        this.name = name;
        this.manifest = manifest;
        this.prep = manifest.preprocessing().toPreprocessing();
        this.classifier = !manifest.classes().isEmpty();
        try {
            this.session = Ort.session(graph);
        } catch (OrtException e) {
            throw new MedsearchException("ONNX Runtime cannot load the " + name + " graph: " + e.getMessage());
        }
    }

    /**
     * Opens the bundle in {@code dir} on ONNX Runtime.
     *
     * @param runtime {@value #FP32} (exported from the weights on first use) or {@value #INT8}
     *     (made by {@code medsearch quantize})
     */
    public static OnnxBackend open(Path dir, String runtime) throws MedsearchException {
        OnnxGraphs.Loaded g = OnnxGraphs.load(dir, runtime);
        return new OnnxBackend(runtime, g.manifest(), g.bytes());
    }

    /** A backend over a graph in memory (the ImageNet backbone, tests). */
    public static OnnxBackend of(String runtime, ModelManifest manifest, byte[] graph) throws MedsearchException {
        return new OnnxBackend(runtime, manifest, graph);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    @Override
    public Preprocessing preprocessing() {
        return prep;
    }

    @Override
    public List<Embedding> embed(float[] nhwc, int n) {
        if (EmbeddingBackend.checkBatch(prep, nhwc, n) == 0) {
            return List.of();
        }
        int s = prep.imageSize();
        long[] shape = {n, s, s, Preprocessing.CHANNELS};
        try (OnnxTensor x = OnnxTensor.createTensor(Ort.environment(), FloatBuffer.wrap(nhwc), shape);
                OrtSession.Result r = session.run(Map.of(ResNet18Onnx.INPUT, x))) {
            FloatBuffer feats = ((OnnxTensor) r.get(ResNet18Onnx.FEATURES).orElseThrow()).getFloatBuffer();
            FloatBuffer logits = ((OnnxTensor) r.get(ResNet18Onnx.LOGITS).orElseThrow()).getFloatBuffer();
            int c = classifier ? logits.capacity() / n : 0;
            List<Embedding> out = new ArrayList<>(n);
            float[] row = new float[Math.max(c, 1)];
            for (int i = 0; i < n; i++) {
                float[] v = new float[ResNet18.FEATURE_DIM];
                feats.get(i * ResNet18.FEATURE_DIM, v);
                float[] p = new float[c];
                if (c > 0) {
                    logits.get(i * c, row, 0, c);
                    softmax(row, p);
                }
                out.add(new Embedding(v, p));
            }
            return out;
        } catch (OrtException | MedsearchException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    /**
     * The feature maps of {@code n} images: only on a graph built with them
     * ({@link ResNet18Onnx#build(Map, int, int, boolean)}).
     *
     * @throws IllegalStateException on a graph without the {@value ResNet18Onnx#FEATURE_MAP} output
     */
    @Override
    public org.medsearch.model.FeatureMaps featureMaps(float[] nhwc, int n) {
        if (!session.getOutputNames().contains(ResNet18Onnx.FEATURE_MAP)) {
            throw new IllegalStateException("this graph has no feature map output: open it as an explainer");
        }
        EmbeddingBackend.checkBatch(prep, nhwc, n);
        int s = prep.imageSize();
        int g = ResNet18Onnx.grid(s);
        long[] shape = {n, s, s, Preprocessing.CHANNELS};
        try (OnnxTensor x = OnnxTensor.createTensor(Ort.environment(), FloatBuffer.wrap(nhwc), shape);
                OrtSession.Result r = session.run(
                        Map.of(ResNet18Onnx.INPUT, x),
                        java.util.Set.of(ResNet18Onnx.FEATURES, ResNet18Onnx.FEATURE_MAP))) {
            FloatBuffer feats = ((OnnxTensor) r.get(ResNet18Onnx.FEATURES).orElseThrow()).getFloatBuffer();
            FloatBuffer maps = ((OnnxTensor) r.get(ResNet18Onnx.FEATURE_MAP).orElseThrow()).getFloatBuffer();
            float[] f = new float[n * ResNet18.FEATURE_DIM];
            float[] m = new float[n * ResNet18.FEATURE_DIM * g * g];
            feats.get(f);
            maps.get(m);
            return new org.medsearch.model.FeatureMaps(n, g, m, f);
        } catch (OrtException | MedsearchException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    static void softmax(float[] logits, float[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < out.length; i++) {
            max = Math.max(max, logits[i]);
        }
        double sum = 0;
        double[] e = new double[out.length];
        for (int i = 0; i < out.length; i++) {
            e[i] = Math.exp(logits[i] - max);
            sum += e[i];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            // closing frees native memory; nothing a caller could do about a failure here
        }
    }
}

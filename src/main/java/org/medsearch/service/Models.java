package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.medsearch.image.BatchLoader;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.VectorFormat;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.FeatureMapper;
import org.medsearch.model.InferenceRuntime;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.Pretrained;
import org.medsearch.model.ResNet18;
import org.medsearch.model.TorchBackend;
import org.medsearch.model.onnx.OnnxBackend;
import org.medsearch.model.onnx.OnnxCodec;
import org.medsearch.model.onnx.OnnxGraphs;
import org.medsearch.model.onnx.OnnxModel;
import org.medsearch.model.onnx.Ort;
import org.medsearch.model.onnx.Quantizer;
import org.medsearch.model.onnx.ResNet18Onnx;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import org.medsearch.util.Version;

/**
 * Where a model becomes an embedding backend: the one place that chooses the inference runtime.
 * A model is a bundle directory, or {@link #IMAGENET} (the bare ImageNet backbone, no classifier).
 *
 * <pre>{@code
 * try (EmbeddingBackend backend = Models.open(Path.of("model"), 0, Progress.NONE)) {
 *     Embedding e = backend.embed(image);
 * }
 * }</pre>
 */
public final class Models {
    private Models() {}

    /** The name that stands for torchvision's ImageNet backbone. */
    public static final String IMAGENET = "imagenet";
    /** torchvision's evaluation size for ImageNet weights. */
    public static final int IMAGENET_SIZE = 224;

    /** Whether {@code model} names the ImageNet backbone (and no directory of that name exists). */
    public static boolean isImagenet(Path model) {
        return model.toString().equals(IMAGENET) && !Files.exists(model);
    }

    /**
     * Opens a model as a backend that owns what it loaded (close it).
     *
     * @param imageSize the input size of the ImageNet backbone (ignored for bundles, which record theirs); 0 for 224
     * @param runtime the engine that runs it; a bundle gets its fp32 ONNX graph on first use, and
     *     {@link InferenceRuntime#ONNX_INT8} needs {@code medsearch quantize} first
     */
    public static EmbeddingBackend open(Path model, int imageSize, InferenceRuntime runtime, Progress progress)
            throws IOException {
        if (isImagenet(model)) {
            Path weights = Pretrained.imagenetFile(Pretrained.cacheDir(), Pretrained.Source.imagenet(), progress);
            int size = imageSize > 0 ? imageSize : IMAGENET_SIZE;
            return switch (runtime) {
                case TORCH -> TorchBackend.owning(ModelBundle.imagenetBackbone(weights, size));
                case ONNX ->
                    OnnxBackend.of(
                            OnnxBackend.FP32,
                            ModelBundle.imagenetManifest(weights, size),
                            OnnxCodec.write(ResNet18Onnx.build(ModelBundle.imagenetWeights(weights), 1000, size)));
                case ONNX_INT8 ->
                    throw new MedsearchException(
                            "the ImageNet backbone has no int8 graph (it has no training images to calibrate on): use"
                                    + " --runtime onnx or torch");
            };
        }
        return switch (runtime) {
            case TORCH -> TorchBackend.load(model);
            case ONNX -> OnnxBackend.open(model, OnnxBackend.FP32);
            case ONNX_INT8 -> OnnxBackend.open(model, OnnxBackend.INT8);
        };
    }

    /**
     * The model as a {@link FeatureMapper} for similarity maps: its fp32 graph with the feature map
     * as an extra output, built in memory from the weights (whatever runtime searches), so an
     * explanation costs one forward pass per image.
     *
     * @param imageSize the ImageNet backbone's input size (0: 224); bundles record theirs
     */
    public static FeatureMapper explainer(Path model, int imageSize, Progress progress) throws IOException {
        if (isImagenet(model)) {
            Path weights = Pretrained.imagenetFile(Pretrained.cacheDir(), Pretrained.Source.imagenet(), progress);
            int size = imageSize > 0 ? imageSize : IMAGENET_SIZE;
            return OnnxBackend.of(
                    OnnxBackend.FP32,
                    ModelBundle.imagenetManifest(weights, size),
                    OnnxCodec.write(ResNet18Onnx.build(ModelBundle.imagenetWeights(weights), 1000, size, true)));
        }
        ModelManifest m = ModelBundle.readManifest(model);
        return OnnxBackend.of(OnnxBackend.FP32, m, OnnxCodec.write(OnnxGraphs.fromBundle(model, m, true)));
    }

    /** The seed of {@link #untrained}'s weights. */
    static final long UNTRAINED_SEED = 1;

    /** Images the int8 graph of {@link #untrained} is calibrated on (at most). */
    public static final int CALIBRATION_IMAGES = 64;

    private static final int CALIBRATION_BATCH = 16;

    /**
     * An untrained ResNet-18 with {@code classes} in its head, on {@code runtime}, for benchmarks
     * (the cost of a forward pass does not depend on the weights): every runtime gets the same
     * seeded random weights. {@link InferenceRuntime#ONNX_INT8} is the fp32 graph quantized
     * ({@link Quantizer}) with activation ranges calibrated on real images, since random input would
     * give unrealistic ones.
     *
     * @param calibration images to calibrate int8 on (the first {@value #CALIBRATION_IMAGES} that decode
     *     are used); ignored by the other runtimes
     * @throws MedsearchException for int8 when none of {@code calibration} decodes
     */
    public static EmbeddingBackend untrained(
            InferenceRuntime runtime, List<String> classes, int imageSize, List<Path> calibration)
            throws MedsearchException {
        ModelManifest manifest = ModelBundle.untrainedManifest(classes, imageSize, UNTRAINED_SEED);
        if (runtime == InferenceRuntime.TORCH) {
            return TorchBackend.owning(ModelBundle.untrained(classes, imageSize, UNTRAINED_SEED));
        }
        OnnxModel fp32 = ResNet18Onnx.build(
                ModelBundle.untrainedWeights(classes.size(), UNTRAINED_SEED), classes.size(), imageSize);
        if (runtime == InferenceRuntime.ONNX) {
            return OnnxBackend.of(OnnxBackend.FP32, manifest, OnnxCodec.write(fp32));
        }
        OnnxModel int8 = Quantizer.quantize(fp32, calibrationBatches(manifest, calibration));
        return OnnxBackend.of(OnnxBackend.INT8, manifest, OnnxCodec.write(int8));
    }

    /** Up to {@value #CALIBRATION_IMAGES} of {@code files}, decoded and pre-processed as {@code m} says, in batches. */
    private static List<float[]> calibrationBatches(ModelManifest m, List<Path> files) throws MedsearchException {
        List<float[]> batches = QuantizeJob.calibration(
                        ModelBundle.readers(m),
                        m.preprocessing().toPreprocessing(),
                        files.stream().map(BatchLoader.Source::of).toList(),
                        CALIBRATION_IMAGES,
                        CALIBRATION_BATCH,
                        Progress.NONE)
                .batches();
        if (batches.isEmpty()) {
            throw new MedsearchException(
                    "no calibration image for int8: none of the " + files.size() + " given could be decoded");
        }
        return batches;
    }

    /** "ONNX Runtime 1.29.0": the version the ONNX runtimes run on. */
    public static String onnxRuntimeVersion() {
        return "ONNX Runtime " + Ort.VERSION;
    }

    /** Intra-op threads of each ONNX Runtime session ({@code MEDSEARCH_THREADS}, else the processors). */
    public static int onnxThreads() {
        return Ort.threads();
    }

    /** Opens a model for searching {@code index}: the ImageNet backbone takes the index's input size. */
    public static EmbeddingBackend openFor(Path model, VectorStore index, InferenceRuntime runtime, Progress progress)
            throws IOException {
        return open(model, index.info().imageSize(), runtime, progress);
    }

    /** What a new index built with {@code backend}'s model records. */
    public static IndexInfo indexInfo(EmbeddingBackend backend, VectorFormat format) {
        return new IndexInfo(
                Stores.format(),
                backend.fingerprint(),
                backend.classes(),
                ResNet18.FEATURE_DIM,
                Version.current(),
                format,
                backend.preprocessing().imageSize());
    }
}

package org.medsearch.model;

import java.util.List;
import java.util.Map;
import org.medsearch.image.Preprocessing;

/**
 * {@code manifest.json} of a model bundle: what the model is, how to feed it, and where it came from.
 * One place per fact: the class list and the pre-processing live here and nowhere else.
 *
 * <pre>{@code
 * ModelManifest m = ModelBundle.readManifest(Path.of("models/mednist"));
 * int size = m.preprocessing().imageSize();
 * }</pre>
 *
 * @param format {@value #FORMAT}
 * @param architecture {@value #ARCHITECTURE}
 * @param classes class names; index i is output i of the head
 * @param preprocessing the exact input transform
 * @param weightsFile the safetensors file in the bundle
 * @param weightsSha256 its SHA-256
 * @param fingerprint identifies weights + pre-processing + classes; indexes record it
 * @param provenance how the model was made
 * @param retrieval what training measured about retrieval on its validation split, including the
 *     threshold of the {@code auto} scope; null for a bare backbone and for bundles written before
 *     it existed (they have no {@code auto} scope)
 */
public record ModelManifest(
        String format,
        String architecture,
        List<String> classes,
        PreprocessingSpec preprocessing,
        String weightsFile,
        String weightsSha256,
        String fingerprint,
        Provenance provenance,
        RetrievalCalibration retrieval,
        Map<String, Graph> graphs) {

    public static final String FORMAT = "medsearch-model/1";
    public static final String ARCHITECTURE = "resnet18-torchvision";

    public ModelManifest {
        graphs = graphs == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(graphs));
    }

    /** A copy with the retrieval calibration set. */
    public ModelManifest withRetrieval(RetrievalCalibration r) {
        return new ModelManifest(
                format,
                architecture,
                classes,
                preprocessing,
                weightsFile,
                weightsSha256,
                fingerprint,
                provenance,
                r,
                graphs);
    }

    /** A copy that records {@code graph} for {@code runtime} ("onnx", "onnx-int8"), replacing any before. */
    public ModelManifest withGraph(String runtime, Graph graph) {
        Map<String, Graph> g = new java.util.TreeMap<>(graphs);
        g.put(runtime, graph);
        return new ModelManifest(
                format,
                architecture,
                classes,
                preprocessing,
                weightsFile,
                weightsSha256,
                fingerprint,
                provenance,
                retrieval,
                g);
    }

    /**
     * An inference graph made from this bundle's weights, kept in the bundle beside them.
     *
     * @param file the file name inside the bundle ("model.onnx")
     * @param sha256 the file's SHA-256; a file that does not match is refused
     * @param weightsSha256 the weights it was made from: a graph of other weights is stale
     * @param opset the ONNX opset
     * @param precision "fp32" or "int8"
     * @param calibration for int8: how its activation ranges were measured (images, split part,
     *     seed, method); null for fp32
     * @param createdBy the medsearch version that wrote it
     * @param createdAt when (ISO-8601)
     */
    public record Graph(
            String file,
            String sha256,
            String weightsSha256,
            int opset,
            String precision,
            Map<String, Object> calibration,
            String createdBy,
            String createdAt) {}

    /** The {@code auto} scope's threshold, if training chose one. */
    public java.util.OptionalDouble autoThreshold() {
        return retrieval == null
                ? java.util.OptionalDouble.empty()
                : java.util.OptionalDouble.of(retrieval.autoThreshold());
    }

    /**
     * Retrieval on the validation split, measured at the end of training with the kept weights: each
     * validation image searches the training images, and mAP@k counts hits of its own class.
     *
     * @param k the cut-off (10)
     * @param queries validation images used as queries
     * @param autoThreshold the {@code auto} scope searches the predicted class when the top class
     *     probability is at least this, otherwise all classes; chosen to maximise {@code mapAuto}
     * @param mapPredicted validation mAP@k under the scope {@code predicted}
     * @param mapAll validation mAP@k under the scope {@code all}
     * @param mapAuto validation mAP@k under the scope {@code auto} with {@code autoThreshold}
     */
    public record RetrievalCalibration(
            int k, int queries, double autoThreshold, double mapPredicted, double mapAll, double mapAuto) {

        /** The threshold for people: "0.893", or "never (all classes)" when it is above every probability. */
        public String thresholdText() {
            return autoThreshold > 1
                    ? "never (all classes)"
                    : String.format(java.util.Locale.ROOT, "%.3f", autoThreshold);
        }
    }

    /**
     * The pre-processing, spelled out for readers of the JSON.
     *
     * @param dicomWindow the VOI window preset DICOM images are read with ("abdomen", ...), or null
     *     for each file's own window (else a percentile window)
     */
    public record PreprocessingSpec(
            int imageSize,
            float[] mean,
            float[] std,
            int channels,
            String grayscale,
            String resize,
            String intensityRange,
            String normalisation,
            String dicomWindow) {

        public static PreprocessingSpec of(Preprocessing p, String dicomWindow) {
            return new PreprocessingSpec(
                    p.imageSize(),
                    p.mean(),
                    p.std(),
                    Preprocessing.CHANNELS,
                    "ITU-R 601 luma for colour input; gray replicated to 3 channels",
                    "antialiased bilinear to imageSize x imageSize",
                    "[0,1] before normalisation",
                    "ImageNet mean and std (the statistics torchvision's pretrained weights expect)",
                    dicomWindow);
        }

        public Preprocessing toPreprocessing() {
            return new Preprocessing(imageSize, mean, std);
        }
    }

    /** Data, split, recipe, per-epoch metrics, versions and time. */
    public record Provenance(
            DataInfo data,
            SplitInfo split,
            TrainingRecipe recipe,
            String init,
            List<EpochMetrics> epochs,
            Integer bestEpoch,
            double trainingSeconds,
            String createdAt,
            Map<String, String> versions) {}

    /** The training data. */
    public record DataInfo(String source, String sha256, int images, Map<String, Integer> perClass, int skipped) {}

    /** The split. */
    public record SplitInfo(
            String file,
            String sha256,
            long seed,
            String ratios,
            Map<String, Integer> counts,
            int duplicateGroups,
            int duplicateImages,
            int patientGroups) {}

    /**
     * One epoch's figures.
     *
     * @param valMap validation mAP@10 under the scope {@code all}, measured when the recipe stops
     *     early on it (null otherwise)
     */
    public record EpochMetrics(
            int epoch,
            double learningRate,
            double trainLoss,
            double trainAccuracy,
            double valLoss,
            double valAccuracy,
            double seconds,
            double imagesPerSecond,
            Double valMap) {}
}

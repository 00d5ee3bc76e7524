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
 */
public record ModelManifest(
        String format,
        String architecture,
        List<String> classes,
        PreprocessingSpec preprocessing,
        String weightsFile,
        String weightsSha256,
        String fingerprint,
        Provenance provenance) {

    public static final String FORMAT = "medsearch-model/1";
    public static final String ARCHITECTURE = "resnet18-torchvision";

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

    /** One epoch's figures. */
    public record EpochMetrics(
            int epoch,
            double learningRate,
            double trainLoss,
            double trainAccuracy,
            double valLoss,
            double valAccuracy,
            double seconds,
            double imagesPerSecond) {}
}

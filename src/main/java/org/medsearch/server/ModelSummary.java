package org.medsearch.server;

import java.util.List;
import java.util.Map;
import org.medsearch.model.ModelManifest;

/**
 * What {@code GET /api/stats} says about the model: an allow-list of manifest fields. Paths (the
 * training data's folder, the split file, an initial weights file) are left out, because they can
 * name patients or sites; so are per-file facts. Class names and counts are kept.
 *
 * <pre>{@code
 * ModelSummary s = ModelSummary.of(bundle.manifest(), Engines.threads());
 * }</pre>
 *
 * @param architecture e.g. "resnet18-torchvision"
 * @param fingerprint the model fingerprint that indexes record
 * @param classes class names, in the head's order
 * @param imageSize input side in pixels
 * @param trainingImages images the model was trained on (train split), or null if unknown
 * @param epochs epochs trained
 * @param bestEpoch the epoch whose weights were kept, or null
 * @param validationAccuracy that epoch's validation accuracy, or null
 * @param createdAt when training finished (ISO-8601)
 * @param versions library versions used for training
 * @param inferenceThreads the engine's intra-op threads in this server
 */
public record ModelSummary(
        String architecture,
        String fingerprint,
        List<String> classes,
        int imageSize,
        Integer trainingImages,
        Integer epochs,
        Integer bestEpoch,
        Double validationAccuracy,
        String createdAt,
        Map<String, String> versions,
        int inferenceThreads) {

    public static ModelSummary of(ModelManifest m, int inferenceThreads) {
        ModelManifest.Provenance p = m.provenance();
        Integer trainImages = null;
        Integer epochs = null;
        Double valAcc = null;
        if (p != null) {
            if (p.split() != null && p.split().counts() != null) {
                trainImages = p.split().counts().get("train");
            }
            if (p.epochs() != null) {
                epochs = p.epochs().size();
                if (p.bestEpoch() != null) {
                    valAcc = p.epochs().stream()
                            .filter(e -> e.epoch() == p.bestEpoch())
                            .findFirst()
                            .map(ModelManifest.EpochMetrics::valAccuracy)
                            .orElse(null);
                }
            }
        }
        return new ModelSummary(
                m.architecture(),
                m.fingerprint(),
                m.classes(),
                m.preprocessing().imageSize(),
                trainImages,
                epochs,
                p == null ? null : p.bestEpoch(),
                valAcc,
                p == null ? null : p.createdAt(),
                p == null ? null : p.versions(),
                inferenceThreads);
    }
}

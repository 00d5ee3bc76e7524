package org.medsearch.eval;

import java.util.List;
import java.util.Map;

/**
 * Everything {@code medsearch evaluate} measured, with the provenance needed to set it beside the
 * paper's Table 3: which model (manifest facts), which index (composition), which split and how many
 * images. Written as {@code evaluation.json}; {@link ReportWriter} renders it as HTML.
 *
 * @param format {@value #FORMAT}
 * @param createdAt ISO-8601 time
 * @param model the model's facts
 * @param index the index's composition
 * @param data the evaluated images
 * @param classification accuracy, per-class figures, confusion matrix
 * @param retrieval one entry per protocol and scope, keyed "paper/predicted", "paper/all",
 *     "all-test/predicted", "all-test/all"
 * @param seconds wall time of the evaluation
 */
public record EvaluationReport(
        String format,
        String createdAt,
        ModelFacts model,
        IndexFacts index,
        DataFacts data,
        Classification classification,
        Map<String, Protocol> retrieval,
        double seconds) {

    public static final String FORMAT = "medsearch-evaluation/1";

    /** The model evaluated. */
    public record ModelFacts(
            String directory,
            String fingerprint,
            List<String> classes,
            int imageSize,
            String init,
            Integer bestEpoch,
            int epochs,
            String dataSha256,
            String splitSha256,
            long splitSeed,
            String splitRatios,
            Map<String, String> versions) {}

    /** The index searched. */
    public record IndexFacts(
            String directory, int images, Map<String, Integer> perClass, Map<String, Integer> perSplit, String note) {}

    /** The queries: the test split of the model's split. */
    public record DataFacts(String source, int testImages, int evaluated, List<String> skipped) {}

    /** Classification of the test images. */
    public record Classification(
            double accuracy, List<ClassificationMetrics.PerClass> perClass, List<String> classes, long[][] confusion) {}

    /**
     * One retrieval protocol under one scope.
     *
     * @param protocol "paper" (5 seeded random test queries per class) or "all-test"
     * @param scope "predicted" or "all"
     * @param queries number of queries
     * @param k the cut-off (10)
     * @param meanAveragePrecision mAP@k
     * @param meanPrecision mean P@k
     * @param meanRecall mean R@k
     * @param precisionCurve mean P@i for i = 1..curve length
     * @param averagePrecisionPerClass mAP@k per query class
     * @param queryIds for the paper protocol, the test images used as queries
     */
    public record Protocol(
            String protocol,
            String scope,
            int queries,
            int k,
            double meanAveragePrecision,
            double meanPrecision,
            double meanRecall,
            double[] precisionCurve,
            Map<String, Double> averagePrecisionPerClass,
            List<String> queryIds) {}
}

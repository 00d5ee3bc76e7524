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
 * @param retrieval one entry per protocol and scope, keyed "protocol/scope": "paper/predicted",
 *     "paper/all", "paper/auto" (models with a threshold), "paper/top:2" (three classes or more),
 *     then the same for "all-test"
 * @param seconds wall time of the evaluation
 * @param runtime the inference runtime that embedded the queries ("onnx", "onnx-int8", "torch")
 * @param comparison for an int8 run, the same queries embedded by the fp32 runtime, side by side;
 *     null otherwise
 */
public record EvaluationReport(
        String format,
        String createdAt,
        ModelFacts model,
        IndexFacts index,
        DataFacts data,
        Classification classification,
        Map<String, Protocol> retrieval,
        double seconds,
        String runtime,
        RuntimeComparison comparison) {

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

    /**
     * The queries: the test split of the model's split.
     *
     * @param testImages labelled test images of the model's classes, less those left out for
     *     conflicting labels
     * @param evaluated those that could be read and embedded
     * @param skipped the unreadable ones, with the reason
     * @param labelConflictsLeftOut test images left out because identical bytes carry another label
     *     elsewhere in the data set
     * @param labelConflicts sets of identical images with different labels in the whole data set
     */
    public record DataFacts(
            String source,
            int testImages,
            int evaluated,
            List<String> skipped,
            int labelConflictsLeftOut,
            int labelConflicts) {}

    /**
     * Classification of the test images, by the classifier and by the neighbour vote.
     *
     * @param accuracy the classifier's (NaN without one)
     * @param voteAccuracy the neighbour vote's: the top class of the distance-weighted vote of the
     *     {@code voteK} nearest indexed images of all classes (the query's own bytes excluded), against
     *     the true label; NaN without a query
     * @param voteK how many nearest images vote (the report's k)
     */
    public record Classification(
            double accuracy,
            List<ClassificationMetrics.PerClass> perClass,
            List<String> classes,
            long[][] confusion,
            double voteAccuracy,
            int voteK) {}

    /**
     * One retrieval protocol under one scope.
     *
     * @param protocol "paper" (5 seeded random test queries per class) or "all-test"
     * @param scope "predicted", "all", "auto" or "top:2"
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

    /**
     * One runtime beside another on the same test queries and the same index: what quantization (or
     * another engine) changes. Only the query side differs; the index is the one evaluated.
     *
     * @param runtime the evaluated runtime
     * @param reference the runtime it is compared with
     * @param accuracy classifier accuracy with {@code runtime}
     * @param referenceAccuracy classifier accuracy with {@code reference}
     * @param map all-test mAP@k per scope with {@code runtime}
     * @param referenceMap all-test mAP@k per scope with {@code reference}
     * @param maxFeatureDifference the largest |difference| of one feature component over all queries
     * @param meanFeatureDifference the mean |difference| per feature component
     * @param relativeFeatureError mean over queries of ||f - f_ref|| / ||f_ref||
     * @param samePrediction the share of queries whose predicted class is the same
     * @param queries the queries both runtimes answered
     * @param sameTopK queries whose top k ids (scope all) are the same, in the same order
     * @param sameSetOtherOrder queries with the same top k ids in another order (near-ties)
     */
    public record RuntimeComparison(
            String runtime,
            String reference,
            double accuracy,
            double referenceAccuracy,
            Map<String, Double> map,
            Map<String, Double> referenceMap,
            double maxFeatureDifference,
            double meanFeatureDifference,
            double relativeFeatureError,
            double samePrediction,
            int queries,
            int sameTopK,
            int sameSetOtherOrder) {}
}

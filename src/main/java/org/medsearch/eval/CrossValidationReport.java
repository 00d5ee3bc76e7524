package org.medsearch.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code medsearch cv} measured: every fold's figures and, per figure, the mean and standard
 * deviation over the folds, with the provenance of the run (data, folds, seed, recipe, versions).
 * Written as {@code cv.json}; {@link ReportWriter#writeCrossValidation} renders it as HTML.
 *
 * <pre>{@code
 * CrossValidationReport r = Json.read(Path.of("cv/cv.json"), CrossValidationReport.class);
 * double auto = r.summary().get("mAP@10 all-test/auto").mean();
 * }</pre>
 *
 * @param format {@value #FORMAT}
 * @param createdAt ISO-8601 time
 * @param data the data set: source, content hash, images, images per class
 * @param folds the number of folds
 * @param valShare the share of each fold's non-test images that validates
 * @param seed seeds the folds (and the training)
 * @param recipe the training recipe, as the manifest records it
 * @param init the initial weights
 * @param versions software versions
 * @param perFold each fold's figures
 * @param summary each figure's mean, standard deviation (n - 1), minimum and maximum over the folds
 * @param seconds wall time of the whole run
 */
public record CrossValidationReport(
        String format,
        String createdAt,
        Map<String, Object> data,
        int folds,
        double valShare,
        long seed,
        Object recipe,
        String init,
        Map<String, String> versions,
        List<Fold> perFold,
        Map<String, Stat> summary,
        double seconds) {

    public static final String FORMAT = "medsearch-cv/1";

    /**
     * One fold.
     *
     * @param fold 1-based
     * @param counts images per part (train, val, test)
     * @param model the fold's model bundle
     * @param bestEpoch the kept epoch
     * @param epochsRun epochs trained (fewer than the recipe's when stopped early)
     * @param autoThreshold the auto scope's threshold the fold's training chose
     * @param metrics the figures, by name ("accuracy", "mAP@10 all-test/auto", ...)
     * @param seconds training, indexing and evaluation time
     */
    public record Fold(
            int fold,
            Map<String, Integer> counts,
            String model,
            Integer bestEpoch,
            int epochsRun,
            Double autoThreshold,
            Map<String, Double> metrics,
            double seconds) {}

    /** A figure over the folds. */
    public record Stat(double mean, double sd, double min, double max, int n) {

        /** "0.712 +/- 0.034". */
        public String format() {
            return String.format(java.util.Locale.ROOT, "%.4f +/- %.4f", mean, sd);
        }
    }

    /** Mean, sample standard deviation, min and max of each figure the folds have in common (NaN skipped). */
    public static Map<String, Stat> summarise(List<Fold> folds) {
        Map<String, List<Double>> values = new LinkedHashMap<>();
        for (Fold f : folds) {
            f.metrics().forEach((k, v) -> {
                if (v != null && !v.isNaN()) {
                    values.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
                }
            });
        }
        Map<String, Stat> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, stat(v)));
        return out;
    }

    static Stat stat(List<Double> v) {
        int n = v.size();
        double mean = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        double ss = 0;
        for (double x : v) {
            ss += (x - mean) * (x - mean);
        }
        double sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
        double min = v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        double max = v.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        return new Stat(mean, sd, min, max, n);
    }
}

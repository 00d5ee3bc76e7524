package org.medsearch.eval;

import java.util.Arrays;

/**
 * Retrieval of labelled queries against a labelled gallery under the scopes {@code predicted} and
 * {@code all}, and the choice of the {@code auto} scope's threshold: the query's predicted class
 * when its top class probability is at least the threshold, otherwise every class.
 *
 * <p>Contract: ranking is by squared Euclidean distance (the order of mean squared error), ties by
 * ascending gallery index, as the index breaks them by id; relevance is "same label"; AP@k is
 * {@link RetrievalMetrics#averagePrecision}. Under {@code predicted} a query whose prediction is
 * wrong scores 0 and one whose prediction is right scores 1 (every hit then has its class), so
 * {@code predicted} trades retrieval for classification; {@code auto} keeps it for the queries the
 * classifier is sure of. Cost: one pass over the gallery per query, {@code O(q * g * d)}.
 *
 * <pre>{@code
 * ScopeCalibration.Result r = ScopeCalibration.measure(galleryVectors, galleryLabels,
 *         queryVectors, queryLabels, queryProbabilities, 10);
 * double t = r.threshold(); // for the manifest
 * }</pre>
 */
public final class ScopeCalibration {
    private ScopeCalibration() {}

    /** The threshold that no probability reaches (the smallest double above 1): {@code auto} is then {@code all}. */
    public static final double NEVER = Math.nextUp(1.0);

    /**
     * Per-query figures and the chosen threshold.
     *
     * @param apPredicted each query's AP@k under {@code predicted}
     * @param apAll each query's AP@k under {@code all}
     * @param confidence each query's top class probability
     * @param threshold the {@code auto} scope's threshold, from {@link #chooseThreshold}
     */
    public record Result(double[] apPredicted, double[] apAll, double[] confidence, double threshold) {
        public double mapPredicted() {
            return mean(apPredicted);
        }

        public double mapAll() {
            return mean(apAll);
        }

        /** mAP@k under {@code auto} with {@link #threshold()}. */
        public double mapAuto() {
            return autoMap(this, threshold);
        }

        public int queries() {
            return apAll.length;
        }
    }

    /**
     * Searches every query in the gallery under both scopes.
     *
     * @param gallery the gallery's vectors
     * @param galleryLabels their class indices
     * @param queries the queries' vectors
     * @param queryLabels their true class indices
     * @param probabilities each query's class probabilities
     * @param k the cut-off
     */
    public static Result measure(
            float[][] gallery,
            int[] galleryLabels,
            float[][] queries,
            int[] queryLabels,
            float[][] probabilities,
            int k) {
        int q = queries.length;
        double[] apPred = new double[q];
        double[] apAll = new double[q];
        double[] conf = new double[q];
        double[] d = new double[gallery.length];
        for (int i = 0; i < q; i++) {
            int predicted = argmax(probabilities[i]);
            conf[i] = probabilities[i][predicted];
            for (int g = 0; g < gallery.length; g++) {
                d[g] = squaredDistance(queries[i], gallery[g]);
            }
            apAll[i] = ap(d, galleryLabels, queryLabels[i], -1, k);
            apPred[i] = ap(d, galleryLabels, queryLabels[i], predicted, k);
        }
        return new Result(apPred, apAll, conf, chooseThreshold(conf, apPred, apAll));
    }

    /**
     * The threshold of {@code auto}: the cut that maximises mean AP, moved toward {@code all} within
     * one standard error. The queries are sorted by confidence and every cut between two distinct
     * confidences is tried, from "all queries use the predicted class" to "none does"; the best cut
     * is then replaced by the highest cut whose mean AP is below it by less than the standard error
     * of the per-query difference (the one-standard-error rule), or that equals it. A wrong class
     * restriction costs a query all of its AP while a needless search of every class costs it little,
     * so on a small validation split the edge of the optimum is an overfit the test set pays for. The
     * threshold is set midway between the confidences on either side of the chosen cut (0 when every
     * query uses the predicted class, {@link #NEVER} when none does), so that a test query near the
     * edge is not decided by a value seen once.
     */
    public static double chooseThreshold(double[] confidence, double[] apPredicted, double[] apAll) {
        int n = confidence.length;
        if (n == 0) {
            return 0;
        }
        double[] cuts = Arrays.stream(confidence).sorted().distinct().toArray();
        // cut j: the queries with confidence >= cuts[j] use the predicted class; j == cuts.length: none
        double[] map = new double[cuts.length + 1];
        int best = 0;
        for (int j = 0; j <= cuts.length; j++) {
            double t = j < cuts.length ? cuts[j] : Double.POSITIVE_INFINITY;
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += confidence[i] >= t ? apPredicted[i] : apAll[i];
            }
            map[j] = sum / n;
            if (map[j] > map[best] + 1e-12) {
                best = j;
            }
        }
        int chosen = best;
        double tBest = best < cuts.length ? cuts[best] : Double.POSITIVE_INFINITY;
        for (int j = best + 1; j <= cuts.length && n > 1; j++) {
            double t = j < cuts.length ? cuts[j] : Double.POSITIVE_INFINITY;
            // per query: what the best cut gives minus what cut j gives (non-zero between the two cuts)
            double mean = map[best] - map[j];
            double ss = 0;
            for (int i = 0; i < n; i++) {
                double di = (confidence[i] >= tBest ? apPredicted[i] : apAll[i])
                        - (confidence[i] >= t ? apPredicted[i] : apAll[i]);
                ss += (di - mean) * (di - mean);
            }
            double se = Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
            if (mean < se - 1e-12) {
                chosen = j;
            }
        }
        // a higher cut that does at least as well is preferred (so auto never does worse than all here)
        for (int j = cuts.length; j > chosen; j--) {
            if (map[j] >= map[chosen] - 1e-12) {
                chosen = j;
                break;
            }
        }
        if (chosen == 0) {
            return 0;
        }
        return chosen == cuts.length ? NEVER : (cuts[chosen - 1] + cuts[chosen]) / 2;
    }

    /** mAP@k under {@code auto} with a given threshold. */
    public static double autoMap(Result r, double threshold) {
        double sum = 0;
        for (int i = 0; i < r.queries(); i++) {
            sum += r.confidence()[i] >= threshold ? r.apPredicted()[i] : r.apAll()[i];
        }
        return r.queries() == 0 ? Double.NaN : sum / r.queries();
    }

    /** AP@k of one query over the gallery, restricted to class {@code only} unless it is -1. */
    private static double ap(double[] d, int[] labels, int truth, int only, int k) {
        Integer[] order = new Integer[d.length];
        int m = 0;
        for (int g = 0; g < d.length; g++) {
            if (only < 0 || labels[g] == only) {
                order[m++] = g;
            }
        }
        Integer[] cand = Arrays.copyOf(order, m);
        Arrays.sort(cand, (a, b) -> {
            int c = Double.compare(d[a], d[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        boolean[] rel = new boolean[Math.min(k, m)];
        for (int i = 0; i < rel.length; i++) {
            rel[i] = labels[cand[i]] == truth;
        }
        return RetrievalMetrics.averagePrecision(rel, k);
    }

    private static double squaredDistance(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double x = a[i] - b[i];
            s += x * x;
        }
        return s;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static double mean(double[] v) {
        return v.length == 0 ? Double.NaN : Arrays.stream(v).average().orElse(Double.NaN);
    }
}

package org.medsearch.eval;

/**
 * Ranked-retrieval metrics over one result list, given which results are relevant.
 *
 * <p>Definitions (k is the cut-off; {@code rel[i]} says whether result i, 0-based, is relevant):
 * <ul>
 *   <li>P@k = relevant among the first k / k (fewer than k results count as misses);</li>
 *   <li>R@k = relevant among the first k / all relevant images in the index;</li>
 *   <li>AP@k = sum over relevant ranks i &le; k of P@i, divided by the number of relevant results in
 *       the first k (0 if none): the definition of the PyTorch reference
 *       ({@code pytorch_cbir.py}), so the figures can be set beside it and the paper.</li>
 * </ul>
 *
 * <pre>{@code
 * boolean[] rel = {true, false, true};
 * RetrievalMetrics.averagePrecision(rel, 3); // (1/1 + 2/3) / 2 = 0.8333
 * }</pre>
 */
public final class RetrievalMetrics {
    private RetrievalMetrics() {}

    public static double precisionAt(boolean[] rel, int k) {
        int hits = 0;
        for (int i = 0; i < Math.min(k, rel.length); i++) {
            if (rel[i]) {
                hits++;
            }
        }
        return (double) hits / k;
    }

    public static double recallAt(boolean[] rel, int k, int totalRelevant) {
        if (totalRelevant <= 0) {
            return 0;
        }
        int hits = 0;
        for (int i = 0; i < Math.min(k, rel.length); i++) {
            if (rel[i]) {
                hits++;
            }
        }
        return (double) hits / totalRelevant;
    }

    public static double averagePrecision(boolean[] rel, int k) {
        int hits = 0;
        double sum = 0;
        for (int i = 0; i < Math.min(k, rel.length); i++) {
            if (rel[i]) {
                hits++;
                sum += (double) hits / (i + 1);
            }
        }
        return hits == 0 ? 0 : sum / hits;
    }
}

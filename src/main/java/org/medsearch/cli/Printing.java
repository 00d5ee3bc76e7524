package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import org.medsearch.dataset.ScanReport;
import org.medsearch.eval.EvaluationReport;
import org.medsearch.index.Hit;
import org.medsearch.search.NeighbourVote;
import org.medsearch.search.SearchResult;

/** How the command line prints what the jobs return; shared by the commands that show the same thing. */
final class Printing {
    private Printing() {}

    /** The scan's label conflicts (identical images, different labels), when there are any. */
    static void labelConflicts(PrintWriter out, ScanReport r) {
        String s = r.conflictSummary(10);
        if (!s.isEmpty()) {
            out.println("Data: " + s);
        }
    }

    /** An evaluation's summary: accuracy, then mAP, P and R at k per protocol and scope. */
    static void evaluation(PrintWriter out, EvaluationReport r) {
        out.printf(
                "Test images: %d evaluated of %d; index: %d images (%s)%n",
                r.data().evaluated(),
                r.data().testImages(),
                r.index().images(),
                r.index().note());
        double accuracy = r.classification().accuracy();
        if (Double.isNaN(accuracy)) {
            out.printf("Accuracy: n/a (no classifier)%n");
        } else {
            out.printf("Accuracy: %.4f%n", accuracy);
        }
        out.printf(
                "Neighbour vote accuracy (top class of the distance-weighted vote of the %d nearest, all classes): %s%n",
                r.classification().voteK(),
                Double.isNaN(r.classification().voteAccuracy())
                        ? "n/a"
                        : String.format("%.4f", r.classification().voteAccuracy()));
        if (r.data().labelConflictsLeftOut() > 0) {
            out.printf(
                    "Left out of the queries: %d test images whose identical bytes carry another label%n",
                    r.data().labelConflictsLeftOut());
        }
        out.printf("  %-10s %-10s %8s %8s %8s %8s%n", "protocol", "scope", "queries", "mAP@k", "P@k", "R@k");
        for (EvaluationReport.Protocol p : r.retrieval().values()) {
            out.printf(
                    "  %-10s %-10s %8d %8.4f %8.4f %8.4f%n",
                    p.protocol(), p.scope(), p.queries(), p.meanAveragePrecision(), p.meanPrecision(), p.meanRecall());
        }
        EvaluationReport.RuntimeComparison c = r.comparison();
        if (c != null) {
            out.printf(
                    "%s beside %s (same queries, same index): accuracy %.4f vs %.4f (%+.4f); same prediction for %.2f%% of"
                            + " queries%n",
                    c.runtime(),
                    c.reference(),
                    c.accuracy(),
                    c.referenceAccuracy(),
                    c.accuracy() - c.referenceAccuracy(),
                    100 * c.samePrediction());
            for (Map.Entry<String, Double> e : c.map().entrySet()) {
                double ref = c.referenceMap().getOrDefault(e.getKey(), Double.NaN);
                out.printf(
                        "  all-test mAP@k, %-8s %.4f vs %.4f (%+.4f)%n",
                        e.getKey(), e.getValue(), ref, e.getValue() - ref);
            }
            out.printf(
                    "  features: largest |difference| %.4g, mean %.4g per component, relative error %.4f%n",
                    c.maxFeatureDifference(), c.meanFeatureDifference(), c.relativeFeatureError());
            out.printf(
                    "  top %d ids (scope all): the same for %d of %d queries; the same ids in another order for %d;"
                            + " other ids for %d%n",
                    r.classification().voteK(),
                    c.sameTopK(),
                    c.queries(),
                    c.sameSetOtherOrder(),
                    c.queries() - c.sameTopK() - c.sameSetOtherOrder());
        }
    }

    /** "auto (threshold 0.87: p >= threshold, predicted class)" and the like. */
    static String scopeText(SearchResult r) {
        if (Double.isNaN(r.autoThreshold())) {
            return r.scope().toString();
        }
        boolean confident = r.confidence() >= r.autoThreshold();
        return String.format(
                "%s (threshold %.4f: %s)",
                r.scope(), r.autoThreshold(), confident ? "confident, predicted class" : "unsure, all classes");
    }

    /** The vote as "benign 72%, malignant 28%". */
    static String voteText(NeighbourVote v) {
        StringBuilder sb = new StringBuilder();
        v.distribution()
                .forEach((c, w) -> sb.append(sb.length() == 0 ? "" : ", ")
                        .append(c.isEmpty() ? "(unlabelled)" : c)
                        .append(' ')
                        .append(Math.round(w * 100))
                        .append('%'));
        return sb.toString();
    }

    /** One query's answer: the predicted class, the scope, the vote, then the hits nearest first, or why there are none. */
    static void search(PrintWriter out, Path q, SearchResult r) {
        String predicted = r.predictedClass() == null
                ? "(no classifier)"
                : String.format("%s (p = %.4f)", r.predictedClass(), r.confidence());
        out.printf(
                "%s%n  predicted: %s   model %.1f ms, search %.1f ms (%s)%n",
                q, predicted, r.modelNanos() / 1e6, r.searchNanos() / 1e6, r.path());
        out.printf("  scope: %s, searched %s%n", scopeText(r), r.searched().isEmpty() ? "every image" : r.searched());
        NeighbourVote v = r.vote();
        if (v.top() != null) {
            out.printf(
                    "  similar cases: %s%s%n",
                    voteText(v),
                    Boolean.FALSE.equals(v.agrees())
                            ? "   (disagree: mostly " + v.top() + ", the classifier says " + r.predictedClass() + ")"
                            : "");
        }
        out.printf("  %4s  %-12s %8s  %-14s %s%n", "rank", "MSE", "id", "class", "path");
        int rank = 1;
        for (Hit h : r.hits()) {
            out.printf(
                    "  %4d  %-12.6g %8d  %-14s %s%n",
                    rank++,
                    h.meanSquaredError(),
                    h.id(),
                    h.image().searchClass(),
                    h.image().path());
        }
        if (r.notice() != null) {
            out.println("  note: " + r.notice());
        } else if (r.hits().isEmpty()) {
            out.println("  (no indexed image matches)");
        }
    }
}

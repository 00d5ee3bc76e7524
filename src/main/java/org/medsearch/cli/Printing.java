package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import org.medsearch.eval.EvaluationReport;
import org.medsearch.index.Hit;
import org.medsearch.search.SearchResult;

/** How the command line prints what the jobs return; shared by the commands that show the same thing. */
final class Printing {
    private Printing() {}

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
        out.printf("  %-10s %-10s %8s %8s %8s %8s%n", "protocol", "scope", "queries", "mAP@k", "P@k", "R@k");
        for (EvaluationReport.Protocol p : r.retrieval().values()) {
            out.printf(
                    "  %-10s %-10s %8d %8.4f %8.4f %8.4f%n",
                    p.protocol(), p.scope(), p.queries(), p.meanAveragePrecision(), p.meanPrecision(), p.meanRecall());
        }
    }

    /** One query's answer: the predicted class, then the hits nearest first, or why there are none. */
    static void search(PrintWriter out, Path q, SearchResult r) {
        String predicted = r.predictedClass() == null
                ? "(no classifier)"
                : String.format("%s (p = %.4f)", r.predictedClass(), r.confidence());
        out.printf(
                "%s%n  predicted: %s   model %.1f ms, search %.1f ms (%s)%n",
                q, predicted, r.modelNanos() / 1e6, r.searchNanos() / 1e6, r.path());
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

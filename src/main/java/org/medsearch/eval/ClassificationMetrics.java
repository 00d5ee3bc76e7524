package org.medsearch.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * Accuracy, per-class precision, recall and F1 from a confusion matrix ({@code matrix[truth][predicted]}).
 * A class never predicted has precision 0; a class never present has recall 0.
 *
 * <pre>{@code
 * ClassificationMetrics m = new ClassificationMetrics(List.of("a", "b"), new long[][] {{9, 1}, {0, 10}});
 * m.accuracy(); // 0.95
 * }</pre>
 */
public final class ClassificationMetrics {

    /** One class's row of the report. */
    public record PerClass(String name, long support, double precision, double recall, double f1) {}

    private final List<String> classes;
    private final long[][] matrix;

    public ClassificationMetrics(List<String> classes, long[][] matrix) {
        this.classes = List.copyOf(classes);
        this.matrix = matrix;
    }

    public long[][] matrix() {
        return matrix;
    }

    public long total() {
        long n = 0;
        for (long[] row : matrix) {
            for (long v : row) {
                n += v;
            }
        }
        return n;
    }

    public double accuracy() {
        long correct = 0;
        for (int i = 0; i < matrix.length; i++) {
            correct += matrix[i][i];
        }
        long n = total();
        return n == 0 ? 0 : (double) correct / n;
    }

    public List<PerClass> perClass() {
        List<PerClass> out = new ArrayList<>();
        for (int c = 0; c < classes.size(); c++) {
            long tp = matrix[c][c];
            long support = 0;
            long predicted = 0;
            for (int j = 0; j < classes.size(); j++) {
                support += matrix[c][j];
                predicted += matrix[j][c];
            }
            double p = predicted == 0 ? 0 : (double) tp / predicted;
            double r = support == 0 ? 0 : (double) tp / support;
            double f1 = p + r == 0 ? 0 : 2 * p * r / (p + r);
            out.add(new PerClass(classes.get(c), support, p, r, f1));
        }
        return out;
    }
}

package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The supervised contrastive loss against a plain computation of its definition. */
class MetricLossTest {

    /** Khosla et al.'s L_out, written out in doubles. */
    static double reference(float[][] f, int[] y, double t) {
        int n = y.length;
        double[][] z = new double[n][];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (float v : f[i]) {
                norm += v * v;
            }
            norm = Math.sqrt(norm);
            z[i] = new double[f[i].length];
            for (int d = 0; d < f[i].length; d++) {
                z[i][d] = f[i][d] / norm;
            }
        }
        double total = 0;
        int anchors = 0;
        for (int i = 0; i < n; i++) {
            double den = 0;
            for (int a = 0; a < n; a++) {
                if (a != i) {
                    den += Math.exp(dot(z[i], z[a]) / t);
                }
            }
            double sum = 0;
            int pos = 0;
            for (int p = 0; p < n; p++) {
                if (p != i && y[p] == y[i]) {
                    sum += dot(z[i], z[p]) / t - Math.log(den);
                    pos++;
                }
            }
            if (pos > 0) {
                total += -sum / pos;
                anchors++;
            }
        }
        return total / anchors;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    @Test
    void matchesTheDefinitionAndFallsAsClassesGather() {
        Engines.configure();
        Random rnd = new Random(3);
        int n = 8;
        int d = 16;
        float[][] f = new float[n][d];
        float[] flat = new float[n * d];
        int[] y = {0, 1, 2, 0, 1, 2, 0, 2}; // class 1 has a pair, the others more; every anchor has a positive
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < d; k++) {
                f[i][k] = (float) rnd.nextGaussian();
                flat[i * d + k] = f[i][k];
            }
        }
        try (NDManager m = Engines.newManager()) {
            NDArray x = m.create(flat, new Shape(n, d));
            double loss = MetricLoss.supervisedContrastive(x, y, 0.1).getFloat();
            assertEquals(reference(f, y, 0.1), loss, 1e-3 * Math.abs(loss));

            // features that sit at their class's centre give a lower loss than random ones
            float[] gathered = new float[n * d];
            for (int i = 0; i < n; i++) {
                gathered[i * d + y[i]] = 1;
            }
            double low = MetricLoss.supervisedContrastive(m.create(gathered, new Shape(n, d)), y, 0.1)
                    .getFloat();
            assertTrue(low < loss, low + " vs " + loss);

            // an anchor alone in its class adds nothing; no positive at all gives 0
            double none = MetricLoss.supervisedContrastive(x, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 0.1)
                    .getFloat();
            assertEquals(0.0, none, 0.0);
        }
    }
}

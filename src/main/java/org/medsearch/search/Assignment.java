package org.medsearch.search;

import java.util.Arrays;

/**
 * The minimum-cost one-to-one assignment of rows to columns of a square cost matrix (the Hungarian
 * algorithm with potentials, O(n^3)): n = 64 feature cells at 256x256 takes well under a
 * millisecond. Written by hand: no library on Maven Central that medsearch already uses has one.
 *
 * <pre>{@code
 * int[] p = Assignment.minimum(new double[][] {{4, 1}, {2, 3}}); // {1, 0}
 * }</pre>
 */
final class Assignment {
    private Assignment() {}

    /** For each row, its column; the sum of {@code cost[r][p[r]]} is minimal. */
    static int[] minimum(double[][] cost) {
        int n = cost.length;
        // 1-based potentials u (rows), v (columns); way[j] the previous column on the path to j
        double[] u = new double[n + 1];
        double[] v = new double[n + 1];
        int[] match = new int[n + 1]; // match[j] = the row assigned to column j
        int[] way = new int[n + 1];
        for (int i = 1; i <= n; i++) {
            match[0] = i;
            int j0 = 0;
            double[] minv = new double[n + 1];
            Arrays.fill(minv, Double.POSITIVE_INFINITY);
            boolean[] used = new boolean[n + 1];
            do {
                used[j0] = true;
                int i0 = match[j0];
                double delta = Double.POSITIVE_INFINITY;
                int j1 = 0;
                for (int j = 1; j <= n; j++) {
                    if (!used[j]) {
                        double cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                        if (cur < minv[j]) {
                            minv[j] = cur;
                            way[j] = j0;
                        }
                        if (minv[j] < delta) {
                            delta = minv[j];
                            j1 = j;
                        }
                    }
                }
                for (int j = 0; j <= n; j++) {
                    if (used[j]) {
                        u[match[j]] += delta;
                        v[j] -= delta;
                    } else {
                        minv[j] -= delta;
                    }
                }
                j0 = j1;
            } while (match[j0] != 0);
            do {
                int j1 = way[j0];
                match[j0] = match[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        int[] rowToColumn = new int[n];
        for (int j = 1; j <= n; j++) {
            rowToColumn[match[j] - 1] = j - 1;
        }
        return rowToColumn;
    }
}

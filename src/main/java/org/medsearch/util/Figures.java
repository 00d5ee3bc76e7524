package org.medsearch.util;

/**
 * How medsearch reports measurements, one rule each, so that every command prints them alike.
 *
 * <pre>{@code
 * Figures.bytes(3_310_399_394L);              // "3.1 GiB (3310399394 bytes)"
 * long[] sorted = {10, 20, 30, 40};
 * sorted[Figures.nearestRank(sorted.length, 50)]; // 20
 * }</pre>
 */
public final class Figures {

    private Figures() {}

    /** A byte count in binary units, with the exact count beside it from 1 KiB on. */
    public static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        String[] u = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int i = -1;
        while (v >= 1024 && i < u.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format("%.1f %s (%d bytes)", v, u[i], b);
    }

    /** Index of the p-th percentile, p in (0, 100], in n &gt; 0 sorted values: the nearest-rank rule. */
    public static int nearestRank(int n, double p) {
        int rank = (int) Math.ceil(n * p / 100);
        return Math.max(0, Math.min(n - 1, rank - 1));
    }
}

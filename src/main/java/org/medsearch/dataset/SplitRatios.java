package org.medsearch.dataset;

/**
 * Fractions of each class that go to training, validation and test; they sum to 1.
 *
 * <pre>{@code
 * SplitRatios r = SplitRatios.parse("70/15/15");
 * }</pre>
 */
public record SplitRatios(double train, double val, double test) {

    public static final SplitRatios DEFAULT = new SplitRatios(0.70, 0.15, 0.15);

    public SplitRatios {
        if (train <= 0 || val < 0 || test < 0 || Math.abs(train + val + test - 1) > 1e-6) {
            throw new IllegalArgumentException(
                    "split ratios must be >= 0, train > 0, and sum to 1: " + train + "/" + val + "/" + test);
        }
    }

    /** Parses "70/15/15" (percentages) or "0.7/0.15/0.15". */
    public static SplitRatios parse(String s) {
        String[] p = s.split("/");
        if (p.length != 3) {
            throw new IllegalArgumentException("expected TRAIN/VAL/TEST, e.g. 70/15/15, got " + s);
        }
        double a = Double.parseDouble(p[0].trim());
        double b = Double.parseDouble(p[1].trim());
        double c = Double.parseDouble(p[2].trim());
        double sum = a + b + c;
        if (sum <= 0) {
            throw new IllegalArgumentException("split ratios must be positive: " + s);
        }
        return new SplitRatios(a / sum, b / sum, c / sum);
    }

    @Override
    public String toString() {
        return Math.round(train * 100) + "/" + Math.round(val * 100) + "/" + Math.round(test * 100);
    }
}

package org.medsearch.image;

/**
 * Intensity rules shared by the readers, so that a DICOM slice, a NIfTI volume and a PNG agree on
 * them: ITU-R 601 luma and numpy's default (linear) quantile.
 *
 * <pre>{@code
 * Intensities.luma(255, 0, 0);                         // 76, as PIL's convert("L")
 * Intensities.quantile(new float[] {1, 2, 3, 4}, 4, 0.5); // 2.5
 * }</pre>
 */
public final class Intensities {
    private Intensities() {}

    /** ITU-R 601 luma with PIL's integer weights ({@code convert("L")}); exact for 8-bit samples. */
    public static int luma(long r, long g, long b) {
        return (int) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
    }

    /**
     * The {@code q}-quantile, {@code q} in [0, 1], of the first {@code n > 0} values of ascending
     * {@code sorted}, interpolated linearly between order statistics as numpy's default method.
     */
    public static double quantile(float[] sorted, int n, double q) {
        double h = (n - 1) * q;
        int i = (int) Math.floor(h);
        double frac = h - i;
        return i + 1 < n ? sorted[i] + frac * ((double) sorted[i + 1] - sorted[i]) : sorted[i];
    }
}

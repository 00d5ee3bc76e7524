package org.medsearch.volume;

import java.util.Arrays;
import org.medsearch.image.Intensities;

/**
 * The intensity range of a volume that is mapped linearly onto [0, 1] when slices are cut from it:
 * values at or below {@code low} become 0, at or above {@code high} 1, NaN 0.
 *
 * <p>{@link #of(Volume)} chooses it robustly: the 0.5th and 99.5th percentiles (linear
 * interpolation between order statistics, numpy's default method) of the volume's finite
 * <em>nonzero</em> voxels. Nonzero, because MR and template volumes are mostly zero background,
 * which would otherwise pin the lower percentile to 0 and pull the upper one down. The whole
 * volume decides, not the slice, so neighbouring slices share one window. Fallbacks, named in
 * {@link #rule()}: when the percentiles coincide (a binary mask), the minimum and maximum of all
 * finite voxels; a volume without nonzero finite voxels, or a constant one, maps to 0.
 *
 * <pre>{@code
 * IntensityWindow w = IntensityWindow.of(volume);   // e.g. [12.0, 251.0]
 * float g = w.apply(volume.voxel(90, 108, 90));     // in [0, 1]
 * }</pre>
 *
 * @param low maps to 0
 * @param high maps to 1; not below {@code low}
 * @param rule how the window was chosen, for metadata
 */
public record IntensityWindow(double low, double high, String rule) {

    public static final double LOW_PERCENTILE = 0.5;
    public static final double HIGH_PERCENTILE = 99.5;

    public IntensityWindow {
        if (!(low <= high) || !Double.isFinite(low) || !Double.isFinite(high)) {
            throw new IllegalArgumentException("window [" + low + ", " + high + "]");
        }
    }

    /** The robust window of a whole volume, as described above. */
    public static IntensityWindow of(Volume volume) {
        float[] v = volume.raw();
        int nonzero = 0;
        int finite = 0;
        for (float f : v) {
            if (Float.isFinite(f)) {
                finite++;
                if (f != 0) {
                    nonzero++;
                }
            }
        }
        if (nonzero == 0) {
            return new IntensityWindow(0, 0, "no nonzero finite voxels");
        }
        float[] s = new float[nonzero];
        int n = 0;
        for (float f : v) {
            if (f != 0 && Float.isFinite(f)) {
                s[n++] = f;
            }
        }
        Arrays.sort(s);
        double lo = Intensities.quantile(s, s.length, LOW_PERCENTILE / 100);
        double hi = Intensities.quantile(s, s.length, HIGH_PERCENTILE / 100);
        if (hi > lo) {
            return new IntensityWindow(
                    lo, hi, "percentiles " + LOW_PERCENTILE + "-" + HIGH_PERCENTILE + " of nonzero voxels");
        }
        // a binary mask has one nonzero value: span the zeros too
        boolean zeros = finite > nonzero;
        float min = zeros ? Math.min(0f, s[0]) : s[0];
        float max = zeros ? Math.max(0f, s[s.length - 1]) : s[s.length - 1];
        return new IntensityWindow(min, max, "min-max of all voxels");
    }

    /** {@code v} mapped to [0, 1]. */
    public float apply(float v) {
        if (Float.isNaN(v)) {
            return 0f;
        }
        if (high == low) {
            return v > high ? 1f : 0f;
        }
        double g = (v - low) / (high - low);
        return (float) Math.min(1.0, Math.max(0.0, g));
    }

    /** {@code "low,high"}, for metadata. */
    public String describe() {
        return low + "," + high;
    }
}

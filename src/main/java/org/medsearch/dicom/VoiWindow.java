package org.medsearch.dicom;

import java.util.Arrays;
import java.util.Locale;
import org.medsearch.image.Intensities;

/**
 * A linear VOI window: {@code v = clamp((x - (center - width/2)) / width, 0, 1)} for a modality value
 * {@code x} (Hounsfield units for CT), with the choice that produced it described for metadata.
 *
 * <p>{@link DicomImageReader} picks, in order: a {@link WindowPreset}; the file's first WindowCenter
 * and WindowWidth (when the width is at least 1); otherwise the 0.5th to 99.5th percentile of the
 * frame's values, leaving out pixels equal to PixelPaddingValue, which mark "no data" (the corners
 * of a round CT field of view) rather than intensity.
 *
 * <pre>{@code
 * VoiWindow w = VoiWindow.of(WindowPreset.ABDOMEN);     // C40 W400
 * float[] hu = dicom.frame(0);
 * float[] unit = w.apply(hu, false);                    // -160 HU -> 0, 40 -> 0.5, 240 -> 1
 * }</pre>
 *
 * @param center window centre, in modality units
 * @param width window width, positive
 * @param description e.g. {@code "preset abdomen C40 W400"}, {@code "file C40 W400"}, {@code "percentile 0.5-99.5 [-1024, 1311]"}
 */
public record VoiWindow(double center, double width, String description) {

    public VoiWindow {
        if (!(width > 0) || !Double.isFinite(center) || !Double.isFinite(width)) {
            throw new IllegalArgumentException("window needs a finite centre and a positive width");
        }
    }

    public static VoiWindow of(WindowPreset p) {
        return new VoiWindow(
                p.center(), p.width(), "preset " + p.label() + " C" + num(p.center()) + " W" + num(p.width()));
    }

    /** The window stored in the file, as read from its first WindowCenter/WindowWidth values. */
    public static VoiWindow fromFile(double center, double width) {
        return new VoiWindow(center, width, "file C" + num(center) + " W" + num(width));
    }

    /**
     * The 0.5th-99.5th percentile window of {@code values}, ignoring NaN (used to mark padding); the
     * percentiles interpolate linearly, as numpy's default does. An image of one value gets a window
     * of width 1 starting there, so it maps to 0.
     */
    public static VoiWindow percentile(float[] values) {
        float[] v = Arrays.copyOf(values, values.length);
        Arrays.sort(v); // NaN sorts last
        int n = v.length;
        while (n > 0 && Float.isNaN(v[n - 1])) {
            n--;
        }
        if (n == 0) {
            return new VoiWindow(0.5, 1, "percentile 0.5-99.5 [no data]");
        }
        double lo = Intensities.quantile(v, n, 0.005);
        double hi = Intensities.quantile(v, n, 0.995);
        String d = "percentile 0.5-99.5 [" + num(lo) + ", " + num(hi) + "]";
        if (hi - lo <= 0) {
            return new VoiWindow(lo + 0.5, 1, d);
        }
        return new VoiWindow((lo + hi) / 2, hi - lo, d);
    }

    /**
     * Maps modality values to [0, 1] in a new array; {@code invert} (MONOCHROME1) flips the result.
     * NaN (padding) maps like a value below the window.
     */
    public float[] apply(float[] values, boolean invert) {
        float[] out = new float[values.length];
        double lo = center - width / 2;
        for (int i = 0; i < values.length; i++) {
            double x = (values[i] - lo) / width;
            float v = (float) (x >= 1 ? 1 : x > 0 ? x : 0);
            out[i] = invert ? 1 - v : v;
        }
        return out;
    }

    /** Up to four significant decimals, no trailing zeros: 40, -600, 0.6615. */
    static String num(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            return Long.toString((long) d);
        }
        String s = String.format(Locale.ROOT, "%.4f", d);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}

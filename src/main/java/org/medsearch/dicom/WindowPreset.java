package org.medsearch.dicom;

import java.util.Locale;

/**
 * Named CT windows (centre and width in Hounsfield units) that override the file's own window. A
 * preset maps {@code centre - width/2} to 0 and {@code centre + width/2} to 1, linearly.
 *
 * <pre>{@code
 * DicomImageReader abdomen = new DicomImageReader().withWindow(WindowPreset.ABDOMEN);
 * WindowPreset p = WindowPreset.parse("lung"); // LUNG
 * }</pre>
 */
public enum WindowPreset {
    BRAIN(40, 80),
    LUNG(-600, 1500),
    ABDOMEN(40, 400),
    BONE(400, 1800),
    MEDIASTINUM(50, 350);

    private final double center;
    private final double width;

    WindowPreset(double center, double width) {
        this.center = center;
        this.width = width;
    }

    public double center() {
        return center;
    }

    public double width() {
        return width;
    }

    /** The preset named {@code name} (any case), e.g. from a command-line option. */
    public static WindowPreset parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "unknown window preset '" + name + "'; expected one of brain, lung, abdomen, bone, mediastinum");
        }
    }

    /** The lower-case name used in metadata, e.g. {@code "abdomen"}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}

package org.medsearch.volume;

import java.util.Locale;

/**
 * An anatomical plane, named by what a radiologist sees, and the axis of a canonical (RAS)
 * {@link Volume} it cuts across: axial slices are stacked along S (axis 2, index 0 = most inferior),
 * coronal along A (axis 1, index 0 = most posterior), sagittal along R (axis 0, index 0 = patient's
 * left).
 *
 * <p>How {@link SliceSelector} lays each slice out as a 2D image (radiological convention, as a
 * viewer shows it):
 * <ul>
 *   <li>axial, seen from the feet: anterior at the top, the patient's right on the image's left;
 *       {@code nx} columns by {@code ny} rows.
 *   <li>coronal, seen from the front: superior at the top, the patient's right on the image's left;
 *       {@code nx} columns by {@code nz} rows.
 *   <li>sagittal, seen from the patient's left: superior at the top, anterior on the image's left;
 *       {@code ny} columns by {@code nz} rows.
 * </ul>
 *
 * <pre>{@code
 * Plane p = Plane.parse("Axial");   // AXIAL
 * p.axis();                          // 2
 * p.label();                         // "axial"
 * }</pre>
 */
public enum Plane {
    AXIAL(2, "anterior at top, patient right on image left"),
    CORONAL(1, "superior at top, patient right on image left"),
    SAGITTAL(0, "superior at top, anterior on image left");

    private final int axis;
    private final String display;

    Plane(int axis, String display) {
        this.axis = axis;
        this.display = display;
    }

    /** The canonical (RAS) axis the slices are stacked along: 0 for sagittal, 1 coronal, 2 axial. */
    public int axis() {
        return axis;
    }

    /** The lower-case name used in options, file names and metadata. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** How the 2D slice is laid out, for metadata. */
    public String display() {
        return display;
    }

    /**
     * The plane named {@code s}, in any case.
     *
     * @throws IllegalArgumentException for any other word
     */
    public static Plane parse(String s) {
        for (Plane p : values()) {
            if (p.label().equalsIgnoreCase(s == null ? "" : s.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("plane must be axial, coronal or sagittal, got '" + s + "'");
    }
}

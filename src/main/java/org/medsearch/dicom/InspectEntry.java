package org.medsearch.dicom;

/**
 * One top-level element as {@code medsearch inspect} shows it. Identifying values (see
 * {@link TagDictionary#isIdentifying}) read {@code "<hidden>"} unless they were asked for.
 *
 * <pre>{@code
 * for (InspectEntry e : dicom.inspect(false)) {
 *     System.out.println(e); // (0010,0010) PN PatientName = <hidden>
 * }
 * }</pre>
 *
 * @param tag {@code group << 16 | element}
 * @param keyword the dictionary keyword, {@code "(private)"} or {@code "(unknown)"}
 * @param vr the value representation
 * @param value a short rendering of the value, at most about 64 characters
 * @param identifying whether the value could identify a patient or study
 */
public record InspectEntry(int tag, String keyword, String vr, String value, boolean identifying) {

    /** The tag as {@code (gggg,eeee)}. */
    public String tagString() {
        return Text.tag(tag);
    }

    @Override
    public String toString() {
        return tagString() + " " + vr + " " + keyword + " = " + value;
    }
}

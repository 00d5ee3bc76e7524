package org.medsearch.dicomweb;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One dataset of a QIDO-RS answer in the DICOM JSON model (PS3.18 F.2): attributes keyed by their
 * 8-digit hex tag, each with a {@code vr} and a {@code Value} array.
 *
 * <pre>{@code
 * String uid = series.string(DicomJson.SERIES_UID); // null when absent
 * }</pre>
 */
public record DicomJson(JsonNode node) {

    public static final String STUDY_UID = "0020000D";
    public static final String SERIES_UID = "0020000E";
    public static final String SOP_INSTANCE_UID = "00080018";
    public static final String SOP_CLASS_UID = "00080016";
    public static final String MODALITY = "00080060";
    public static final String BODY_PART = "00180015";
    public static final String INSTANCE_NUMBER = "00200013";
    public static final String ROWS = "00280010";
    public static final String NUMBER_OF_FRAMES = "00280008";
    public static final String SERIES_INSTANCES = "00201209";

    /** The first value of {@code tag} as text, or null when absent or empty. */
    public String string(String tag) {
        JsonNode v = first(tag);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isObject()) {
            return null; // a person name or sequence item: never read, never stored
        }
        String s = v.asText().strip();
        return s.isEmpty() ? null : s;
    }

    /** The first value of {@code tag} as an integer, or {@code fallback} when absent or not a number. */
    public int integer(String tag, int fallback) {
        JsonNode v = first(tag);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (v.isNumber()) {
            return v.asInt();
        }
        try {
            return Integer.parseInt(v.asText().strip());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    /** Whether the dataset carries {@code tag} at all (with or without a value). */
    public boolean has(String tag) {
        return node.has(tag) || node.has(tag.toLowerCase(java.util.Locale.ROOT));
    }

    private JsonNode first(String tag) {
        JsonNode a = node.get(tag);
        if (a == null) {
            a = node.get(tag.toLowerCase(java.util.Locale.ROOT));
        }
        if (a == null) {
            return null;
        }
        JsonNode values = a.get("Value");
        return values == null || !values.isArray() || values.isEmpty() ? null : values.get(0);
    }
}

package org.medsearch.dicomweb;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.medsearch.util.MedsearchException;

/**
 * Which series of a PACS to index, as QIDO-RS matching keys on the series search
 * ({@code GET /series?...}): Modality (series level), StudyDate (study level, matched relationally
 * as DICOMweb allows) and BodyPartExamined (series level). A null field matches everything.
 *
 * <p>{@code studyDate} is a DICOM date or range: {@code 20240101}, {@code 20240101-},
 * {@code -20241231} or {@code 20240101-20241231}; anything else is refused before any request.
 *
 * <pre>{@code
 * QidoFilter f = QidoFilter.of("CT", "20240101-", "HEAD");
 * f.query(); // Modality=CT&StudyDate=20240101-&BodyPartExamined=HEAD
 * }</pre>
 */
public record QidoFilter(String modality, String studyDate, String bodyPart) {

    public static final QidoFilter ALL = new QidoFilter(null, null, null);

    private static final Pattern DATE = Pattern.compile("\\d{8}");
    private static final Pattern CODE = Pattern.compile("[A-Za-z0-9_ ]{1,16}");

    /** A checked filter; blank values match everything. */
    public static QidoFilter of(String modality, String studyDate, String bodyPart) throws MedsearchException {
        String m = blankToNull(modality);
        String d = blankToNull(studyDate);
        String b = blankToNull(bodyPart);
        if (m != null && !CODE.matcher(m).matches()) {
            throw new MedsearchException("a modality is a DICOM code string such as CT or MR, got '" + m + "'");
        }
        if (b != null && !CODE.matcher(b).matches()) {
            throw new MedsearchException("a body part is a DICOM code string such as HEAD or CHEST, got '" + b + "'");
        }
        if (d != null) {
            int dash = d.indexOf('-');
            String from = dash < 0 ? d : d.substring(0, dash);
            String to = dash < 0 ? "" : d.substring(dash + 1);
            boolean ok = (from.isEmpty() || DATE.matcher(from).matches())
                    && (to.isEmpty() || DATE.matcher(to).matches())
                    && !(from.isEmpty() && to.isEmpty())
                    && (dash >= 0 || !from.isEmpty());
            if (!ok) {
                throw new MedsearchException(
                        "a study date is YYYYMMDD, YYYYMMDD-, -YYYYMMDD or YYYYMMDD-YYYYMMDD, got '"
                                + (d.length() > 40 ? d.substring(0, 40) + "..." : d) + "'");
            }
        }
        return new QidoFilter(
                m == null ? null : m.toUpperCase(java.util.Locale.ROOT),
                d,
                b == null ? null : b.toUpperCase(java.util.Locale.ROOT));
    }

    /** The matching keys, by DICOM keyword, in a stable order. */
    public Map<String, String> keys() {
        Map<String, String> k = new LinkedHashMap<>();
        if (modality != null) {
            k.put("Modality", modality);
        }
        if (studyDate != null) {
            k.put("StudyDate", studyDate);
        }
        if (bodyPart != null) {
            k.put("BodyPartExamined", bodyPart);
        }
        return k;
    }

    /** The matching keys as a URL query (without '?'); empty when everything matches. */
    public String query() {
        StringBuilder q = new StringBuilder();
        keys().forEach((k, v) -> {
            if (q.length() > 0) {
                q.append('&');
            }
            q.append(k).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8));
        });
        return q.toString();
    }

    /** For reports: the filter, or "all series". */
    @Override
    public String toString() {
        return keys().isEmpty() ? "all series" : query();
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}

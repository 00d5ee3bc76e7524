package org.medsearch.search;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.medsearch.index.IndexedImage;
import org.medsearch.util.MedsearchException;

/**
 * Turns an indexed image into a link that opens it in the PACS viewer, from a URL template with
 * {@code {study}}, {@code {series}} and {@code {instance}} (the Study, Series and SOP Instance UIDs
 * that {@code index --link-back} stores). For example OHIF:
 * {@code https://viewer.example.org/viewer?StudyInstanceUIDs={study}}, or Orthanc Explorer 2:
 * {@code https://pacs.example.org/ui/app/#/filtered-studies?StudyInstanceUID={study}}.
 *
 * <p>Contract: the template is an absolute http(s) URL using at least one placeholder and no
 * other; it is checked once, at start. An image gets a link only when it carries every UID the
 * template uses (a slice of a volume carries no instance UID; an image indexed without
 * {@code --link-back} carries none); values are URL-encoded.
 *
 * <pre>{@code
 * ViewerLink v = ViewerLink.parse("https://ohif.example.org/viewer?StudyInstanceUIDs={study}");
 * String url = v.forImage(hit.image()); // null when the image carries no study UID
 * }</pre>
 */
public final class ViewerLink {

    /** The metadata keys the UIDs are stored under (written by the PACS sync). */
    public static final Map<String, String> KEYS =
            Map.of("study", "study_uid", "series", "series_uid", "instance", "instance_uid");

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]*)\\}");

    private final String template;

    private ViewerLink(String template) {
        this.template = template;
    }

    public static ViewerLink parse(String template) throws MedsearchException {
        String t = template == null ? "" : template.strip();
        String scheme = t.toLowerCase(java.util.Locale.ROOT);
        if (!(scheme.startsWith("https://") || scheme.startsWith("http://")) || t.contains(" ") || t.length() > 2000) {
            throw new MedsearchException("a viewer URL template is an http(s) URL with {study}, {series} or {instance},"
                    + " got '" + (t.length() > 80 ? t.substring(0, 80) + "..." : t) + "'");
        }
        Matcher m = PLACEHOLDER.matcher(t);
        int used = 0;
        while (m.find()) {
            if (!KEYS.containsKey(m.group(1))) {
                throw new MedsearchException(
                        "a viewer URL template knows {study}, {series} and {instance}, not {" + m.group(1) + "}");
            }
            used++;
        }
        if (used == 0) {
            throw new MedsearchException("a viewer URL template must use {study}, {series} or {instance}: '" + t + "'");
        }
        return new ViewerLink(t);
    }

    /** The link for {@code image}, or null when it lacks a UID the template uses. */
    public String forImage(IndexedImage image) {
        Map<String, String> meta = image.metadata();
        if (meta == null) {
            return null;
        }
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = meta.get(KEYS.get(m.group(1)));
            if (v == null || v.isBlank()) {
                return null;
            }
            m.appendReplacement(
                    out,
                    Matcher.quoteReplacement(
                            URLEncoder.encode(v, StandardCharsets.UTF_8).replace("+", "%20")));
        }
        m.appendTail(out);
        return out.toString();
    }

    @Override
    public String toString() {
        return template;
    }
}

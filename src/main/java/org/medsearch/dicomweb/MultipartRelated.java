package org.medsearch.dicomweb;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.medsearch.util.MedsearchException;

/**
 * Splits a {@code multipart/related} body (RFC 2387), the form WADO-RS answers in, into its parts.
 * Written by hand: the JDK has no MIME parser, and the libraries that do (Jakarta Mail, Commons
 * FileUpload) bring a mail stack or handle {@code multipart/form-data} only.
 *
 * <p>Contract: the whole body is in memory (the caller bounds its size); each part's body is copied
 * out exactly, without the CRLF that precedes the next delimiter. A body without the boundary, a
 * part without its header block or a missing closing delimiter is a {@link MedsearchException};
 * text before the first delimiter (the preamble) is ignored. Header names are lower-cased.
 *
 * <pre>{@code
 * List<MultipartRelated.Part> parts = MultipartRelated.parse(response.headers()
 *         .firstValue("Content-Type").orElse(""), response.body());
 * byte[] dicom = parts.get(0).body();
 * }</pre>
 */
public final class MultipartRelated {
    private MultipartRelated() {}

    /** One part: its headers (names lower-case) and its bytes. */
    public record Part(Map<String, String> headers, byte[] body) {
        /** The part's media type, without parameters, lower-case; "" when it has none. */
        public String mediaType() {
            String ct = headers.getOrDefault("content-type", "");
            int semi = ct.indexOf(';');
            return (semi < 0 ? ct : ct.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
        }
    }

    /** The {@code boundary} parameter of a Content-Type, unquoted, or null. */
    public static String boundary(String contentType) {
        if (contentType == null) {
            return null;
        }
        for (String param : contentType.split(";")) {
            String p = param.strip();
            int eq = p.indexOf('=');
            if (eq > 0 && p.substring(0, eq).strip().equalsIgnoreCase("boundary")) {
                String v = p.substring(eq + 1).strip();
                if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                    v = v.substring(1, v.length() - 1);
                }
                return v.isEmpty() ? null : v;
            }
        }
        return null;
    }

    public static List<Part> parse(String contentType, byte[] body) throws MedsearchException {
        String boundary = boundary(contentType);
        if (boundary == null) {
            throw new MedsearchException(
                    "the answer is multipart without a boundary (Content-Type: " + contentType + ")");
        }
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        int at = first(body, delimiter);
        if (at < 0) {
            throw new MedsearchException("the multipart answer holds no part (its boundary never appears)");
        }
        List<Part> parts = new ArrayList<>();
        byte[] next = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        int pos = at + delimiter.length;
        while (true) {
            if (startsWith(body, pos, "--")) {
                return parts; // the closing delimiter
            }
            pos = skipLineEnd(body, skipTransportPadding(body, pos));
            int headersEnd = indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), pos);
            Map<String, String> headers = new LinkedHashMap<>();
            int bodyStart;
            int firstDelimiter = indexOf(body, next, pos);
            if (startsWith(body, pos, "\r\n")) {
                bodyStart = firstDelimiter == pos ? pos : pos + 2; // a part without headers (and maybe without body)
            } else if (headersEnd < 0 || (firstDelimiter >= 0 && firstDelimiter < headersEnd + 2)) {
                // no blank line before the next delimiter: a later part's must not serve
                throw new MedsearchException("a part of the multipart answer has no end of its headers");
            } else {
                for (String line : new String(body, pos, headersEnd - pos, StandardCharsets.ISO_8859_1).split("\r\n")) {
                    int colon = line.indexOf(':');
                    if (colon > 0) {
                        headers.put(
                                line.substring(0, colon).strip().toLowerCase(Locale.ROOT),
                                line.substring(colon + 1).strip());
                    }
                }
                // the delimiter right after the headers' CRLF: a part without body
                bodyStart = firstDelimiter == headersEnd + 2 ? firstDelimiter : headersEnd + 4;
            }
            int end = firstDelimiter; // at or after bodyStart
            if (end < 0) {
                throw new MedsearchException(
                        "the multipart answer is truncated (no delimiter after part " + (parts.size() + 1) + ")");
            }
            byte[] content = new byte[end - bodyStart];
            System.arraycopy(body, bodyStart, content, 0, content.length);
            parts.add(new Part(headers, content));
            pos = end + next.length;
        }
    }

    /** The first delimiter: at the very start, or at the start of a line. */
    private static int first(byte[] body, byte[] delimiter) {
        if (startsWith(body, 0, delimiter)) {
            return 0;
        }
        byte[] withCrlf = new byte[delimiter.length + 2];
        withCrlf[0] = '\r';
        withCrlf[1] = '\n';
        System.arraycopy(delimiter, 0, withCrlf, 2, delimiter.length);
        int i = indexOf(body, withCrlf, 0);
        return i < 0 ? -1 : i + 2;
    }

    /** RFC 2046 allows linear white space between a delimiter and its line end. */
    private static int skipTransportPadding(byte[] b, int pos) {
        while (pos < b.length && (b[pos] == ' ' || b[pos] == '\t')) {
            pos++;
        }
        return pos;
    }

    private static int skipLineEnd(byte[] b, int pos) throws MedsearchException {
        if (startsWith(b, pos, "\r\n")) {
            return pos + 2;
        }
        if (pos < b.length && b[pos] == '\n') {
            return pos + 1;
        }
        throw new MedsearchException("the multipart answer is malformed (no line end after a delimiter)");
    }

    private static boolean startsWith(byte[] b, int pos, String s) {
        return startsWith(b, pos, s.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static boolean startsWith(byte[] b, int pos, byte[] p) {
        if (pos < 0 || pos + p.length > b.length) {
            return false;
        }
        for (int i = 0; i < p.length; i++) {
            if (b[pos + i] != p[i]) {
                return false;
            }
        }
        return true;
    }

    static int indexOf(byte[] b, byte[] p, int from) {
        byte first = p[0];
        int last = b.length - p.length;
        for (int i = Math.max(0, from); i <= last; i++) {
            if (b[i] == first && startsWith(b, i, p)) {
                return i;
            }
        }
        return -1;
    }
}

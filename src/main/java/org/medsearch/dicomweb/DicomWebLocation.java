package org.medsearch.dicomweb;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import org.medsearch.util.MedsearchException;

/**
 * Where a DICOMweb service is: {@code dicomweb://HOST[:PORT]/PATH} (plain HTTP) or
 * {@code dicomwebs://HOST[:PORT]/PATH} (HTTPS). {@code PATH} is the service root under which
 * {@code /studies}, {@code /series} and {@code /instances} answer, e.g. Orthanc's {@code /dicom-web}.
 *
 * <p>Contract: a location never carries credentials (they would show in {@code ps} and in shell
 * histories), a query or a fragment; such a location, or one that is not DICOMweb at all, is refused
 * with a {@link MedsearchException} naming the expected form. {@link #toString()} gives the form it
 * was parsed from, normalised (lower-case scheme and host, no trailing slash), which is also the
 * prefix of every image the index stores from it.
 *
 * <pre>{@code
 * DicomWebLocation pacs = DicomWebLocation.parse("dicomweb://pacs.example.org:8042/dicom-web");
 * URI studies = pacs.resolve("studies"); // http://pacs.example.org:8042/dicom-web/studies
 * }</pre>
 *
 * @param tls whether the service is reached over HTTPS
 * @param host the host name or address
 * @param port the port (80 or 443 when the location names none)
 * @param path the service root, starting with '/' (or empty), without a trailing '/'
 */
public record DicomWebLocation(boolean tls, String host, int port, String path) {

    public static final String FORM = "dicomweb://HOST:PORT/PATH (or dicomwebs:// for HTTPS)";

    /** Whether {@code s} is meant as a DICOMweb location (its scheme), well-formed or not. */
    public static boolean looksLike(String s) {
        String l = s.strip().toLowerCase(Locale.ROOT);
        return l.startsWith("dicomweb://") || l.startsWith("dicomwebs://");
    }

    public static DicomWebLocation parse(String raw) throws MedsearchException {
        String s = raw == null ? "" : raw.strip();
        if (!looksLike(s)) {
            throw new MedsearchException("'" + shown(s) + "' is not a DICOMweb location: expected " + FORM);
        }
        URI u;
        try {
            u = new URI(s);
        } catch (URISyntaxException e) {
            throw new MedsearchException("'" + shown(s) + "' is not a valid DICOMweb location: expected " + FORM);
        }
        if (u.getRawUserInfo() != null) {
            throw new MedsearchException("a DICOMweb location must not carry credentials (they show in 'ps'):"
                    + " put them in a file or the environment instead");
        }
        if (u.getHost() == null || u.getRawQuery() != null || u.getRawFragment() != null) {
            throw new MedsearchException("'" + shown(s) + "' is not a valid DICOMweb location: expected " + FORM);
        }
        boolean tls = u.getScheme().equalsIgnoreCase("dicomwebs");
        int port = u.getPort() == -1 ? (tls ? 443 : 80) : u.getPort();
        String path = u.getRawPath() == null ? "" : u.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return new DicomWebLocation(tls, u.getHost().toLowerCase(Locale.ROOT), port, path);
    }

    /** The HTTP(S) URI of the service root. */
    public URI baseUri() {
        return URI.create((tls ? "https" : "http") + "://" + hostForUri() + ":" + port + path);
    }

    /** {@code relative} (e.g. {@code studies/1.2.3/series}) under the service root. */
    public URI resolve(String relative) {
        return URI.create(baseUri() + "/" + relative);
    }

    private String hostForUri() {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    @Override
    public String toString() {
        return (tls ? "dicomwebs" : "dicomweb") + "://" + hostForUri() + ":" + port + path;
    }

    private static String shown(String raw) {
        String s = raw.replaceAll("\\p{Cntrl}", "?"); // a line break would split the one-line message
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}

package org.medsearch.dicomweb;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;

/**
 * A read-only DICOMweb client: QIDO-RS searches (studies, series, instances, paged) and WADO-RS
 * retrieval of single instances. It never writes to the archive.
 *
 * <p>Contract:
 * <ul>
 *   <li>Every request carries the {@link PacsCredentials} given, over TLS with the JDK's trust store
 *       or the one given ({@link Builder#optTrustStore}); host names are verified.</li>
 *   <li>Connection failures, timeouts, HTTP 5xx, 429 and 408 are retried with exponential back-off
 *       and jitter, {@link Builder#optRetries} times (Retry-After is honoured up to 30 s). Other
 *       answers are final.</li>
 *   <li>A failure reaches the caller as one {@link MedsearchException} line that says which kind it
 *       is: unreachable, refused credentials, untrusted certificate, not a DICOMweb service, no such
 *       instance, or an instance over the size limit.</li>
 *   <li>Thread-safe: one client serves any number of threads; {@link Builder#optParallel} is a hint
 *       the callers read ({@link #parallel()}) to bound their concurrent retrievals.</li>
 * </ul>
 *
 * <pre>{@code
 * try (DicomWebClient pacs = DicomWebClient.builder()
 *         .setLocation(DicomWebLocation.parse("dicomweb://127.0.0.1:8042/dicom-web"))
 *         .optCredentials(PacsCredentials.basic("medsearch", "s3cret"))
 *         .build()) {
 *     pacs.probe();
 *     for (DicomJson series : pacs.searchSeries(QidoFilter.of("CT", null, null))) { ... }
 * }
 * }</pre>
 */
public final class DicomWebClient implements AutoCloseable {

    /** What WADO-RS is asked for: the instance as stored, in whatever transfer syntax it has. */
    static final String ACCEPT_ANY_SYNTAX = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";
    /** The fallback for archives that refuse {@code transfer-syntax=*}: they send explicit VR little endian. */
    static final String ACCEPT_DEFAULT_SYNTAX = "multipart/related; type=\"application/dicom\"";

    private static final int PAGE = 1000;

    private final DicomWebLocation location;
    private final PacsCredentials credentials;
    private final HttpClient http;
    private final Duration timeout;
    private final int retries;
    private final long backoffMillis;
    private final int parallel;
    private final long maxInstanceBytes;
    private volatile boolean anySyntaxRefused;

    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong retrievals = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();

    private DicomWebClient(Builder b) throws MedsearchException {
        this.location = b.location;
        this.credentials = b.credentials;
        this.timeout = b.timeout;
        this.retries = b.retries;
        this.backoffMillis = b.backoffMillis;
        this.parallel = b.parallel;
        this.maxInstanceBytes = b.maxInstanceBytes;
        HttpClient.Builder hb = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(b.timeout)
                .followRedirects(HttpClient.Redirect.NEVER);
        if (b.trustStore != null) {
            hb.sslContext(sslContext(b.trustStore));
        }
        this.http = hb.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Settings of a client: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private DicomWebLocation location;
        private PacsCredentials credentials;
        private Path trustStore;
        private Duration timeout = Duration.ofSeconds(30);
        private int retries = 4;
        private long backoffMillis = 500;
        private int parallel = 4;
        private long maxInstanceBytes = 1L << 30;

        private Builder() {}

        public Builder setLocation(DicomWebLocation l) {
            this.location = l;
            return this;
        }

        /** Basic or bearer credentials; null for an archive without authentication. */
        public Builder optCredentials(PacsCredentials c) {
            this.credentials = c;
            return this;
        }

        /** CA certificates to trust instead of the JDK's: a PEM file, or a PKCS#12 or JKS store without password. */
        public Builder optTrustStore(Path file) {
            this.trustStore = file;
            return this;
        }

        /** The longest a connection or an answer may take (default 30 s). */
        public Builder optTimeout(Duration d) {
            this.timeout = d;
            return this;
        }

        /** Retries of a failed request (default 4), and the first back-off (default 500 ms, doubling). */
        public Builder optRetries(int n, long firstBackoffMillis) {
            this.retries = Math.max(0, n);
            this.backoffMillis = Math.max(1, firstBackoffMillis);
            return this;
        }

        /** Concurrent retrievals the callers may run (default 4). */
        public Builder optParallel(int n) {
            this.parallel = Math.max(1, n);
            return this;
        }

        /** The largest instance accepted (default 1 GiB): a bigger one is refused, not buffered. */
        public Builder optMaxInstanceBytes(long n) {
            this.maxInstanceBytes = n;
            return this;
        }

        public DicomWebClient build() throws MedsearchException {
            if (location == null) {
                throw new IllegalStateException("setLocation is required");
            }
            return new DicomWebClient(this);
        }
    }

    public DicomWebLocation location() {
        return location;
    }

    public int parallel() {
        return parallel;
    }

    /** Requests sent (retries included), instances retrieved, their bytes, and retries. */
    public record Counters(long requests, long retrievals, long bytes, long retries) {}

    public Counters counters() {
        return new Counters(requests.get(), retrievals.get(), bytes.get(), retried.get());
    }

    /**
     * Checks that the location answers as a DICOMweb service with these credentials: a QIDO-RS
     * study search for one study must give a JSON array (or 204).
     */
    public void probe() throws MedsearchException {
        qido("studies?limit=1");
    }

    /** The series matching {@code filter}, every page of them. */
    public List<DicomJson> searchSeries(QidoFilter filter) throws MedsearchException {
        String q = filter.query();
        return paged("series?" + (q.isEmpty() ? "" : q + "&") + "includefield=" + DicomJson.SERIES_INSTANCES + ","
                + DicomJson.BODY_PART);
    }

    /** The instances of one series, every page of them. */
    public List<DicomJson> searchInstances(String studyUid, String seriesUid) throws MedsearchException {
        return paged("studies/" + uid(studyUid) + "/series/" + uid(seriesUid) + "/instances?includefield="
                + DicomJson.NUMBER_OF_FRAMES + "," + DicomJson.ROWS);
    }

    /**
     * Every instance of every series that matches {@code filter}, in one paged search of all
     * instances (QIDO-RS requires an archive to match study- and series-level keys there), each
     * with its Study and Series Instance UIDs: a few requests where listing series by series takes
     * one per series.
     */
    public List<DicomJson> searchAllInstances(QidoFilter filter) throws MedsearchException {
        String q = filter.query();
        return paged("instances?" + (q.isEmpty() ? "" : q + "&") + "includefield=" + DicomJson.NUMBER_OF_FRAMES + ","
                + DicomJson.ROWS + "," + DicomJson.STUDY_UID + "," + DicomJson.SERIES_UID);
    }

    /** The instance with this SOP Instance UID, if the archive has it. */
    public Optional<DicomJson> findInstance(String sopInstanceUid) throws MedsearchException {
        List<DicomJson> found = qido("instances?SOPInstanceUID=" + uid(sopInstanceUid) + "&limit=2");
        return found.stream()
                .filter(d -> sopInstanceUid.equals(d.string(DicomJson.SOP_INSTANCE_UID)))
                .findFirst();
    }

    /** One instance's bytes (a DICOM Part 10 file), by WADO-RS. */
    public byte[] retrieve(String studyUid, String seriesUid, String instanceUid) throws MedsearchException {
        String rel = "studies/" + uid(studyUid) + "/series/" + uid(seriesUid) + "/instances/" + uid(instanceUid);
        Answer r = send(rel, anySyntaxRefused ? ACCEPT_DEFAULT_SYNTAX : ACCEPT_ANY_SYNTAX);
        if ((r.status() == 406 || r.status() == 400) && !anySyntaxRefused) {
            anySyntaxRefused = true; // this archive transcodes: ask for its default from now on
            r = send(rel, ACCEPT_DEFAULT_SYNTAX);
        }
        if (r.status() == 404) {
            throw new DicomWebException(
                    DicomWebException.Kind.NO_SUCH_INSTANCE,
                    "the PACS at " + location + " has no instance " + instanceUid
                            + " (it may have been deleted since it was listed)");
        }
        checkStatus(r, "WADO-RS");
        String ct = r.header("Content-Type").orElse("");
        byte[] dicom;
        if (ct.toLowerCase(Locale.ROOT).startsWith("multipart/")) {
            List<MultipartRelated.Part> parts = MultipartRelated.parse(ct, r.body());
            if (parts.isEmpty()) {
                throw new DicomWebException(
                        DicomWebException.Kind.FAILED,
                        "the PACS at " + location + " sent no part for instance " + instanceUid);
            }
            dicom = parts.get(0).body();
        } else if (ct.toLowerCase(Locale.ROOT).startsWith("application/dicom")) {
            dicom = r.body();
        } else {
            throw notDicomWeb("WADO-RS", r);
        }
        retrievals.incrementAndGet();
        bytes.addAndGet(dicom.length);
        return dicom;
    }

    private List<DicomJson> paged(String rel) throws MedsearchException {
        List<DicomJson> all = new ArrayList<>();
        JsonNode firstOfLast = null;
        for (int offset = 0; ; ) {
            Page page = qidoPage(rel + "&limit=" + PAGE + "&offset=" + offset);
            List<DicomJson> got = page.datasets();
            if (got.isEmpty()) {
                return all;
            }
            if (got.get(0).node().equals(firstOfLast)) {
                throw new DicomWebException(
                        DicomWebException.Kind.FAILED,
                        "the PACS at " + location + " ignores the QIDO-RS offset: it sent the same page again"
                                + " (offset " + offset + ")");
            }
            all.addAll(got);
            // more than asked: the archive ignored the limit and sent everything; fewer without a Warning: the
            // last page (with one, PS3.18 8.3.4.4, the archive capped the page and has more)
            if (got.size() > PAGE || (got.size() < PAGE && !page.partial())) {
                return all;
            }
            firstOfLast = got.get(0).node();
            offset += got.size();
        }
    }

    private List<DicomJson> qido(String rel) throws MedsearchException {
        return qidoPage(rel).datasets();
    }

    /** The datasets of one QIDO-RS answer, and whether it came with a Warning (a capped page, or an ignored key). */
    private record Page(List<DicomJson> datasets, boolean partial) {}

    private Page qidoPage(String rel) throws MedsearchException {
        Answer r = send(rel, "application/dicom+json, application/json");
        if (r.status() == 204) {
            return new Page(List.of(), false);
        }
        checkStatus(r, "QIDO-RS");
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(r.body());
        } catch (IOException e) {
            throw notDicomWeb("QIDO-RS", r);
        }
        if (root == null || !root.isArray()) {
            throw notDicomWeb("QIDO-RS", r);
        }
        List<DicomJson> out = new ArrayList<>(root.size());
        for (JsonNode n : root) {
            if (!n.isObject()) {
                throw notDicomWeb("QIDO-RS", r);
            }
            out.add(new DicomJson(n));
        }
        return new Page(out, r.header("Warning").isPresent());
    }

    private void checkStatus(Answer r, String what) throws MedsearchException {
        int s = r.status();
        if (s / 100 == 3) {
            // not followed: the credentials would go wherever the redirect points
            throw new DicomWebException(
                    DicomWebException.Kind.FAILED,
                    "the PACS at " + location + " redirects " + what + " (HTTP " + s + ") to "
                            + r.header("Location").orElse("nowhere")
                            + ": give the location it redirects to");
        }
        if (s == 401 || s == 403) {
            throw new DicomWebException(
                    DicomWebException.Kind.CREDENTIALS,
                    credentials == null
                            ? "the PACS at " + location + " asks for credentials (HTTP " + s
                                    + "): give them in a file or in " + PacsCredentials.ENV
                            : "the PACS at " + location + " refused the credentials (HTTP " + s + ")");
        }
        if (s / 100 != 2) {
            throw s == 404 || s == 405 || s == 406 || s == 415
                    ? notDicomWeb(what, r)
                    : new DicomWebException(
                            s >= 500 ? DicomWebException.Kind.UNREACHABLE : DicomWebException.Kind.FAILED,
                            "the PACS at " + location + " answered a " + what + " request with HTTP " + s + ": "
                                    + snippet(r.body()));
        }
    }

    private DicomWebException notDicomWeb(String what, Answer r) {
        return new DicomWebException(
                DicomWebException.Kind.NOT_DICOMWEB,
                location + " does not answer as a DICOMweb service: " + what + " "
                        + r.uri().getRawPath() + " gave HTTP " + r.status() + " ("
                        + r.header("Content-Type").orElse("no content type") + ")");
    }

    /** One GET, retried on what may pass; the answer, whatever its status, once it is final. */
    private Answer send(String rel, String accept) throws MedsearchException {
        URI uri = location.resolve(rel);
        HttpRequest.Builder rb = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Accept", accept)
                .GET();
        if (credentials != null) {
            rb.header("Authorization", credentials.header());
        }
        HttpRequest req = rb.build();
        long wait = backoffMillis;
        for (int attempt = 0; ; attempt++) {
            requests.incrementAndGet();
            IOException failure;
            Answer r = null;
            try {
                r = read(http.send(req, HttpResponse.BodyHandlers.ofInputStream()));
                int s = r.status();
                if (!(s >= 500 || s == 429 || s == 408)) {
                    return r;
                }
                failure = null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MedsearchException("interrupted while waiting for the PACS at " + location);
            } catch (TooLarge e) {
                throw new DicomWebException(
                        DicomWebException.Kind.TOO_LARGE,
                        "an answer of the PACS at " + location + " is larger than "
                                + maxInstanceBytes + " bytes: refused ("
                                + rel.replaceAll("/instances/.*", "/instances/...")
                                + ")");
            } catch (SSLHandshakeException e) {
                throw new DicomWebException(
                        DicomWebException.Kind.TLS,
                        "TLS with the PACS at " + location + " failed: its certificate is not trusted (give its CA"
                                + " as a trust store) or does not name " + location.host() + " (" + oneLine(e) + ")");
            } catch (SSLException e) {
                throw new DicomWebException(
                        DicomWebException.Kind.TLS, "TLS with the PACS at " + location + " failed: " + oneLine(e));
            } catch (IOException e) {
                failure = e;
            }
            if (attempt >= retries) {
                if (r != null) {
                    return r; // a final 5xx: the caller words it
                }
                throw unreachable(failure);
            }
            retried.incrementAndGet();
            long sleep = wait + ThreadLocalRandom.current().nextLong(wait / 2 + 1);
            if (r != null) {
                sleep = Math.max(sleep, retryAfterMillis(r));
            }
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MedsearchException("interrupted while waiting for the PACS at " + location);
            }
            wait = Math.min(wait * 2, 30_000);
        }
    }

    private DicomWebException unreachable(IOException e) {
        String why;
        if (e instanceof HttpConnectTimeoutException) {
            why = "no connection within " + timeout.toSeconds() + " s";
        } else if (e instanceof HttpTimeoutException) {
            why = "no answer within " + timeout.toSeconds() + " s";
        } else if (e instanceof ConnectException || e.getCause() instanceof ConnectException) {
            why = "connection refused";
        } else if (e instanceof UnknownHostException || e.getCause() instanceof UnknownHostException) {
            why = "unknown host " + location.host();
        } else {
            why = oneLine(e);
        }
        return new DicomWebException(
                DicomWebException.Kind.UNREACHABLE,
                "cannot reach the PACS at " + location + ": " + why + " (after " + (retries + 1) + " attempts)");
    }

    private static long retryAfterMillis(Answer r) {
        try {
            long s = Long.parseLong(r.header("Retry-After").orElse("0").strip());
            return Math.min(30, Math.max(0, s)) * 1000;
        } catch (NumberFormatException e) {
            return 0; // an HTTP date: the back-off will do
        }
    }

    /** A final answer, its body read in the caller's thread and bounded. */
    private record Answer(int status, java.net.http.HttpHeaders headers, URI uri, byte[] body) {
        Optional<String> header(String name) {
            return headers.firstValue(name);
        }
    }

    /** Closes bodies that stall: the JDK client's timeout ends at the headers, not at the last byte. */
    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "dicomweb-watchdog");
                t.setDaemon(true);
                return t;
            });

    private Answer read(HttpResponse<InputStream> r) throws IOException {
        long cap = maxInstanceBytes + 64 * 1024; // the instance plus its multipart framing
        long declared = r.headers().firstValueAsLong("Content-Length").orElse(-1);
        InputStream in = r.body();
        java.util.concurrent.ScheduledFuture<?> watchdog = null;
        try {
            if (declared > cap) {
                throw new TooLarge();
            }
            watchdog = WATCHDOG.schedule(
                    () -> quietlyClose(in), timeout.toMillis() * 10, java.util.concurrent.TimeUnit.MILLISECONDS);
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, cap + 1));
            if (b.length > cap) {
                throw new TooLarge();
            }
            return new Answer(r.statusCode(), r.headers(), r.uri(), b);
        } finally {
            if (watchdog != null) {
                watchdog.cancel(false);
            }
            quietlyClose(in);
        }
    }

    private static void quietlyClose(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // closing is all that is left to do
        }
    }

    /** An answer that outgrows the cap. */
    private static final class TooLarge extends IOException {
        private static final long serialVersionUID = 1L;
    }

    private static String snippet(byte[] body) {
        if (body == null) {
            return "(no body)";
        }
        String s = new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8)
                .replaceAll("\\s+", " ")
                .strip();
        return s.isEmpty() ? "(empty body)" : s;
    }

    /** A cause for people: the innermost message, one line, without Java class names. */
    private static String oneLine(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && t.getCause().getMessage() != null) {
            t = t.getCause();
        }
        String m = t.getMessage() != null ? t.getMessage() : e.getMessage();
        if (m == null) {
            return "no detail";
        }
        return m.replaceAll("([a-z][a-z0-9_]*\\.)+[A-Za-z0-9_$]*(Exception|Error): ?", "")
                .replaceAll("\\s+", " ")
                .strip();
    }

    /** Whether {@code s} has the form of a DICOM UID: digits and dots, 1 to 64 characters. */
    public static boolean isUid(String s) {
        return s != null && s.matches("[0-9.]{1,64}");
    }

    /** A UID as a path or query value: DICOM UIDs are digits and dots; anything else is refused, not escaped. */
    static String uid(String uid) throws MedsearchException {
        if (!isUid(uid)) {
            throw new MedsearchException(
                    "'" + (uid == null ? "" : uid.length() > 70 ? uid.substring(0, 70) + "..." : uid)
                            + "' is not a DICOM UID (digits and dots, at most 64 characters)");
        }
        return URLEncoder.encode(uid, StandardCharsets.US_ASCII);
    }

    static SSLContext sslContext(Path file) throws MedsearchException {
        try {
            KeyStore ks;
            byte[] bytes = Files.readAllBytes(file);
            if (new String(bytes, 0, Math.min(bytes.length, 64), StandardCharsets.US_ASCII).contains("-----BEGIN")) {
                ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                int i = 0;
                for (Certificate c : CertificateFactory.getInstance("X.509")
                        .generateCertificates(new java.io.ByteArrayInputStream(bytes))) {
                    ks.setCertificateEntry("ca-" + i++, c);
                }
                if (i == 0) {
                    throw new MedsearchException(file + " holds no certificate");
                }
            } else {
                ks = KeyStore.getInstance(file.toFile(), new char[0]);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            if (e instanceof MedsearchException m) {
                throw m;
            }
            throw new MedsearchException("cannot read the trust store " + file
                    + " (a PEM file of CA certificates, or a PKCS#12 or JKS store without password): " + oneLine(e));
        }
    }

    @Override
    public void close() {
        // HttpClient has no close() before Java 21: its threads end with it once unreferenced
    }
}

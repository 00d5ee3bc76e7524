package org.medsearch.dicomweb;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Assumptions;
import org.medsearch.util.Json;

/**
 * A real Orthanc PACS (the Debian packages {@code orthanc} and {@code orthanc-dicomweb}) in a child
 * process on a free loopback port, with HTTP basic authentication and the DICOMweb plugin, for integration
 * tests of a DICOMweb client. Everything it writes (configuration, storage, index, log) stays in the
 * directory given to {@link #start}.
 *
 * <pre>{@code
 * assumeTrue(OrthancServer.available(), "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)");
 * try (OrthancServer orthanc = OrthancServer.start(tempDir)) {
 *     String id = orthanc.upload(Path.of("CT_small.dcm"));     // Orthanc's instance ID
 *     String location = orthanc.location();                    // dicomweb://127.0.0.1:PORT/dicom-web
 *     // ... let the client under test retrieve it with orthanc.user() / orthanc.password() ...
 *     long retrievals = orthanc.countRequests("GET /dicom-web/studies/[^/]+/series/[^/]+/instances/[^/]+$");
 *     orthanc.restart();                                       // same port, same data
 * }
 * }</pre>
 *
 * Orthanc runs with {@code --verbose}, which logs each authenticated HTTP request as it arrives (with the
 * URI decoded and without its query string); {@link #countRequests} counts those lines. Requests refused
 * with 401 are not logged. A JVM shutdown hook kills any Orthanc still running when a test crashes.
 */
public final class OrthancServer implements AutoCloseable {

    static final String HOST = "127.0.0.1";
    static final String DICOMWEB_ROOT = "/dicom-web";
    static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    static final Duration POLL = Duration.ofMillis(25);
    static final String SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7";

    private static final List<Path> BINARIES = List.of(Path.of("/usr/sbin/Orthanc"), Path.of("/usr/bin/Orthanc"));
    private static final List<Path> PLUGIN_DIRS =
            List.of(Path.of("/usr/share/orthanc/plugins"), Path.of("/usr/lib/orthanc"));
    private static final String PLUGIN = "libOrthancDicomWeb.so";
    private static final int PORT_ATTEMPTS = 5;
    private static final String PORT_IN_USE = "The TCP port of the HTTP server is privileged or already in use";
    private static final String MARKER = "/medsearch-harness/log-marker/";
    /** {@code I1206 12:38:06.271891 HttpServer.cpp:1244] (http) GET /uri}; newer versions add a thread name. */
    private static final Pattern REQUEST_LINE =
            Pattern.compile("^[IWET]\\d{4} \\d{2}:\\d{2}:\\d{2}\\.\\d+ .*?\\] \\(http\\) ([A-Z]+ /.*)$");

    /** Orthanc processes of this JVM still running, for the shutdown hook. */
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "orthanc-reaper"));
    }

    /**
     * How to start Orthanc: the one registered user and whether it speaks HTTPS.
     *
     * <pre>{@code
     * OrthancServer.start(dir, OrthancServer.Options.defaults().withUser("alice").withTls(true));
     * }</pre>
     */
    public record Options(String user, String password, boolean tls) {
        public Options {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
            // basic authentication cannot carry a user name with a colon
            if (user.isEmpty() || user.indexOf(':') >= 0) {
                throw new IllegalArgumentException("user must be non-empty, without ':': " + user);
            }
            if (password.isEmpty()) {
                throw new IllegalArgumentException("password must be non-empty");
            }
        }

        /** User {@code medsearch}, a random 16 hex digit password, plain HTTP. */
        public static Options defaults() {
            byte[] secret = new byte[8];
            new SecureRandom().nextBytes(secret);
            return new Options("medsearch", HexFormat.of().formatHex(secret), false);
        }

        public Options withUser(String user) {
            return new Options(user, password, tls);
        }

        public Options withPassword(String password) {
            return new Options(user, password, tls);
        }

        public Options withTls(boolean tls) {
            return new Options(user, password, tls);
        }
    }

    private final Path dir;
    private final Options options;
    private final Path binary;
    private final Path log;
    private final Path output;
    private final Path config;
    private final String name;
    private final Path certificate;
    private final Path tlsShim;
    private final SSLContext sslContext;
    private final HttpClient client;
    private final AtomicLong markers = new AtomicLong();
    private int port;
    private volatile Process process;

    private OrthancServer(Path dir, Options options, Path binary, Path certificate, Path tlsShim) throws IOException {
        this.dir = dir;
        this.options = options;
        this.binary = binary;
        this.log = dir.resolve("orthanc.log");
        this.output = dir.resolve("orthanc.out");
        this.config = dir.resolve("orthanc.json");
        byte[] id = new byte[4];
        new SecureRandom().nextBytes(id);
        this.name = "medsearch-test-" + HexFormat.of().formatHex(id);
        this.certificate = certificate;
        this.tlsShim = tlsShim;
        this.sslContext = certificate == null ? null : trusting(certificate);
        HttpClient.Builder b =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5));
        if (sslContext != null) {
            b.sslContext(sslContext);
        }
        this.client = b.build();
    }

    /** Whether the Orthanc binary and its DICOMweb plugin are installed. */
    public static boolean available() {
        return binary().isPresent() && plugin().isPresent();
    }

    /** Starts Orthanc with {@link Options#defaults()}; see {@link #start(Path, Options)}. */
    public static OrthancServer start(Path dir) throws IOException {
        return start(dir, Options.defaults());
    }

    /**
     * Starts Orthanc with its configuration, storage and log under {@code dir} (created if absent) and
     * returns once {@code GET /system} answers 200. Skips the calling test when Orthanc is not installed, or
     * for TLS when openssl is missing.
     */
    public static OrthancServer start(Path dir, Options options) throws IOException {
        Optional<Path> binary = binary();
        Optional<Path> plugin = plugin();
        Assumptions.assumeTrue(
                binary.isPresent() && plugin.isPresent(),
                "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)");
        Path base = dir.toAbsolutePath();
        Files.createDirectories(base.resolve("storage"));
        Files.createDirectories(base.resolve("index"));
        Files.createDirectories(base.resolve("tmp"));
        Path certificate = null;
        Path shim = null;
        Path orthancPem = null;
        if (options.tls()) {
            Path tls = Files.createDirectories(base.resolve("tls"));
            certificate = tls.resolve("certificate.pem");
            orthancPem = tls.resolve("orthanc.pem");
            selfSign(tls, certificate, orthancPem);
            shim = civetwebShim(tls);
        }
        OrthancServer server = new OrthancServer(base, options, binary.get(), certificate, shim);
        IOException clash = null;
        for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
            server.port = freePort();
            server.writeConfig(plugin.get(), orthancPem);
            try {
                server.launch();
                return server;
            } catch (PortInUse e) {
                // another process took the port between freePort() and Orthanc's bind
                clash = e;
            }
        }
        throw new IOException("no free port after " + PORT_ATTEMPTS + " attempts", clash);
    }

    public String host() {
        return HOST;
    }

    public int port() {
        return port;
    }

    public String user() {
        return options.user();
    }

    public String password() {
        return options.password();
    }

    /** The value of an {@code Authorization} header for {@link #user()}: {@code Basic base64(user:password)}. */
    public String authorization() {
        String pair = options.user() + ":" + options.password();
        return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code /dicom-web}, without a trailing slash. */
    public String dicomWebRoot() {
        return DICOMWEB_ROOT;
    }

    /** {@code dicomweb://127.0.0.1:PORT/dicom-web}, or {@code dicomwebs://...} with TLS. */
    public String location() {
        return (options.tls() ? "dicomwebs" : "dicomweb") + "://" + HOST + ":" + port + DICOMWEB_ROOT;
    }

    /** Orthanc's REST API, with a trailing slash so that {@code restBase().resolve("instances")} works. */
    public URI restBase() {
        return URI.create((options.tls() ? "https" : "http") + "://" + HOST + ":" + port + "/");
    }

    public boolean tls() {
        return options.tls();
    }

    /** The server's self-signed certificate (PEM, no key), for a client to trust; TLS only. */
    public Path certificatePem() {
        if (certificate == null) {
            throw new IllegalStateException("started without TLS");
        }
        return certificate;
    }

    /** An SSL context that trusts {@link #certificatePem()} and nothing else; TLS only. */
    public SSLContext sslContext() {
        if (sslContext == null) {
            throw new IllegalStateException("started without TLS");
        }
        return sslContext;
    }

    /** Orthanc's own log ({@code --verbose}); it survives {@link #restart()}, which appends to it. */
    public Path log() {
        return log;
    }

    public boolean running() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** Stores a DICOM file through {@code POST /instances}; returns Orthanc's instance ID (also if already stored). */
    public String upload(Path dicomFile) throws IOException {
        HttpRequest.Builder b = request("instances")
                .header("Content-Type", "application/dicom")
                .POST(HttpRequest.BodyPublishers.ofFile(dicomFile));
        return json(send(b, "POST /instances " + dicomFile)).path("ID").asText();
    }

    /** {@link #upload} for each file, in order. */
    public List<String> uploadAll(Collection<Path> dicomFiles) throws IOException {
        List<String> ids = new ArrayList<>(dicomFiles.size());
        for (Path f : dicomFiles) {
            ids.add(upload(f));
        }
        return ids;
    }

    /**
     * Creates a secondary capture instance from a PNG with {@code POST /tools/create-dicom}; returns its
     * Orthanc ID. {@code tags} are DICOM keywords (e.g. {@code PatientID}, {@code StudyInstanceUID}) with
     * their values. Without UIDs, Orthanc puts each instance in a study and series of its own; give
     * {@code StudyInstanceUID} and {@code SeriesInstanceUID} to put many in one series.
     */
    public String createSecondaryCapture(byte[] png, Map<String, String> tags) throws IOException {
        ObjectNode body = Json.MAPPER.createObjectNode();
        ObjectNode t = body.putObject("Tags");
        // without these Orthanc writes no SOPClassUID and DCMTK's private class in the meta header
        t.put("SOPClassUID", SECONDARY_CAPTURE);
        t.put("Modality", "OT");
        t.put("ConversionType", "WSD");
        tags.forEach(t::put);
        // Force: Orthanc otherwise refuses caller-given UIDs ("Trying to override a value inherited
        // from a parent module")
        body.put("Force", true);
        if (png != null) { // null: an instance without pixel data, as a report or key object
            body.put("Content", "data:image/png;base64," + Base64.getEncoder().encodeToString(png));
        }
        HttpRequest.Builder b = request("tools/create-dicom")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.MAPPER.writeValueAsBytes(body)));
        return json(send(b, "POST /tools/create-dicom")).path("ID").asText();
    }

    /** The stored DICOM file, as uploaded. */
    public byte[] instanceFile(String orthancId) throws IOException {
        return send(request("instances/" + orthancId + "/file").GET(), "GET /instances/" + orthancId + "/file")
                .body();
    }

    /**
     * The instance's tags by keyword ({@code SOPInstanceUID}, ...), from {@code simplified-tags}; tags
     * without a value (such as {@code PixelData}) are left out, sequences come as JSON text.
     */
    public Map<String, String> instanceTags(String orthancId) throws IOException {
        JsonNode tags = json(send(
                request("instances/" + orthancId + "/simplified-tags").GET(),
                "GET /instances/" + orthancId + "/simplified-tags"));
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : tags.properties()) {
            JsonNode v = e.getValue();
            if (v.isValueNode() && !v.isNull()) {
                out.put(e.getKey(), v.asText());
            } else if (v.isContainerNode()) {
                out.put(e.getKey(), v.toString());
            }
        }
        return out;
    }

    /**
     * How many HTTP requests Orthanc received (since {@link #start}, across restarts) whose {@code METHOD
     * URI} text contains a match for {@code regex} ({@link Matcher#find()}: anchor it to match all of it).
     * The URI is as Orthanc logs it: decoded, without the query string. Only authenticated requests count.
     * Every request answered before this call is counted: Orthanc logs (and flushes) the line when the
     * request arrives, and this call waits until a request of its own shows up in the log.
     */
    public long countRequests(String regex) throws IOException {
        Pattern wanted = Pattern.compile(regex);
        String marker = null;
        if (running()) {
            marker = MARKER + markers.incrementAndGet() + "-" + System.nanoTime();
            // a 404, logged like any other request once all earlier lines are written
            send(request(marker.substring(1)).GET(), marker, 404);
        }
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            long count = 0;
            boolean markerSeen = false;
            try (BufferedReader r = lenientReader(log)) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    Matcher m = REQUEST_LINE.matcher(line);
                    if (!m.matches()) {
                        continue;
                    }
                    String request = m.group(1);
                    if (marker != null && request.endsWith(marker)) {
                        markerSeen = true;
                        break;
                    }
                    if (!request.contains(MARKER) && wanted.matcher(request).find()) {
                        count++;
                    }
                }
            }
            if (marker == null || markerSeen) {
                return count;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "Orthanc's log never showed the request " + marker + ":\n" + tail(log, 0, 20));
            }
            pause();
        }
    }

    /** Stops Orthanc (SIGTERM; SIGKILL after {@link #STOP_TIMEOUT}) and waits until it has exited. */
    public synchronized void stop() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroy();
        boolean interrupted = false;
        try {
            if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            interrupted = true;
        }
        LIVE.remove(p);
        process = null;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops Orthanc and starts it again on the same port with the same storage: stored data survives. */
    public synchronized void restart() throws IOException {
        stop();
        launch();
    }

    /** {@link #stop()}; the files stay (the caller's temporary directory removes them). */
    @Override
    public void close() {
        stop();
    }

    @Override
    public String toString() {
        return "Orthanc " + restBase() + " (" + dir + ")";
    }

    // --- process ---

    private synchronized void launch() throws IOException {
        if (running()) {
            throw new IllegalStateException("Orthanc is running already: " + this);
        }
        long logStart = Files.exists(log) ? Files.size(log) : 0;
        ProcessBuilder pb = new ProcessBuilder(binary.toString(), "--verbose", "--logfile=" + log, config.toString())
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
        if (tlsShim != null) {
            String old = System.getenv("LD_LIBRARY_PATH");
            pb.environment().put("LD_LIBRARY_PATH", tlsShim + (old == null || old.isEmpty() ? "" : ":" + old));
        }
        Process p = pb.start();
        LIVE.add(p);
        process = p;
        try {
            awaitReady(p, logStart);
        } catch (IOException | RuntimeException | Error e) {
            p.destroyForcibly();
            LIVE.remove(p);
            process = null;
            throw e;
        }
    }

    private void awaitReady(Process p, long logStart) throws IOException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String lastProblem = "no answer yet";
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                failedToStart(p, logStart);
            }
            try {
                HttpResponse<byte[]> r = client.send(
                        request("system").timeout(Duration.ofSeconds(2)).GET().build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                // the name tells this Orthanc from whatever else may answer on the port
                if (r.statusCode() == 200
                        && name.equals(
                                Json.MAPPER.readTree(r.body()).path("Name").asText())) {
                    return;
                }
                lastProblem = "GET /system answered " + r.statusCode() + ": " + text(r.body());
            } catch (IOException e) {
                lastProblem = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for Orthanc to start");
            }
            pause();
        }
        throw new IOException("Orthanc did not answer within " + READY_TIMEOUT.toSeconds() + " s on " + restBase()
                + " (" + lastProblem + "); its log:\n" + tail(log, logStart, 40) + tail(output, 0, 10));
    }

    private void failedToStart(Process p, long logStart) throws IOException {
        int exit = p.exitValue();
        String logTail = tail(log, logStart, 40);
        if (logTail.contains(PORT_IN_USE)) {
            throw new PortInUse(port);
        }
        // 128 + SIGSEGV: see civetwebShim
        Assumptions.assumeFalse(
                options.tls() && exit == 139 && tlsShim == null,
                "Orthanc crashed on its first TLS connection: civetweb 1.15 (Debian 12) calls"
                        + " SSL_get_peer_certificate, which OpenSSL 3 lacks, and the shim that works around it"
                        + " could not be compiled (needs cc; see " + dir.resolve("tls") + ")");
        throw new IOException(
                "Orthanc exited with status " + exit + " while starting; its log:\n" + logTail + tail(output, 0, 10));
    }

    // --- configuration ---

    private void writeConfig(Path plugin, Path orthancPem) throws IOException {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("Name", name);
        c.put("HttpPort", port);
        c.put("RemoteAccessAllowed", false);
        c.put("AuthenticationEnabled", true);
        c.putObject("RegisteredUsers").put(options.user(), options.password());
        c.put("SslEnabled", orthancPem != null);
        if (orthancPem != null) {
            c.put("SslCertificate", orthancPem.toString());
        }
        c.put("DicomServerEnabled", false);
        c.put("StorageDirectory", dir.resolve("storage").toString());
        c.put("IndexDirectory", dir.resolve("index").toString());
        c.put("TemporaryDirectory", dir.resolve("tmp").toString());
        c.put("StorageCompression", false);
        // test data: no fsync after each stored file
        c.put("SyncStorageArea", false);
        c.put("SaveJobs", false);
        c.put("WebDavEnabled", false);
        c.put("OrthancExplorerEnabled", false);
        c.put("HttpTimeout", 10);
        c.put("HttpRequestTimeout", 30);
        c.putArray("Plugins").add(plugin.toString());
        ObjectNode web = c.putObject("DicomWeb");
        web.put("Enable", true);
        web.put("Root", DICOMWEB_ROOT + "/");
        // the scheme of the URLs the plugin writes into its answers (RetrieveURL, BulkDataURI)
        web.put("Ssl", orthancPem != null);
        Files.write(config, Json.MAPPER.writeValueAsBytes(c));
    }

    /** A self-signed certificate for 127.0.0.1 and localhost; Orthanc takes certificate and key in one PEM. */
    private static void selfSign(Path tls, Path certificate, Path orthancPem) throws IOException {
        Optional<Path> openssl = onPath("openssl");
        Assumptions.assumeTrue(openssl.isPresent(), "openssl is not installed: no certificate for Orthanc's TLS");
        Path key = tls.resolve("key.pem");
        int exit = run(
                tls.resolve("openssl.log"),
                openssl.get().toString(),
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                key.toString(),
                "-out",
                certificate.toString());
        if (exit != 0) {
            throw new IOException("openssl req failed (" + exit + "): " + tail(tls.resolve("openssl.log"), 0, 20));
        }
        Files.writeString(
                orthancPem,
                Files.readString(certificate, StandardCharsets.US_ASCII)
                        + Files.readString(key, StandardCharsets.US_ASCII),
                StandardCharsets.US_ASCII);
    }

    /**
     * Debian 12's civetweb 1.15 (Orthanc's web server) loads OpenSSL with {@code dlopen("libssl.so")} and
     * looks functions up by name; {@code SSL_get_peer_certificate} is a macro in OpenSSL 3, so the lookup
     * yields NULL and Orthanc dies with SIGSEGV on the first TLS connection. A {@code libssl.so} that
     * defines the function and links the real {@code libssl.so.3} (where the other lookups land) fixes it.
     * Returns its directory for {@code LD_LIBRARY_PATH}, or null when no C compiler builds it (elsewhere
     * the shim is not needed, or {@link #failedToStart} skips the test).
     */
    private static Path civetwebShim(Path tls) throws IOException {
        Optional<Path> cc = onPath("cc").or(() -> onPath("gcc"));
        if (cc.isEmpty()) {
            return null;
        }
        Path lib = Files.createDirectories(tls.resolve("lib"));
        Path source = tls.resolve("civetweb-openssl3.c");
        Files.writeString(
                source,
                "struct ssl_st;\nstruct x509_st;\n"
                        + "extern struct x509_st *SSL_get1_peer_certificate(const struct ssl_st *s);\n"
                        + "struct x509_st *SSL_get_peer_certificate(const struct ssl_st *s) {\n"
                        + "    return SSL_get1_peer_certificate(s);\n}\n",
                StandardCharsets.US_ASCII);
        int exit = run(
                tls.resolve("cc.log"),
                cc.get().toString(),
                "-shared",
                "-fPIC",
                "-o",
                lib.resolve("libssl.so").toString(),
                source.toString(),
                "-l:libssl.so.3");
        return exit == 0 ? lib : null;
    }

    private static SSLContext trusting(Path certificate) throws IOException {
        try (InputStream in = Files.newInputStream(certificate)) {
            Certificate cert = CertificateFactory.getInstance("X.509").generateCertificate(in);
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            store.setCertificateEntry("orthanc", cert);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot trust " + certificate, e);
        }
    }

    // --- HTTP ---

    private HttpRequest.Builder request(String relative) {
        return HttpRequest.newBuilder(restBase().resolve(relative))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", authorization());
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder b, String what) throws IOException {
        HttpResponse<byte[]> r = send(b, what, -1);
        if (r.statusCode() / 100 != 2) {
            throw new IOException(what + " answered " + r.statusCode() + ": " + text(r.body()));
        }
        return r;
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder b, String what, int expected) throws IOException {
        try {
            HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (expected >= 0 && r.statusCode() != expected) {
                throw new IOException(
                        what + " answered " + r.statusCode() + ", not " + expected + ": " + text(r.body()));
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted: " + what);
        }
    }

    private static JsonNode json(HttpResponse<byte[]> r) throws IOException {
        return Json.MAPPER.readTree(r.body());
    }

    private static String text(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8);
        return s.length() > 2000 ? s.substring(0, 2000) + "..." : s;
    }

    // --- helpers ---

    private static Optional<Path> binary() {
        return onPath("Orthanc")
                .or(() -> BINARIES.stream().filter(Files::isExecutable).findFirst());
    }

    private static Optional<Path> plugin() {
        for (Path d : PLUGIN_DIRS) {
            Path exact = d.resolve(PLUGIN);
            if (Files.isRegularFile(exact)) {
                return Optional.of(exact);
            }
            if (Files.isDirectory(d)) {
                // /usr/lib/orthanc holds it with its version: libOrthancDicomWeb.so.1.7
                try (Stream<Path> files = Files.list(d)) {
                    Optional<Path> versioned = files.filter(
                                    f -> f.getFileName().toString().startsWith(PLUGIN + "."))
                            .sorted()
                            .findFirst();
                    if (versioned.isPresent()) {
                        return versioned;
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String d : path.split(":")) {
            if (!d.isEmpty()) {
                Path p = Path.of(d, program);
                if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    private static int freePort() throws IOException {
        // the wildcard address, as Orthanc binds it (RemoteAccessAllowed=false refuses other hosts' requests)
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(0));
            return s.getLocalPort();
        }
    }

    private static int run(Path logFile, String... command) throws IOException {
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile())
                .start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command[0] + " did not finish within 60 s");
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted: " + command[0]);
        }
    }

    /** Orthanc logs DICOM values in their own character set: undecodable bytes must not fail the count. */
    private static BufferedReader lenientReader(Path file) throws IOException {
        return new BufferedReader(new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8));
    }

    /** The last {@code lines} lines of {@code file} from byte {@code from} on, for failure messages. */
    private static String tail(Path file, long from, int lines) {
        if (!Files.exists(file)) {
            return "(" + file + " does not exist)\n";
        }
        Deque<String> last = new ArrayDeque<>();
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(Math.min(from, Files.size(file)));
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                last.addLast(line);
                if (last.size() > lines) {
                    last.removeFirst();
                }
            }
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e + ")\n";
        }
        StringBuilder sb = new StringBuilder("--- " + file + " ---\n");
        last.forEach(l -> sb.append(l).append('\n'));
        return sb.toString();
    }

    private static void pause() throws InterruptedIOException {
        try {
            Thread.sleep(POLL.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while polling Orthanc");
        }
    }

    /** Orthanc could not bind its port: {@link #start} tries another. */
    private static final class PortInUse extends IOException {
        private static final long serialVersionUID = 1L;

        PortInUse(int port) {
            super("port " + port + " is in use");
        }
    }
}

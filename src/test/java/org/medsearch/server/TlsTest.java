package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.util.MedsearchException;

/**
 * HTTPS with a self-signed certificate made by the JDK's keytool: searches over TLS with a client
 * that trusts exactly that certificate, a plain-HTTP request redirected or refused as configured,
 * and a keystore that cannot be opened refused at start in one line.
 */
class TlsTest {

    static final String PASSWORD = "keystore-password-42";

    @TempDir
    static Path scratch;

    static Path keystore;
    static SSLContext trusting;

    @BeforeAll
    static void makeCertificate() throws Exception {
        keystore = scratch.resolve("server.p12");
        Path cert = scratch.resolve("server.pem");
        String keytool =
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(
                keytool,
                "-genkeypair",
                "-alias",
                "medsearch",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=localhost",
                "-ext",
                "SAN=dns:localhost,ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                keystore.toString(),
                "-storepass",
                PASSWORD);
        run(
                keytool,
                "-exportcert",
                "-rfc",
                "-alias",
                "medsearch",
                "-keystore",
                keystore.toString(),
                "-storepass",
                PASSWORD,
                "-file",
                cert.toString());
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(cert)) {
            trust.setCertificateEntry(
                    "medsearch", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        trusting = SSLContext.getInstance("TLS");
        trusting.init(null, tmf.getTrustManagers(), null);
    }

    static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool hangs");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
    }

    static HttpClient client(SSLContext ssl) {
        HttpClient.Builder b = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(5));
        return (ssl == null ? b : b.sslContext(ssl)).build();
    }

    static Fixture.Running start(ServerConfig.PlainHttp rule) throws IOException {
        return Fixture.start(
                Fixture.synthetic(),
                ServerConfig.defaults().withTls(new ServerConfig.Tls(keystore, PASSWORD, rule)),
                scratch);
    }

    @Test
    void searchesOverHttpsAndRedirectsPlainGets() throws Exception {
        try (Fixture.Running s = start(ServerConfig.PlainHttp.REDIRECT)) {
            int port = s.server.port();
            assertEquals("https://127.0.0.1:" + port + "/", s.server.url());
            HttpClient https = client(trusting);
            byte[] query = Files.readAllBytes(Fixture.synthetic().data().resolve("columns/img_004.png"));
            MultipartBody body = new MultipartBody().field("k", "4").file("image", "q.png", query);
            HttpResponse<byte[]> r = https.send(
                    HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/api/search"))
                            .header("Content-Type", body.contentType())
                            .POST(body.publisher())
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, r.statusCode(), Http.text(r));
            assertEquals(4, Http.json(r).get("results").size());
            assertEquals("columns", Http.json(r).at("/predicted/name").asText());
            assertEquals(
                    200,
                    https.send(
                                    HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .statusCode(),
                    "the page, by name");

            // really TLS: a client that does not trust the certificate cannot talk to it
            assertThrows(
                    SSLHandshakeException.class,
                    () -> client(SSLContext.getDefault())
                            .send(
                                    HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/api/health"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString()));

            HttpClient plain = client(null);
            for (String path : List.of("/api/health", "/api/classes?x=1", "/")) {
                HttpResponse<String> p = plain.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(308, p.statusCode(), path + ": " + p.body());
                assertEquals(
                        "https://127.0.0.1:" + port + path,
                        p.headers().firstValue("Location").orElse(""));
            }
            // a plain POST is refused, never redirected: its body already crossed the network in the clear
            HttpResponse<byte[]> post = plain.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/search"))
                            .header("Content-Type", body.contentType())
                            .POST(body.publisher())
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            Http.assertError(post, 403, "https_required");
        }
    }

    @Test
    void refusesPlainHttpWhenToldTo() throws Exception {
        try (Fixture.Running s = start(ServerConfig.PlainHttp.REFUSE)) {
            HttpResponse<byte[]> p = client(null)
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.server.port() + "/api/health"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            Http.assertError(p, 403, "https_required");
            assertTrue(p.headers().firstValue("Location").isEmpty());
        }
    }

    @Test
    void aKeystoreThatCannotBeOpenedIsOneClearError() throws Exception {
        MedsearchException wrong = assertThrows(
                MedsearchException.class,
                () -> Transport.checkKeystore(
                        new ServerConfig.Tls(keystore, "not-the-password", ServerConfig.PlainHttp.REFUSE)));
        assertTrue(wrong.getMessage().contains("password is wrong"), wrong.getMessage());
        Path notStore = Files.writeString(scratch.resolve("cert.txt"), "-----BEGIN CERTIFICATE-----\n");
        assertThrows(
                MedsearchException.class,
                () -> Transport.checkKeystore(new ServerConfig.Tls(notStore, PASSWORD, ServerConfig.PlainHttp.REFUSE)));
        MedsearchException missing = assertThrows(
                MedsearchException.class,
                () -> Transport.checkKeystore(
                        new ServerConfig.Tls(scratch.resolve("nope.p12"), PASSWORD, ServerConfig.PlainHttp.REFUSE)));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    }
}

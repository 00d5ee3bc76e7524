package org.medsearch.server;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Collections;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.DetectorConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.medsearch.util.MedsearchException;

/**
 * HTTPS for the server, on Jetty's own TLS: one port that speaks TLS (1.2 and 1.3, Jetty's default
 * cipher suites) and recognises a plain-HTTP request by its first bytes, so that such a request gets
 * an answer rather than a broken handshake: a redirect to the same URL over HTTPS (GET and HEAD,
 * {@link ServerConfig.PlainHttp#REDIRECT}) or a refusal (403, everything else). Nothing of a plain
 * request reaches a route: it is answered before authentication, so a token sent in the clear is
 * never accepted.
 *
 * <pre>{@code
 * ServerConfig cfg = ServerConfig.defaults()
 *         .withTls(new ServerConfig.Tls(Path.of("server.p12"), password, ServerConfig.PlainHttp.REDIRECT));
 * }</pre>
 */
final class Transport {
    private Transport() {}

    /** A Host header that may be echoed in a redirect: a name or an address, and a port. */
    private static final Pattern HOST =
            Pattern.compile("[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?|\\[[0-9A-Fa-f:.]{2,45}\\](:[0-9]{1,5})?");

    /**
     * Opens the keystore once before the server starts, so that a wrong password, a file that is
     * not PKCS#12 or a store without a private key is one clear line rather than a Jetty stack trace.
     */
    static void checkKeystore(ServerConfig.Tls tls) throws IOException {
        if (tls == null) {
            return;
        }
        KeyStore ks;
        try (InputStream in = Files.newInputStream(tls.keystore())) {
            ks = KeyStore.getInstance("PKCS12");
            ks.load(in, tls.password().toCharArray());
        } catch (NoSuchFileException e) {
            throw new MedsearchException("the TLS keystore " + tls.keystore() + " does not exist");
        } catch (IOException | GeneralSecurityException e) {
            throw new MedsearchException("the TLS keystore " + tls.keystore()
                    + " cannot be opened: not a PKCS#12 file, or the password is wrong");
        }
        try {
            boolean key = false;
            for (String alias : Collections.list(ks.aliases())) {
                key |= ks.isKeyEntry(alias);
            }
            if (!key) {
                throw new MedsearchException("the TLS keystore " + tls.keystore()
                        + " holds no private key (it needs the server's key and certificate chain)");
            }
        } catch (GeneralSecurityException e) {
            throw new MedsearchException("the TLS keystore " + tls.keystore() + " cannot be read: " + e.getMessage());
        }
    }

    /** Replaces Javalin's plain connector by one that speaks TLS and detects plain HTTP. */
    static void https(JavalinConfig cfg, ServerConfig config) {
        ServerConfig.Tls tls = config.tls();
        cfg.jetty.addConnector((server, httpConfig) -> {
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setKeyStorePath(tls.keystore().toAbsolutePath().toString());
            ssl.setKeyStoreType("PKCS12");
            ssl.setKeyStorePassword(tls.password());
            ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
            HttpConfiguration https = new HttpConfiguration(httpConfig);
            // clients reach the server by address as often as by name: no SNI host check; no HSTS
            // either (it binds every port of a host name, which is the operator's decision)
            https.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));
            HttpConnectionFactory http = new HttpConnectionFactory(https);
            SslConnectionFactory secure = new SslConnectionFactory(ssl, http.getProtocol());
            ServerConnector connector = new ServerConnector(server, new DetectorConnectionFactory(secure), http);
            connector.setHost(config.host());
            connector.setPort(config.port());
            return connector;
        });
    }

    /** Answers a plain-HTTP request to an HTTPS server: redirect (GET, HEAD) or refuse. */
    static void plainHttp(Context ctx, ServerConfig.PlainHttp rule) {
        if (ctx.req().isSecure()) {
            return;
        }
        String method = ctx.method().name();
        String host = ctx.header("Host");
        if (rule == ServerConfig.PlainHttp.REDIRECT
                && (method.equals("GET") || method.equals("HEAD"))
                && host != null
                && HOST.matcher(host).matches()) {
            String query = ctx.queryString();
            ctx.header("Location", "https://" + host + ctx.path() + (query == null ? "" : "?" + query));
            ctx.header("Connection", "close");
            ctx.status(308);
            ctx.skipRemainingHandlers();
            return;
        }
        throw new ApiException(403, "https_required", "this server speaks HTTPS only: use https://");
    }
}

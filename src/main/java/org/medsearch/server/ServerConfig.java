package org.medsearch.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * How a {@link SearchServer} listens and what it accepts. Every limit is an upper bound on memory
 * or time that one client can make the server spend.
 *
 * <p>Contract: the constructor rejects nonsensical values with an {@link IllegalArgumentException}
 * whose message starts with the component's name (the command line maps it to its flag); no writer token means writes are off, a null
 * {@code corsOrigin} means no CORS headers at all.
 *
 * <pre>{@code
 * ServerConfig cfg = ServerConfig.defaults().withPort(0).withTokens(Tokens.read(Path.of("tokens")));
 * }</pre>
 *
 * @param host address to bind; loopback unless the operator says otherwise
 * @param port TCP port, 0 for any free one
 * @param tokens the bearer tokens and their roles ({@link Tokens#NONE}: writes off)
 * @param corsOrigin the one origin allowed to call the API from a browser, or null
 * @param queueSlots searches that may wait for the model beyond those it is computing; more get 503
 * @param maxBatch queries the model takes in one forward pass
 * @param workers threads running forward passes
 * @param maxUploadBytes the largest request body
 * @param maxPixels the largest decoded image (width x height x frames), against decompression bombs
 * @param maxDecodedBytes the most memory one image's decode may take (samples x their width, frames included)
 * @param decodeMemoryBytes the memory all decodes together may take; a decode waits for room, then gets 503
 * @param minUploadBytesPerSecond the slowest average upload rate accepted once an upload has run
 *     {@link #UPLOAD_RATE_GRACE}; slower ones are cut off with 408
 * @param uploadDeadline the longest a request body may take to arrive; later ones are cut off with 408
 * @param thumbnailSize the longest side of a thumbnail, in pixels
 * @param grace how long a stop waits for the requests in flight
 * @param tls HTTPS only, with this keystore; null for plain HTTP (behind a TLS-terminating proxy, or on loopback)
 * @param audit the audit trail ({@link Audit#OFF}: none)
 * @param statsAdminOnly whether {@code /metrics} and {@code /api/stats} need an admin's token
 */
public record ServerConfig(
        String host,
        int port,
        Tokens tokens,
        String corsOrigin,
        int queueSlots,
        int maxBatch,
        int workers,
        long maxUploadBytes,
        long maxPixels,
        long maxDecodedBytes,
        long decodeMemoryBytes,
        long minUploadBytesPerSecond,
        Duration uploadDeadline,
        int thumbnailSize,
        Duration grace,
        Tls tls,
        Audit audit,
        boolean statsAdminOnly) {

    /** Tokens shorter than this are guessable; {@code openssl rand -hex 32} gives 64 characters. */
    public static final int MIN_TOKEN_LENGTH = Tokens.MIN_TOKEN_LENGTH;
    /** An upload's rate is judged only after this long: TCP's slow start and a client's first write take time. */
    public static final Duration UPLOAD_RATE_GRACE = Duration.ofSeconds(5);

    public ServerConfig {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
        }
        tokens = tokens == null ? Tokens.NONE : tokens;
        audit = audit == null ? Audit.OFF : audit;
        if (corsOrigin != null && Origins.normalise(corsOrigin) == null) {
            throw new IllegalArgumentException(
                    "corsOrigin must be a web origin such as https://viewer.example.org, got '" + corsOrigin + "'");
        }
        if (queueSlots < 0 || queueSlots > 10_000) {
            throw new IllegalArgumentException("queueSlots must be between 0 and 10000, got " + queueSlots);
        }
        if (maxBatch < 1 || maxBatch > 256) {
            throw new IllegalArgumentException("maxBatch must be between 1 and 256, got " + maxBatch);
        }
        if (workers < 1 || workers > 64) {
            throw new IllegalArgumentException("workers must be between 1 and 64, got " + workers);
        }
        if (maxUploadBytes < 1024) {
            throw new IllegalArgumentException("maxUploadBytes must be at least 1 KiB");
        }
        if (maxPixels < 1024) {
            throw new IllegalArgumentException("maxPixels must be at least 1024");
        }
        if (maxDecodedBytes < 1 << 20) {
            throw new IllegalArgumentException("maxDecodedBytes must be at least 1 MiB");
        }
        if (decodeMemoryBytes < maxDecodedBytes) {
            throw new IllegalArgumentException("decodeMemoryBytes must be at least maxDecodedBytes ("
                    + (maxDecodedBytes >> 20) + " MiB), got " + (decodeMemoryBytes >> 20) + " MiB");
        }
        if (minUploadBytesPerSecond < 0) {
            throw new IllegalArgumentException("minUploadBytesPerSecond must not be negative");
        }
        if (uploadDeadline == null || uploadDeadline.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("uploadDeadline must be at least 1 second");
        }
        if (thumbnailSize < 16 || thumbnailSize > 1024) {
            throw new IllegalArgumentException("thumbnail size must be between 16 and 1024");
        }
        if (grace == null || grace.isNegative()) {
            throw new IllegalArgumentException("grace must not be negative");
        }
    }

    /**
     * Loopback, port 8080, writes off, no CORS, 8 queue slots, batches of 16 on one worker, 32 MiB
     * uploads, 64 megapixels, 512 MiB per decode and 1 GiB for all decodes, uploads at 16 KiB/s at
     * least and within 60 s, 128-pixel thumbnails, 10 s grace; plain HTTP, no audit trail (the
     * {@code serve} command's default has one), statistics open to all.
     */
    public static ServerConfig defaults() {
        return new ServerConfig(
                "127.0.0.1",
                8080,
                null,
                null,
                8,
                16,
                1,
                32L << 20,
                64L << 20,
                512L << 20,
                1024L << 20,
                16L << 10,
                Duration.ofSeconds(60),
                128,
                Duration.ofSeconds(10),
                null,
                Audit.OFF,
                false);
    }

    /**
     * Whether every address {@code host} names is a loopback address ({@code 127.0.0.1}, {@code ::1},
     * {@code localhost}, bracketed IPv6 included); false for a name that does not resolve.
     */
    public static boolean isLoopback(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        try {
            InetAddress[] all = InetAddress.getAllByName(h);
            return all.length > 0 && Arrays.stream(all).allMatch(InetAddress::isLoopbackAddress);
        } catch (UnknownHostException e) {
            return false;
        }
    }

    public boolean writesEnabled() {
        return tokens.writesEnabled();
    }

    /**
     * HTTPS: a PKCS#12 keystore with the server's key and certificate chain, its password, and what
     * a plain-HTTP request to the same port gets.
     */
    public record Tls(Path keystore, String password, PlainHttp plainHttp) {
        public Tls {
            if (keystore == null || password == null || plainHttp == null) {
                throw new IllegalArgumentException("tls needs a keystore, its password and a plain-HTTP rule");
            }
        }

        /** Keeps the password out of logs. */
        @Override
        public String toString() {
            return "Tls[" + keystore + ", plain HTTP: " + plainHttp.key() + "]";
        }
    }

    /** What a plain-HTTP request to an HTTPS server gets. */
    public enum PlainHttp {
        /** GET and HEAD are redirected (308) to the same URL over HTTPS; other methods are refused (403). */
        REDIRECT,
        /** Every plain request is refused with 403. */
        REFUSE;

        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * The audit trail: a file (null: no trail, the operator's explicit choice), the size past which
     * it is rotated, and how many rotated files are kept.
     */
    public record Audit(Path file, long maxBytes, int keep) {
        /** No audit trail. */
        public static final Audit OFF = new Audit(null, 100L << 20, 10);

        public Audit {
            if (maxBytes < 4096) {
                throw new IllegalArgumentException("auditMaxBytes must be at least 4 KiB");
            }
            if (keep < 1 || keep > 1000) {
                throw new IllegalArgumentException("auditKeep must be between 1 and 1000, got " + keep);
            }
        }

        public boolean on() {
            return file != null;
        }
    }

    public ServerConfig withHost(String h) {
        return copy(c -> c.host = h);
    }

    public ServerConfig withPort(int p) {
        return copy(c -> c.port = p);
    }

    /** One token with every right (null: writes off). */
    public ServerConfig withToken(String t) {
        return copy(c -> c.tokens = Tokens.single(t));
    }

    /** Named tokens with roles. */
    public ServerConfig withTokens(Tokens t) {
        return copy(c -> c.tokens = t);
    }

    /** HTTPS only (null: plain HTTP). */
    public ServerConfig withTls(Tls t) {
        return copy(c -> c.tls = t);
    }

    public ServerConfig withAudit(Audit a) {
        return copy(c -> c.audit = a);
    }

    /** Whether {@code /metrics} and {@code /api/stats} need an admin's token. */
    public ServerConfig withStatsAdminOnly(boolean adminOnly) {
        return copy(c -> c.statsAdminOnly = adminOnly);
    }

    public ServerConfig withCorsOrigin(String o) {
        return copy(c -> c.corsOrigin = o);
    }

    public ServerConfig withQueue(int slots, int batch, int nWorkers) {
        return copy(c -> {
            c.queueSlots = slots;
            c.maxBatch = batch;
            c.workers = nWorkers;
        });
    }

    public ServerConfig withLimits(long uploadBytes, long pixels) {
        return copy(c -> {
            c.maxUploadBytes = uploadBytes;
            c.maxPixels = pixels;
        });
    }

    public ServerConfig withGrace(Duration g) {
        return copy(c -> c.grace = g);
    }

    /** Per-decode and total decoding memory, in bytes. */
    public ServerConfig withDecodeMemory(long perImage, long total) {
        return copy(c -> {
            c.maxDecodedBytes = perImage;
            c.decodeMemoryBytes = total;
        });
    }

    /** The slowest upload accepted (bytes per second, averaged) and the longest a body may take. */
    public ServerConfig withUploadPace(long minBytesPerSecond, Duration deadline) {
        return copy(c -> {
            c.minUploadBytesPerSecond = minBytesPerSecond;
            c.uploadDeadline = deadline;
        });
    }

    /** This config with some components changed; the constructor checks the result. */
    private ServerConfig copy(java.util.function.Consumer<Components> change) {
        Components c = new Components(this);
        change.accept(c);
        return c.build();
    }

    /** The components of a config, mutable, for the copies above. */
    private static final class Components {
        String host;
        int port;
        Tokens tokens;
        String corsOrigin;
        int queueSlots;
        int maxBatch;
        int workers;
        long maxUploadBytes;
        long maxPixels;
        long maxDecodedBytes;
        long decodeMemoryBytes;
        long minUploadBytesPerSecond;
        Duration uploadDeadline;
        int thumbnailSize;
        Duration grace;
        Tls tls;
        Audit audit;
        boolean statsAdminOnly;

        Components(ServerConfig c) {
            host = c.host;
            port = c.port;
            tokens = c.tokens;
            corsOrigin = c.corsOrigin;
            queueSlots = c.queueSlots;
            maxBatch = c.maxBatch;
            workers = c.workers;
            maxUploadBytes = c.maxUploadBytes;
            maxPixels = c.maxPixels;
            maxDecodedBytes = c.maxDecodedBytes;
            decodeMemoryBytes = c.decodeMemoryBytes;
            minUploadBytesPerSecond = c.minUploadBytesPerSecond;
            uploadDeadline = c.uploadDeadline;
            thumbnailSize = c.thumbnailSize;
            grace = c.grace;
            tls = c.tls;
            audit = c.audit;
            statsAdminOnly = c.statsAdminOnly;
        }

        ServerConfig build() {
            return new ServerConfig(
                    host,
                    port,
                    tokens,
                    corsOrigin,
                    queueSlots,
                    maxBatch,
                    workers,
                    maxUploadBytes,
                    maxPixels,
                    maxDecodedBytes,
                    decodeMemoryBytes,
                    minUploadBytesPerSecond,
                    uploadDeadline,
                    thumbnailSize,
                    grace,
                    tls,
                    audit,
                    statsAdminOnly);
        }
    }

    /** Keeps the token out of logs and exception messages. */
    @Override
    public String toString() {
        return "ServerConfig[host=" + host + ", port=" + port + ", tokens=" + tokens
                + ", cors=" + corsOrigin + ", queue=" + queueSlots + ", batch=" + maxBatch + ", workers=" + workers
                + ", maxUploadBytes=" + maxUploadBytes + ", maxPixels=" + maxPixels + ", maxDecodedBytes="
                + maxDecodedBytes + ", decodeMemoryBytes=" + decodeMemoryBytes + ", minUploadBytesPerSecond="
                + minUploadBytesPerSecond + ", uploadDeadline=" + uploadDeadline + ", tls=" + tls + ", audit=" + audit
                + ", statsAdminOnly=" + statsAdminOnly + "]";
    }
}

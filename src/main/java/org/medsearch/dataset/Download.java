package org.medsearch.dataset;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Hashing;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * Downloads a file once into a cache, checking its digest: the bytes go to a {@code .part} file,
 * the digest is computed while they arrive, and only a file whose digest matches is renamed into
 * place. A file already in the cache with the right digest is not downloaded again.
 *
 * <p>The expected digest may be a prefix of the full hex digest, as torchvision's file names carry
 * (e.g. the first 8 hex digits of a SHA-256); a longer prefix is a stronger check.
 *
 * <p>Contract: on any failure (no network, HTTP error, truncated transfer, wrong digest, a body
 * larger than {@link Limits#maxBytes}, the whole transfer outlasting {@link Limits#deadline}) the
 * cache holds no file under the final name nor a partial one, and a {@link MedsearchException} says
 * what happened and what to do instead (typically: fetch the file elsewhere and put it at the cache
 * path). A declared Content-Length over the cap is refused before any of the body is read.
 *
 * <pre>{@code
 * Path tgz = Download.fetch(URI.create(url), "MD5", "0bc7306e...", cacheDir.resolve("MedNIST.tar.gz"),
 *         new Download.Limits(MedNist.MAX_BYTES, Download.DEFAULT_DEADLINE), progress);
 * }</pre>
 */
public final class Download {
    private Download() {}

    /** Long enough for the files medsearch fetches (tens of MB) on a slow line. */
    public static final Duration DEFAULT_DEADLINE = Duration.ofMinutes(30);

    /**
     * Bounds on one download.
     *
     * @param maxBytes the most bytes the body may have: a little above the known size of the file
     * @param deadline the longest the whole transfer, headers and body, may take
     */
    public record Limits(long maxBytes, Duration deadline) {
        public Limits {
            if (maxBytes < 1 || deadline.isNegative() || deadline.isZero()) {
                throw new IllegalArgumentException("download limits must be positive");
            }
        }
    }

    /**
     * Returns {@code target}, downloading it from {@code url} first unless it is already there with
     * the expected digest.
     *
     * @param algorithm a {@link MessageDigest} name: "MD5" or "SHA-256"
     * @param expectedHex the expected digest, or a prefix of it, hex
     * @param limits the size cap and the overall deadline
     */
    public static Path fetch(
            URI url, String algorithm, String expectedHex, Path target, Limits limits, Progress progress)
            throws IOException {
        if (Files.isRegularFile(target)) {
            String have = Hashing.hex(target, algorithm);
            if (matches(have, expectedHex)) {
                return target;
            }
            throw new MedsearchException(target + " exists but its " + algorithm + " is " + have + ", not "
                    + expectedHex + ": delete it and run again");
        }
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        String hint = manualHint(url, algorithm, expectedHex, target);
        long deadline = System.nanoTime() + limits.deadline().toNanos();
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(min(Duration.ofSeconds(20), limits.deadline()))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        // the request timeout covers only the wait for the headers; the watchdog below covers the body
        HttpRequest req =
                HttpRequest.newBuilder(url).timeout(limits.deadline()).GET().build();
        long length = -1;
        long got = 0;
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "download-deadline");
            t.setDaemon(true);
            return t;
        });
        try {
            HttpResponse<InputStream> resp = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
            if (resp.statusCode() != 200) {
                resp.body().close();
                throw new MedsearchException("download of " + url + " failed: HTTP " + resp.statusCode() + hint);
            }
            length = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (length > limits.maxBytes()) {
                resp.body().close();
                throw new MedsearchException("download of " + url + " refused: the server announces " + length
                        + " bytes, more than the " + limits.maxBytes() + " expected at most" + hint);
            }
            MessageDigest md = Hashing.digest(algorithm);
            InputStream body = resp.body();
            try (InputStream in = body;
                    OutputStream out = Files.newOutputStream(part);
                    Progress.Task task = progress.start("Downloading " + target.getFileName(), length, "B")) {
                // a stalled server blocks read(): the watchdog closes the stream at the deadline, which ends it
                watchdog.schedule(
                        () -> {
                            expired.set(true);
                            try {
                                body.close();
                            } catch (IOException ignored) {
                                // the reader sees the stream end or fail either way
                            }
                        },
                        Math.max(0, deadline - System.nanoTime()),
                        TimeUnit.NANOSECONDS);
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    // a trickle never stalls a read for long: check the deadline after each one too
                    if (expired.get() || System.nanoTime() - deadline > 0) {
                        throw timedOut(url, limits, got, hint);
                    }
                    if (got + n > limits.maxBytes()) {
                        throw new MedsearchException("download of " + url + " stopped: the body is larger than the "
                                + limits.maxBytes() + " bytes expected at most" + hint);
                    }
                    out.write(buf, 0, n);
                    md.update(buf, 0, n);
                    got += n;
                    task.step(n);
                }
            }
            if (expired.get()) {
                throw timedOut(url, limits, got, hint);
            }
            if (length >= 0 && got != length) {
                throw new MedsearchException(
                        "download of " + url + " was cut short (" + got + " of " + length + " bytes)" + hint);
            }
            String have = HexFormat.of().formatHex(md.digest());
            if (!matches(have, expectedHex)) {
                throw new MedsearchException("download of " + url + " is damaged: " + algorithm + " " + have
                        + ", expected " + expectedHex + hint);
            }
            FileUtil.fsync(part);
            FileUtil.atomicMove(part, target);
            return target;
        } catch (UnknownHostException | ConnectException | HttpConnectTimeoutException e) {
            throw new MedsearchException("cannot reach " + url.getHost() + " (offline?)" + hint);
        } catch (HttpTimeoutException e) {
            throw new MedsearchException("download of " + url + " timed out" + hint);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MedsearchException("download interrupted");
        } catch (MedsearchException e) {
            throw e;
        } catch (IOException e) {
            if (expired.get()) {
                throw timedOut(url, limits, got, hint);
            }
            if (length >= 0 && got < length) {
                throw new MedsearchException(
                        "download of " + url + " was cut short (" + got + " of " + length + " bytes)" + hint);
            }
            throw new MedsearchException("download of " + url + " failed (" + e.getMessage() + ")" + hint);
        } finally {
            watchdog.shutdownNow();
            Files.deleteIfExists(part);
        }
    }

    private static MedsearchException timedOut(URI url, Limits limits, long got, String hint) {
        return new MedsearchException("download of " + url + " did not finish within "
                + limits.deadline().toSeconds() + " s (" + got + " bytes received)" + hint);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    static boolean matches(String haveHex, String expectedHex) {
        return !expectedHex.isEmpty()
                && haveHex.toLowerCase(java.util.Locale.ROOT)
                        .startsWith(expectedHex.toLowerCase(java.util.Locale.ROOT));
    }

    private static String manualHint(URI url, String algorithm, String hex, Path target) {
        return ". To continue without this machine downloading it, fetch " + url + " elsewhere (" + algorithm + " "
                + hex + ") and copy it to " + target.toAbsolutePath();
    }
}

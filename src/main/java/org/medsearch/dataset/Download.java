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
 * <p>Contract: on any failure (no network, HTTP error, truncated transfer, wrong digest) the cache
 * holds no file under the final name and a {@link MedsearchException} says what happened and what to
 * do instead (typically: fetch the file elsewhere and put it at the cache path).
 *
 * <pre>{@code
 * Path tgz = Download.fetch(URI.create(url), "MD5", "0bc7306e...", cacheDir.resolve("MedNIST.tar.gz"), progress);
 * }</pre>
 */
public final class Download {
    private Download() {}

    /**
     * Returns {@code target}, downloading it from {@code url} first unless it is already there with
     * the expected digest.
     *
     * @param algorithm a {@link MessageDigest} name: "MD5" or "SHA-256"
     * @param expectedHex the expected digest, or a prefix of it, hex
     */
    public static Path fetch(URI url, String algorithm, String expectedHex, Path target, Progress progress)
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
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(20))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        HttpRequest req = HttpRequest.newBuilder(url).timeout(Duration.ofMinutes(30)).GET().build();
        long length = -1;
        long got = 0;
        try {
            HttpResponse<InputStream> resp = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
            if (resp.statusCode() != 200) {
                resp.body().close();
                throw new MedsearchException("download of " + url + " failed: HTTP " + resp.statusCode()
                        + manualHint(url, algorithm, expectedHex, target));
            }
            length = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
            MessageDigest md = Hashing.digest(algorithm);
            try (InputStream in = resp.body(); OutputStream out = Files.newOutputStream(part);
                    Progress.Task task = progress.start("Downloading " + target.getFileName(), length, "B")) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    md.update(buf, 0, n);
                    got += n;
                    task.step(n);
                }
            }
            if (length >= 0 && got != length) {
                throw new MedsearchException("download of " + url + " was cut short (" + got + " of " + length
                        + " bytes)" + manualHint(url, algorithm, expectedHex, target));
            }
            String have = HexFormat.of().formatHex(md.digest());
            if (!matches(have, expectedHex)) {
                throw new MedsearchException("download of " + url + " is damaged: " + algorithm + " " + have
                        + ", expected " + expectedHex + manualHint(url, algorithm, expectedHex, target));
            }
            FileUtil.fsync(part);
            FileUtil.atomicMove(part, target);
            return target;
        } catch (UnknownHostException | ConnectException | HttpConnectTimeoutException e) {
            throw new MedsearchException("cannot reach " + url.getHost() + " (offline?)"
                    + manualHint(url, algorithm, expectedHex, target));
        } catch (HttpTimeoutException e) {
            throw new MedsearchException("download of " + url + " timed out" + manualHint(url, algorithm, expectedHex, target));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MedsearchException("download interrupted");
        } catch (MedsearchException e) {
            throw e;
        } catch (IOException e) {
            if (length >= 0 && got < length) {
                throw new MedsearchException("download of " + url + " was cut short (" + got + " of " + length
                        + " bytes)" + manualHint(url, algorithm, expectedHex, target));
            }
            throw new MedsearchException("download of " + url + " failed (" + e.getMessage() + ")"
                    + manualHint(url, algorithm, expectedHex, target));
        } finally {
            Files.deleteIfExists(part);
        }
    }

    static boolean matches(String haveHex, String expectedHex) {
        return !expectedHex.isEmpty() && haveHex.toLowerCase(java.util.Locale.ROOT)
                .startsWith(expectedHex.toLowerCase(java.util.Locale.ROOT));
    }

    private static String manualHint(URI url, String algorithm, String hex, Path target) {
        return ". To continue without this machine downloading it, fetch " + url + " elsewhere (" + algorithm + " "
                + hex + ") and copy it to " + target.toAbsolutePath();
    }

}

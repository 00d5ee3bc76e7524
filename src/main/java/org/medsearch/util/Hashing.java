package org.medsearch.util;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Digests as lowercase hex: content hashes of images, fingerprints of models, hashes of splits, and
 * the checks of downloaded files.
 *
 * <pre>{@code
 * String sha = Hashing.sha256Hex(Path.of("model/weights.safetensors")); // streamed, 64 hex digits
 * }</pre>
 */
public final class Hashing {
    private Hashing() {}

    public static MessageDigest sha256() {
        return digest("SHA-256");
    }

    /** A {@link MessageDigest} by name, e.g. "MD5" or "SHA-256". */
    public static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalArgumentException("unknown digest " + algorithm, e);
        }
    }

    public static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    public static String sha256Hex(String text) {
        return sha256Hex(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A file's SHA-256, read in blocks (the file is never held in memory). */
    public static String sha256Hex(Path file) throws IOException {
        return hex(file, "SHA-256");
    }

    /** A file's digest with the named algorithm, read in blocks. */
    public static String hex(Path file, String algorithm) throws IOException {
        MessageDigest md = digest(algorithm);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) >= 0) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}

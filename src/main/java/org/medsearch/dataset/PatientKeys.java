package org.medsearch.dataset;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.medsearch.util.FileUtil;

/**
 * Turns patient identifiers into keys that can be stored: HMAC-SHA-256 under a secret salt that is
 * created once per installation and kept beside the index ({@code patient-salt}, mode 0600). Two
 * images of one patient get the same key, so "same patient" filters and patient-level splits work,
 * but the key cannot be turned back into the identifier without the salt, and keys from two
 * installations cannot be linked.
 *
 * <pre>{@code
 * PatientKeys keys = PatientKeys.loadOrCreate(indexDir.resolve("patient-salt"));
 * String k = keys.key("PAT-00042"); // 32 hex characters
 * }</pre>
 */
public final class PatientKeys {

    private final byte[] salt;

    public PatientKeys(byte[] salt) {
        if (salt.length < 16) {
            throw new IllegalArgumentException("salt must have at least 16 bytes");
        }
        this.salt = salt.clone();
    }

    /** The salt file beside an index. */
    public static Path saltFile(Path indexDir) {
        return indexDir.resolve("patient-salt");
    }

    /** Reads the salt file, or null when there is none (nothing was ever keyed with it). */
    public static PatientKeys loadIfPresent(Path saltFile) throws IOException {
        return Files.exists(saltFile) ? loadOrCreate(saltFile) : null;
    }

    /** Reads the salt file, or creates it with 32 random bytes. */
    public static PatientKeys loadOrCreate(Path saltFile) throws IOException {
        if (Files.exists(saltFile)) {
            byte[] hex = Files.readAllBytes(saltFile);
            try {
                return new PatientKeys(HexFormat.of().parseHex(new String(hex, StandardCharsets.US_ASCII).trim()));
            } catch (IllegalArgumentException e) {
                throw new IOException(saltFile + " is not a medsearch patient salt");
            }
        }
        byte[] salt = new byte[32];
        new SecureRandom().nextBytes(salt);
        FileUtil.writeAtomically(saltFile, HexFormat.of().formatHex(salt).getBytes(StandardCharsets.US_ASCII));
        try {
            Files.setPosixFilePermissions(saltFile, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing more we can do
        }
        return new PatientKeys(salt);
    }

    /** The stored key for a patient identifier; null for null or blank. */
    public String key(String patientId) {
        if (patientId == null || patientId.isBlank()) {
            return null;
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(salt, "HmacSHA256"));
            byte[] h = mac.doFinal(patientId.trim().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is always available", e);
        }
    }
}

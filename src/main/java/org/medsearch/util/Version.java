package org.medsearch.util;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The medsearch version, the git commit it was built from and when, from the build: Maven resource
 * filtering writes {@code medsearch-version.properties} with the project version, the build time and
 * the commit that git-commit-id-maven-plugin read ({@value #UNKNOWN} where the build had no git
 * checkout, e.g. from a source tarball).
 */
public final class Version {
    private Version() {}

    /** What a value the build could not know reads as. */
    public static final String UNKNOWN = "unknown";

    private static final Properties BUILD = load();

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = Version.class.getResourceAsStream("/medsearch-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // as if there were no file: "dev" and unknowns
        }
        return p;
    }

    /** A filtered value, or the fallback where the file or the value is missing or was left unfiltered. */
    private static String value(String key, String fallback) {
        String v = BUILD.getProperty(key);
        return v == null || v.isBlank() || v.contains("${") ? fallback : v.trim();
    }

    /** The project version, e.g. {@code 0.1.0-SNAPSHOT}; {@code dev} outside a Maven build. */
    public static String current() {
        return value("version", "dev");
    }

    /**
     * The abbreviated commit id the build was made from, with {@code -dirty} where the work tree had
     * uncommitted changes; {@value #UNKNOWN} without a git checkout.
     */
    public static String commit() {
        String id = value("commit", UNKNOWN);
        return !id.equals(UNKNOWN) && value("dirty", "false").equals("true") ? id + "-dirty" : id;
    }

    /** When the build ran, ISO-8601 in UTC (e.g. {@code 2026-01-31T12:00:00Z}); {@value #UNKNOWN} outside a Maven build. */
    public static String buildTime() {
        return value("built", UNKNOWN);
    }
}

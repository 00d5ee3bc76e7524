package org.medsearch.util;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The medsearch version, from the build (Maven resource filtering). */
public final class Version {
    private Version() {}

    private static final String VERSION = load();

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream("/medsearch-version.properties")) {
            if (in == null) {
                return "dev";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "dev");
        } catch (IOException e) {
            return "dev";
        }
    }

    public static String current() {
        return VERSION;
    }
}

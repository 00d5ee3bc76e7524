package org.medsearch.testutil;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates {@code ../shared}; tests that need it skip (never fail) where it is absent. */
public final class Shared {
    private Shared() {}

    public static final Path ROOT = Path.of(System.getProperty("medsearch.shared", "../shared"))
            .toAbsolutePath()
            .normalize();

    /** The path under shared/, or a skipped test when it does not exist. */
    public static Path require(String relative) {
        Path p = ROOT.resolve(relative);
        assumeTrue(Files.exists(p), () -> "skipped: " + p + " is absent");
        return p;
    }
}

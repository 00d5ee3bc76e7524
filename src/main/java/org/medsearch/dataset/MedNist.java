package org.medsearch.dataset;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * MedNIST (58,954 64x64 images in six classes, from the MONAI project), fetched once into the cache
 * and unpacked there. The demo's default data set.
 *
 * <pre>{@code
 * Path root = MedNist.ensure(MedNist.defaultSource(), MedNist.cacheDir(), progress); // .../MedNIST/{AbdomenCT,...}
 * }</pre>
 */
public final class MedNist {
    private MedNist() {}

    public static final URI URL =
            URI.create("https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/MedNIST.tar.gz");
    public static final String MD5 = "0bc7306e7427e00ad1c5526a6677552d";

    /**
     * A cap on the archive's download. The release asset is about 60 MB; its exact size is not
     * pinned here (the MD5 is the check), so the cap leaves room while still stopping a runaway body.
     */
    public static final long MAX_BYTES = 80L << 20;

    /** Where the archive comes from and what it must hash to. */
    public record Source(URI url, String md5) {}

    public static Source defaultSource() {
        return new Source(URL, MD5);
    }

    /**
     * The unpacked data set's class-per-folder root, downloading and unpacking it on first use.
     *
     * @param cacheDir holds {@code MedNIST.tar.gz} and the unpacked {@code MedNIST/}
     */
    public static Path ensure(Source source, Path cacheDir, Progress progress) throws IOException {
        Path unpacked = cacheDir.resolve("MedNIST-unpacked");
        Path root = findRoot(unpacked);
        if (root != null) {
            return root;
        }
        Path tgz = Download.fetch(
                source.url(),
                "MD5",
                source.md5(),
                cacheDir.resolve("MedNIST.tar.gz"),
                new Download.Limits(MAX_BYTES, Download.DEFAULT_DEADLINE),
                progress);
        if (Files.exists(unpacked)) {
            // an earlier, different unpacking: start again
            org.medsearch.util.FileUtil.deleteTree(unpacked);
        }
        TarGz.extract(tgz, unpacked, TarGz.Limits.DEFAULT);
        root = findRoot(unpacked);
        if (root == null) {
            throw new MedsearchException(tgz + " does not contain a class-per-folder data set");
        }
        return root;
    }

    /** The folder holding the class folders: {@code dir} itself or its single sub-folder. */
    private static Path findRoot(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (var s = Files.list(dir)) {
            var subs = s.filter(Files::isDirectory).toList();
            if (subs.size() == 1) {
                try (var t = Files.list(subs.get(0))) {
                    if (t.anyMatch(Files::isDirectory)) {
                        return subs.get(0);
                    }
                }
            }
            return subs.size() > 1 ? dir : null;
        }
    }

    /**
     * The cache folder: the system property {@code medsearch.cache}, else {@code $MEDSEARCH_CACHE}, else
     * {@code $XDG_CACHE_HOME/medsearch}, else {@code ~/.cache/medsearch}.
     */
    public static Path cacheDir() {
        String prop = System.getProperty("medsearch.cache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv("MEDSEARCH_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "medsearch");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "medsearch");
    }
}

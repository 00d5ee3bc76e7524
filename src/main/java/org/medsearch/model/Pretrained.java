package org.medsearch.model;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.medsearch.dataset.Download;
import org.medsearch.dataset.MedNist;
import org.medsearch.util.Hashing;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * Initial weights for training: torchvision's random initialisation ({@code scratch}), torchvision's
 * ImageNet weights ({@code imagenet}: IMAGENET1K_V1, {@code resnet18-f37072fd.pth}), or a file (a
 * torchvision state dict as {@code .pth} or {@code .safetensors}).
 *
 * <p>The ImageNet weights come from the cache ({@code <cache>/weights/resnet18-f37072fd.pth}); on
 * first use they are downloaded from download.pytorch.org. Either way the file's SHA-256 must start
 * with the eight hex digits its name carries, as torchvision checks it; a file that fails the check
 * is never used. Offline with nothing cached, the error says which file to place where.
 *
 * <pre>{@code
 * Pretrained.Init init = Pretrained.resolve("imagenet", MedNist.cacheDir(), progress);
 * ResNet18 net = ResNet18.fromStateDict(manager, init.weights(), classes, seed);
 * }</pre>
 */
public final class Pretrained {
    private Pretrained() {}

    public static final URI IMAGENET_URL = URI.create("https://download.pytorch.org/models/resnet18-f37072fd.pth");
    public static final String IMAGENET_FILE = "resnet18-f37072fd.pth";
    public static final String IMAGENET_SHA256_PREFIX = "f37072fd";
    /** {@code resnet18-f37072fd.pth} is 46,830,571 bytes; the download stops beyond this cap. */
    public static final long IMAGENET_MAX_BYTES = 48L << 20;

    /** Where the ImageNet weights come from (tests point it at a local server). */
    public record Source(URI url, String sha256Prefix) {
        public static Source imagenet() {
            return new Source(IMAGENET_URL, IMAGENET_SHA256_PREFIX);
        }
    }

    /**
     * Resolved initial weights.
     *
     * @param weights a torchvision state dict, or null for {@code scratch}
     * @param description how the manifest records it: "scratch", "imagenet (resnet18-f37072fd.pth sha256:...)", a file
     */
    public record Init(Map<String, Tensor> weights, String description) {}

    /**
     * Where training starts: torchvision's random init ({@code scratch}), torchvision's ImageNet
     * weights ({@code imagenet}), or a state dict in a file.
     *
     * @param file the state dict, for {@link Kind#FILE} only
     */
    public record Choice(Kind kind, Path file) {
        /** The three kinds of start. */
        public enum Kind {
            SCRATCH,
            IMAGENET,
            FILE
        }

        /** {@code scratch}, {@code imagenet}, or a path. */
        public static Choice parse(String s) {
            if (s == null || s.isBlank()) {
                throw new IllegalArgumentException("expected scratch, imagenet or a weights file");
            }
            return switch (s.strip()) {
                case "scratch" -> new Choice(Kind.SCRATCH, null);
                case "imagenet" -> new Choice(Kind.IMAGENET, null);
                default -> new Choice(Kind.FILE, Path.of(s.strip()));
            };
        }
    }

    public static Init resolve(String init, Path cacheDir, Progress progress) throws IOException {
        return resolve(Choice.parse(init), cacheDir, Source.imagenet(), progress);
    }

    public static Init resolve(String init, Path cacheDir, Source imagenet, Progress progress) throws IOException {
        return resolve(Choice.parse(init), cacheDir, imagenet, progress);
    }

    public static Init resolve(Choice init, Path cacheDir, Source imagenet, Progress progress) throws IOException {
        switch (init.kind()) {
            case SCRATCH:
                return new Init(null, "scratch");
            case IMAGENET:
                Path w = imagenetFile(cacheDir, imagenet, progress);
                return new Init(PthReader.read(w), "imagenet " + w.getFileName() + " sha256:" + Hashing.sha256Hex(w));
            default:
                Path f = init.file();
                if (!Files.isRegularFile(f)) {
                    throw new MedsearchException(
                            "no weights file " + f
                                    + " (start from 'scratch', 'imagenet', or a torchvision state dict as .safetensors or .pth)");
                }
                return new Init(Weights.read(f), f.getFileName() + " sha256:" + Hashing.sha256Hex(f));
        }
    }

    /** The verified ImageNet weights file in the cache, downloading it on first use. */
    public static Path imagenetFile(Path cacheDir, Source source, Progress progress) throws IOException {
        Path target = cacheDir.resolve("weights").resolve(IMAGENET_FILE);
        try {
            return Download.fetch(
                    source.url(),
                    "SHA-256",
                    source.sha256Prefix(),
                    target,
                    new Download.Limits(IMAGENET_MAX_BYTES, Download.DEFAULT_DEADLINE),
                    progress);
        } catch (MedsearchException e) {
            throw new MedsearchException("ImageNet weights unavailable: " + e.getMessage());
        }
    }

    /** The default cache folder (shared with the data sets). */
    public static Path cacheDir() {
        return MedNist.cacheDir();
    }
}

package org.medsearch.testutil;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;

/** Synthetic images the tests write themselves: seeded, with a visual pattern per class. */
public final class TestImages {
    private TestImages() {}

    /** Patterns a small network separates in one epoch. */
    public static final String[] PATTERNS = {"stripes", "columns", "disc"};

    /** A size x size gray image of {@code pattern} with seeded noise and a random phase. */
    public static BufferedImage pattern(String pattern, int size, Random rnd) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_BYTE_GRAY);
        int phase = rnd.nextInt(8);
        double r0 = size * (0.2 + 0.15 * rnd.nextDouble());
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double v = switch (pattern) {
                    case "stripes" -> ((y + phase) / 4) % 2 == 0 ? 200 : 50;
                    case "columns" -> ((x + phase) / 4) % 2 == 0 ? 200 : 50;
                    case "disc" -> Math.hypot(x - size / 2.0, y - size / 2.0) < r0 ? 210 : 40;
                    default -> 128;
                };
                v += rnd.nextGaussian() * 20;
                img.getRaster().setSample(x, y, 0, (int) Math.max(0, Math.min(255, v)));
            }
        }
        return img;
    }

    public static byte[] png(BufferedImage img) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    public static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) {
            throw new IOException("no writer for " + format);
        }
        return out.toByteArray();
    }

    /**
     * Writes an ImageFolder data set: {@code perClass} PNGs of each of the first {@code classes}
     * patterns, into {@code root/<pattern>/img_NNN.png}.
     */
    public static Path writeDataset(Path root, int classes, int perClass, int size, long seed) throws IOException {
        Random rnd = new Random(seed);
        for (int c = 0; c < classes; c++) {
            Path dir = Files.createDirectories(root.resolve(PATTERNS[c]));
            for (int i = 0; i < perClass; i++) {
                Files.write(dir.resolve(String.format("img_%03d.png", i)), png(pattern(PATTERNS[c], size, rnd)));
            }
        }
        return root;
    }

    /**
     * A decompression bomb: a valid PNG whose IHDR says w x h 8-bit gray, with an all-zero image
     * stream that deflate shrinks about a thousand times (20000 x 20000 is 400 MB of pixels in a
     * file of a few hundred KB).
     */
    public static byte[] bigBlackPng(int w, int h) {
        return HostileImages.png(w, h, 0, 8);
    }
}

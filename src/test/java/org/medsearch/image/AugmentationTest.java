package org.medsearch.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.TestImages;

/** Augmentation: what it changes, that it is reproducible, and that loaders without it are untouched. */
class AugmentationTest {

    static float[] gradient(int size) {
        float[] p = new float[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                p[y * size + x] = (x + y) / (2f * (size - 1));
            }
        }
        return p;
    }

    @Test
    void noChangeIsTheIdentity() {
        float[] p = gradient(32);
        float[] out = new Augmentation(0, 0, 0, 0, 0, false).apply(p, 32, new SplittableRandom(1));
        assertArrayEquals(p, out, 1e-5f);
    }

    @Test
    void flipMirrorsOnlyWhenAsked() {
        int s = 16;
        float[] p = gradient(s);
        Augmentation flipOnly = new Augmentation(0, 0, 0, 0, 0, true);
        boolean sawMirror = false;
        for (int seed = 0; seed < 20; seed++) {
            float[] out = flipOnly.apply(p, s, new SplittableRandom(seed));
            boolean mirrored = Math.abs(out[0] - p[s - 1]) < 1e-5;
            assertTrue(mirrored || Arrays.equals(roundAll(out), roundAll(p)), "either mirrored or unchanged");
            sawMirror |= mirrored;
            float[] kept = flipOnly.withFlip(false).apply(p, s, new SplittableRandom(seed));
            assertArrayEquals(p, kept, 1e-5f);
        }
        assertTrue(sawMirror, "half of the images are mirrored");
    }

    private static float[] roundAll(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = Math.round(v[i] * 1e4f) / 1e4f;
        }
        return r;
    }

    @Test
    void standardChangesStayInRangeAndAreReproducible() {
        float[] p = gradient(64);
        Augmentation a = Augmentation.standard(false);
        float[] one = a.apply(p, 64, new SplittableRandom(5));
        float[] two = a.apply(p, 64, new SplittableRandom(5));
        float[] other = a.apply(p, 64, new SplittableRandom(6));
        assertArrayEquals(one, two);
        assertFalse(Arrays.equals(one, other));
        assertFalse(Arrays.equals(one, p), "the standard augmentation changes the image");
        for (float v : one) {
            assertTrue(v >= 0 && v <= 1, "clamped to [0, 1]: " + v);
        }
        // small changes: the image stays close to the original on average
        double diff = 0;
        for (int i = 0; i < p.length; i++) {
            diff += Math.abs(one[i] - p[i]);
        }
        assertTrue(diff / p.length < 0.2, "mean change " + diff / p.length);
    }

    @Test
    void outOfRangeSettingsAreRefused() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new Augmentation(0.9, 0, 0, 0, 0, false));
        assertTrue(e.getMessage().contains("scale"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Augmentation(0, 0, Double.NaN, 0, 0, false));
    }

    @Test
    void loadersWithoutAugmentationGiveExactlyThePreprocessedImage(@TempDir Path dir) throws Exception {
        TestImages.writeDataset(dir, 2, 6, 48, 3);
        List<Path> files = new ArrayList<>();
        try (var s = java.nio.file.Files.walk(dir)) {
            s.filter(f -> f.toString().endsWith(".png")).sorted().forEach(files::add);
        }
        Preprocessing prep = Preprocessing.imagenet(32);
        ImageReaders readers = ImageReaders.standard();
        float[] expected = new float[files.size() * prep.inputLength()];
        for (int i = 0; i < files.size(); i++) {
            prep.apply(readers.read(files.get(i)), expected, i * prep.inputLength());
        }
        float[] plain = collect(BatchLoader.forFiles(readers, prep, files, 4, 2), prep);
        assertArrayEquals(expected, plain, "index and query images are never augmented");

        float[] aug1 = collect(
                BatchLoader.forFiles(readers, prep, files, 4, 2).optAugmentation(Augmentation.standard(false), 9),
                prep);
        float[] aug2 = collect(
                BatchLoader.forFiles(readers, prep, files, 3, 1).optAugmentation(Augmentation.standard(false), 9),
                prep);
        assertFalse(Arrays.equals(expected, aug1));
        // the same seed gives the same images whatever the batch size and the thread count
        assertArrayEquals(aug1, aug2);
        assertEquals(expected.length, aug1.length);
    }

    private static float[] collect(BatchLoader loader, Preprocessing prep) {
        List<float[]> parts = new ArrayList<>();
        try (loader) {
            for (BatchLoader.Batch b : loader) {
                parts.add(b.data());
            }
        }
        int n = parts.stream().mapToInt(p -> p.length).sum();
        float[] out = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}

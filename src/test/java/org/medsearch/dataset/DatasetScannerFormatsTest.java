package org.medsearch.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.ImageReaders;
import org.medsearch.testutil.Netpbm;

/** Netpbm and WebP files in a data set are found by content and checked like PNGs. */
class DatasetScannerFormatsTest {

    final DatasetScanner scanner = new DatasetScanner(ImageReaders.standard()).optThreads(2);

    @Test
    void pgmPpmPbmAndWebpFilesAreUsableImages(@TempDir Path root) throws Exception {
        Path mammo = Files.createDirectories(root.resolve("mammo"));
        Path photo = Files.createDirectories(root.resolve("photo"));
        byte[] pgm16 = Netpbm.pnm('5', 16, 12, 4095, Netpbm.randomSamples(16 * 12, 4095, 1));
        Files.write(mammo.resolve("mdb001.pgm"), pgm16);
        Files.write(mammo.resolve("mdb002.pgm"), Netpbm.pnm('2', 8, 8, 255, Netpbm.randomSamples(64, 255, 2)));
        Files.write(mammo.resolve("mask.pbm"), Netpbm.pnm('4', 10, 4, 1, Netpbm.randomSamples(40, 1, 3)));
        Files.write(mammo.resolve("cut.pgm"), Arrays.copyOf(pgm16, pgm16.length / 2));
        Files.write(photo.resolve("skin.ppm"), Netpbm.pnm('6', 5, 5, 255, Netpbm.randomSamples(75, 255, 4)));
        Files.write(photo.resolve("derm.pnm"), Netpbm.pnm('3', 4, 4, 1023, Netpbm.randomSamples(48, 1023, 5)));
        for (String name : new String[] {"gradient-lossy.webp", "gradient-lossless.webp"}) {
            try (InputStream in = ImageReaders.class.getResourceAsStream("webp/" + name)) {
                Files.write(photo.resolve(name), in.readAllBytes());
            }
        }

        Dataset ds = scanner.scan(root);
        assertEquals(Map.of("mammo", 3, "photo", 4), ds.countsPerClass());
        List<ScanReport.Skipped> skipped = ds.report().skipped();
        assertEquals(1, skipped.size(), skipped.toString());
        assertEquals("mammo/cut.pgm", skipped.get(0).relativePath());
        assertTrue(
                skipped.get(0).reason().startsWith("corrupt or truncated PGM"),
                skipped.get(0).reason());

        // without decoding, recognition alone picks the same files (the cut one too: it is a PGM)
        Dataset quick =
                new DatasetScanner(ImageReaders.standard()).optDecode(false).scan(root);
        assertEquals(Map.of("mammo", 4, "photo", 4), quick.countsPerClass());
    }
}

package org.medsearch.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.ImageReaders;
import org.medsearch.testutil.TestImages;

class DatasetScannerTest {

    final DatasetScanner scanner = new DatasetScanner(ImageReaders.standard());

    @Test
    void imageFolderWithBrokenFilesSkipsAndNamesThem(@TempDir Path root) throws Exception {
        TestImages.writeDataset(root, 2, 5, 32, 1);
        byte[] good = TestImages.png(TestImages.pattern("disc", 32, new Random(9)));
        Files.write(root.resolve("stripes/zero.png"), new byte[0]);
        Files.write(root.resolve("stripes/truncated.png"), Arrays.copyOf(good, good.length / 2));
        Files.writeString(root.resolve("columns/notes.txt"), "not an image");
        Files.write(root.resolve("loose.png"), good);
        Files.write(root.resolve("stripes/.hidden.png"), good);
        Dataset ds = scanner.scan(root);

        assertEquals(10, ds.size());
        assertEquals(List.of("columns", "stripes"), ds.classes());
        assertEquals(Map.of("columns", 5, "stripes", 5), ds.countsPerClass());
        List<ScanReport.Skipped> skipped = ds.report().skipped();
        assertEquals(4, skipped.size(), skipped.toString());
        String summary = ds.report().summary(10);
        assertTrue(summary.contains("stripes/zero.png: empty file"), summary);
        assertTrue(summary.contains("stripes/truncated.png: corrupt or truncated PNG"), summary);
        assertTrue(summary.contains("columns/notes.txt: not an image"), summary);
        assertTrue(summary.contains("loose.png: not inside a class folder"), summary);
        assertTrue(summary.startsWith("10 usable images in 2 classes, 4 files skipped"), summary);
    }

    @Test
    void classWithoutUsableImagesIsAnErrorNamingIt(@TempDir Path root) throws Exception {
        TestImages.writeDataset(root, 2, 3, 32, 1);
        Files.createDirectories(root.resolve("empty-class"));
        Files.write(root.resolve("empty-class/broken.jpg"), new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 0});
        DatasetException e = assertThrows(DatasetException.class, () -> scanner.scan(root));
        assertTrue(e.getMessage().contains("class 'empty-class' has no usable image (1 files skipped"), e.getMessage());
    }

    @Test
    void orderDoesNotDependOnTheFileSystem(@TempDir Path a, @TempDir Path b) throws Exception {
        TestImages.writeDataset(a, 3, 4, 32, 5);
        TestImages.writeDataset(b, 3, 4, 32, 5);
        Dataset x = scanner.scan(a);
        Dataset y = scanner.scan(b);
        assertEquals(x.contentHash(), y.contentHash());
        assertEquals(
                x.samples().stream().map(Sample::relativePath).toList(),
                y.samples().stream().map(Sample::relativePath).toList());
    }

    @Test
    void csvManifestWithPatientsAndModality(@TempDir Path root) throws Exception {
        TestImages.writeDataset(root, 2, 3, 32, 2);
        Files.writeString(
                root.resolve("manifest.csv"),
                String.join(
                        "\n",
                        "path,label,patient_id,modality",
                        "stripes/img_000.png,stripes,P1,CT",
                        "stripes/img_001.png,stripes,P1,CT",
                        "\"columns/img_000.png\",columns,P2,MR",
                        "columns/img_001.png,,P3,MR",
                        "columns/missing.png,columns,P4,MR",
                        "stripes/img_000.png,stripes,P1,CT"));
        Dataset ds = scanner.scan(root.resolve("manifest.csv"));
        assertEquals(4, ds.size());
        Sample s = ds.samples().stream()
                .filter(x -> x.relativePath().equals("stripes/img_001.png"))
                .findFirst()
                .orElseThrow();
        assertEquals("P1", s.patientId());
        assertEquals("CT", s.modality());
        assertNull(ds.samples().stream()
                .filter(x -> x.relativePath().equals("columns/img_001.png"))
                .findFirst()
                .orElseThrow()
                .label());
        String summary = ds.report().summary(10);
        assertTrue(summary.contains("columns/missing.png: no such file"), summary);
        assertTrue(summary.contains("listed twice"), summary);
        assertTrue(!s.toString().contains("P1"), "toString must not show patient ids");
    }

    @Test
    void manifestWithoutLabelsColumnIsRejected(@TempDir Path root) throws Exception {
        Files.writeString(root.resolve("m.csv"), "just-a-path.png\n");
        assertThrows(DatasetException.class, () -> scanner.scan(root.resolve("m.csv")));
    }

    @Test
    void folderWithoutClassFoldersIsUnlabelled(@TempDir Path root) throws Exception {
        for (int i = 0; i < 3; i++) {
            Files.write(root.resolve("a" + i + ".png"), TestImages.png(TestImages.pattern("disc", 32, new Random(i))));
        }
        Dataset ds = scanner.scan(root);
        assertEquals(3, ds.size());
        assertTrue(ds.classes().isEmpty());
    }

    @Test
    void missingFolderIsAClearError(@TempDir Path root) {
        DatasetException e = assertThrows(DatasetException.class, () -> scanner.scan(root.resolve("nope")));
        assertTrue(e.getMessage().startsWith("data set not found"), e.getMessage());
    }

    @Test
    void limitPerClassIsASeededSample(@TempDir Path root) throws Exception {
        TestImages.writeDataset(root, 2, 10, 32, 3);
        Dataset a = new DatasetScanner(ImageReaders.standard())
                .optLimitPerClass(4, 7)
                .scan(root);
        Dataset b = new DatasetScanner(ImageReaders.standard())
                .optLimitPerClass(4, 7)
                .scan(root);
        assertEquals(8, a.size());
        assertEquals(a.contentHash(), b.contentHash());
    }
}

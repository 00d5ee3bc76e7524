package org.medsearch.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.store.FSDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.util.MedsearchException;

/** Bad states of the disk and of the index: each gives a clear error and keeps what was committed. */
class IndexFailureTest {

    static final IndexInfo INFO = new IndexInfo(LuceneIndex.FORMAT, "fp", List.of("a", "b"), 64, "test");

    static IndexedImage image(Random r, int i) {
        float[] v = new float[64];
        for (int j = 0; j < v.length; j++) {
            v[j] = r.nextFloat();
        }
        return new IndexedImage(
                -1,
                "/img/" + i,
                "a",
                "a",
                1f,
                String.format("%064x", i),
                v,
                null,
                null,
                null,
                null,
                Map.of("note", "x".repeat(200)));
    }

    static void fill(Path dir, int n) throws IOException {
        Random r = new Random(1);
        try (LuceneIndex idx = LuceneIndex.create(dir, INFO)) {
            for (int i = 0; i < n; i++) {
                idx.add(image(r, i));
            }
            idx.commit();
        }
    }

    @Test
    void anotherFormatVersionIsRefused(@TempDir Path dir) throws Exception {
        fill(dir, 3);
        try (var d = FSDirectory.open(dir.resolve(LuceneIndex.LUCENE_DIR));
                IndexWriter w = new IndexWriter(d, new IndexWriterConfig())) {
            w.setLiveCommitData(Map.of("medsearch.format", "medsearch-index/0").entrySet());
            w.commit();
        }
        MedsearchException e = assertThrows(MedsearchException.class, () -> LuceneIndex.open(dir, false));
        assertTrue(e.getMessage().contains("has index format 'medsearch-index/0'"), e.getMessage());
    }

    @Test
    void aForeignLuceneIndexIsRefused(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve(LuceneIndex.LUCENE_DIR));
        try (var d = FSDirectory.open(dir.resolve(LuceneIndex.LUCENE_DIR));
                IndexWriter w = new IndexWriter(d, new IndexWriterConfig())) {
            w.commit();
        }
        MedsearchException e = assertThrows(MedsearchException.class, () -> LuceneIndex.open(dir, false));
        assertTrue(e.getMessage().contains("not one medsearch wrote"), e.getMessage());
    }

    @Test
    void aCorruptedSegmentIsReportedByTheCheck(@TempDir Path dir) throws Exception {
        fill(dir, 200);
        Path vec;
        try (var s = Files.list(dir.resolve(LuceneIndex.LUCENE_DIR))) {
            vec = s.filter(p -> p.toString().endsWith(".vec")).findFirst().orElseThrow();
        }
        try (RandomAccessFile f = new RandomAccessFile(vec.toFile(), "rw")) {
            f.seek(f.length() / 2);
            f.write(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        }
        LuceneIndex.CheckReport r = LuceneIndex.check(dir);
        assertFalse(r.ok());
        assertTrue(
                r.problems().get(0).startsWith("Lucene's check failed"),
                r.problems().toString());
        assertTrue(Files.exists(vec), "the check never deletes anything");
    }

    @Test
    void aReadOnlyIndexCanBeSearchedButNotWritten(@TempDir Path dir) throws Exception {
        fill(dir, 20);
        Path lucene = dir.resolve(LuceneIndex.LUCENE_DIR);
        assumeTrue(chattr("+i", lucene), "chattr +i is not available here");
        try {
            MedsearchException e = assertThrows(MedsearchException.class, () -> LuceneIndex.open(dir, true));
            assertTrue(e.getMessage().startsWith("cannot write index"), e.getMessage());
            try (LuceneIndex idx = LuceneIndex.open(dir, false)) {
                assertEquals(20, idx.size());
                assertEquals(5, idx.search(new float[64], 5, SearchFilter.ALL).size());
            }
        } finally {
            chattr("-i", lucene);
        }
    }

    @Test
    void aFullDiskKeepsTheLastCommit(@TempDir Path dir) throws Exception {
        Path mnt = Files.createDirectories(dir.resolve("small"));
        assumeTrue(
                run("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt.toString()),
                "cannot mount a small tmpfs here");
        try {
            Path idxDir = mnt.resolve("index");
            Random r = new Random(2);
            int committed = 0;
            MedsearchException failure = null;
            try (LuceneIndex idx = LuceneIndex.create(idxDir, INFO)) {
                for (int i = 0; i < 100_000 && failure == null; i++) {
                    try {
                        idx.add(image(r, i));
                        if (i % 100 == 99) {
                            idx.commit();
                            committed = i + 1;
                        }
                    } catch (MedsearchException e) {
                        failure = e;
                    }
                }
            }
            assertTrue(failure != null, "the disk never filled");
            assertTrue(failure.getMessage().contains("last committed state is intact"), failure.getMessage());
            assertTrue(committed > 0);
            LuceneIndex.CheckReport report = LuceneIndex.check(idxDir);
            assertTrue(report.ok(), report.problems().toString());
            assertEquals(committed, report.images());
        } finally {
            run("umount", mnt.toString());
        }
    }

    static boolean chattr(String flag, Path p) {
        return run("chattr", flag, p.toString());
    }

    static boolean run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}

package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.medsearch.index.LuceneIndex;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.TestImages;

/** Issue 10's command-line items: option checks before work, empty split parts, read-only checks, commits. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HardeningCliTest {

    @TempDir
    static Path work;

    static Path data;
    static Path model;
    static Path index;

    @BeforeAll
    static void setUp() throws Exception {
        data = TestImages.writeDataset(work.resolve("data"), 2, 10, 32, 5);
        model = work.resolve("model");
        index = work.resolve("index");
    }

    static Stream<Arguments> badTrainOptions() {
        return Stream.of(
                bad("--image-size", "0", "--image-size must be between 32 and 1024, got 0"),
                bad("--image-size", "4096", "--image-size must be between 32 and 1024, got 4096"),
                bad("--epochs", "0", "--epochs must be at least 1, got 0"),
                bad("--epochs", "-1", "--epochs must be at least 1, got -1"),
                bad("--lr", "0", "--lr must be a positive number, got 0.0"),
                bad("--lr", "NaN", "--lr must be a positive number, got NaN"),
                bad("--lr-step", "0", "--lr-step must be at least 1, got 0"),
                bad("--lr-gamma", "0", "--lr-gamma must be a positive number, got 0.0"),
                bad("--lr-gamma", "Infinity", "--lr-gamma must be a positive number, got Infinity"),
                bad("--batch", "0", "--batch must be at least 2, got 0"),
                bad("--batch", "1", "--batch must be at least 2, got 1"),
                bad("--momentum", "1", "--momentum must be at least 0 and below 1, got 1.0"),
                bad("--momentum", "-0.5", "--momentum must be at least 0 and below 1, got -0.5"),
                bad("--weight-decay", "-1", "--weight-decay must be a number of at least 0, got -1.0"),
                bad("--backbone-lr-factor", "0", "--backbone-lr-factor must be a positive number, got 0.0"),
                bad("--backbone-lr-factor", "-2", "--backbone-lr-factor must be a positive number, got -2.0"),
                bad("--warmup-epochs", "-1", "--warmup-epochs must be a number of at least 0, got -1.0"),
                bad("--label-smoothing", "1", "--label-smoothing must be at least 0 and below 1, got 1.0"),
                bad("--early-stop", "-1", "--early-stop must be at least 0, got -1"),
                bad("--metric-loss", "-0.5", "--metric-loss must be a number of at least 0, got -0.5"),
                bad("--metric-temperature", "0", "--metric-temperature must be a positive number, got 0.0"),
                bad(
                        "--schedule",
                        "linear",
                        "Invalid value for option '--schedule': unknown schedule 'linear': expected step or cosine"),
                bad(
                        "--recipe",
                        "best",
                        "Invalid value for option '--recipe': unknown recipe 'best': expected paper or strong"),
                bad(
                        "--split",
                        "0/50/50",
                        "Invalid value for option '--split': three non-negative numbers like 70/15/15"),
                bad("--split", "a/b/c", "Invalid value for option '--split': three non-negative numbers like 70/15/15"),
                bad("--split", "70/30", "Invalid value for option '--split': three non-negative numbers like 70/15/15"),
                bad("--workers", "0", "--workers must be at least 1, got 0"),
                bad("--slices", "0", "--slices must be at least 1, got 0"),
                bad(
                        "--plane",
                        "diagonal",
                        "Invalid value for option '--plane': plane must be axial, coronal or sagittal, got 'diagonal'"),
                bad(
                        "--finetune",
                        "most",
                        "Invalid value for option '--finetune': must be full, last-block or head, got 'most'"),
                bad("--window", "liver", "Invalid value for option '--window': unknown window preset 'liver'"),
                bad(
                        "--init",
                        "/no/such/weights.pth",
                        "Invalid value for option '--init': no such file /no/such/weights.pth"));
    }

    static Arguments bad(String option, String value, String message) {
        return Arguments.of(option, value, message);
    }

    /**
     * Each bad value: exit 2, one line naming the option, and before the data scan: --data does not
     * exist, so a data error would mean the scan came first.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("badTrainOptions")
    @Order(1)
    void badTrainOptionsAreNamedBeforeTheScan(String option, String value, String message) {
        CliRun r = CliRun.run(
                "train",
                "--data",
                work.resolve("no-such-data").toString(),
                "--out",
                work.resolve("unused").toString(),
                option,
                value,
                "-q");
        r.assertUserError("medsearch: " + message);
        assertFalse(r.err().contains("TrainingRecipe["), r.err());
        assertFalse(Files.exists(work.resolve("unused")), "nothing written");
    }

    /** Two usable rows: the split leaves validation empty, which trained to NaN before. */
    @Test
    @Order(2)
    void trainingWithoutValidationImagesIsRefused() throws Exception {
        Path csv = Files.writeString(
                work.resolve("two.csv"),
                "path,label\n" + "data/stripes/img_000.png,stripes\ndata/columns/img_000.png,columns\n");
        CliRun r = CliRun.run(
                "train",
                "--data",
                csv.toString(),
                "--out",
                work.resolve("m-two").toString(),
                "--image-size",
                "32",
                "--epochs",
                "1",
                "--batch",
                "2",
                "-q");
        r.assertUserError("gave train 2, val 0, test 0 images, but validation needs at least one image");
        assertTrue(r.err().contains("use more images or other split ratios"), r.err());
        assertFalse(Files.exists(work.resolve("m-two").resolve("manifest.json")));
    }

    /** A model trained without a test part: evaluation says that it needs one. */
    @Test
    @Order(3)
    void trainWithoutTestPartThenEvaluateSaysWhatIsMissing() throws Exception {
        CliRun t = CliRun.run(
                "train",
                "--data",
                data.toString(),
                "--out",
                model.toString(),
                "--image-size",
                "32",
                "--epochs",
                "1",
                "--batch",
                "4",
                "--split",
                "60/40/0",
                "--workers",
                "1",
                "-q");
        assertEquals(0, t.code(), t.toString());
        CliRun i = CliRun.run(
                "index",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--index",
                work.resolve("index-eval").toString(),
                "--workers",
                "1",
                "-q");
        assertEquals(0, i.code(), i.toString());
        CliRun e = CliRun.run(
                "evaluate",
                "--model",
                model.toString(),
                "--index",
                work.resolve("index-eval").toString(),
                "--data",
                data.toString(),
                "--report",
                work.resolve("report").toString(),
                "-q");
        e.assertUserError("test 0 images, and evaluation needs at least one test image");
    }

    /** 20 images, --commit-every 7, batches of 64: commits after images 7, 14 and 20. */
    @Test
    @Order(4)
    void commitEveryCountsImagesNotBatches() throws Exception {
        assertTrue(Files.exists(model.resolve("manifest.json")), "needs the model of the test before");
        CliRun r = CliRun.run(
                "index",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--index",
                index.toString(),
                "--commit-every",
                "7",
                "--workers",
                "1",
                "-q");
        assertEquals(0, r.code(), r.toString());
        try (Directory d = FSDirectory.open(index.resolve(LuceneIndex.LUCENE_DIR))) {
            // generation 1 is the empty index's creation
            assertEquals(1 + 3, SegmentInfos.readLatestCommit(d).getGeneration(), "commits");
        }
        CliRun zero = CliRun.run(
                "index",
                "--model",
                model.toString(),
                "--data",
                work.resolve("no-such-data").toString(),
                "--index",
                index.toString(),
                "--commit-every",
                "0",
                "-q");
        zero.assertUserError("--commit-every must be at least 1, got 0");
    }

    static Map<String, String> snapshot(Path dir) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                m.put(
                        dir.relativize(p).toString(),
                        Files.isDirectory(p)
                                ? "dir"
                                : Files.size(p) + "@"
                                        + Files.getLastModifiedTime(p).toMillis());
            }
        }
        return m;
    }

    /**
     * --check and --stats open the index read-only: no write.lock is created and no file changes.
     * (Tests run as root, where chmod does not stop writes, so the files themselves are the witness;
     * where the user is not root, the index is also made read-only for real.)
     */
    @Test
    @Order(5)
    void checkAndStatsWriteNothing() throws Exception {
        Path lock = index.resolve(LuceneIndex.LUCENE_DIR).resolve("write.lock");
        Files.deleteIfExists(lock); // the indexing run left it behind
        Map<String, String> before = snapshot(index);
        CliRun check = CliRun.run("index", "--index", index.toString(), "--check");
        assertEquals(0, check.code(), check.toString());
        assertTrue(check.out().contains("is consistent: 20 images"), check.out());
        CliRun stats = CliRun.run("index", "--index", index.toString(), "--stats");
        assertEquals(0, stats.code(), stats.toString());
        assertFalse(Files.exists(lock), "--check or --stats created write.lock");
        assertEquals(before, snapshot(index), "--check or --stats changed the index's files");

        List<Path> all;
        try (Stream<Path> s = Files.walk(index)) {
            all = s.toList();
        }
        Set<PosixFilePermission> readOnly = Set.of(
                PosixFilePermission.OWNER_READ,
                PosixFilePermission.OWNER_EXECUTE,
                PosixFilePermission.GROUP_READ,
                PosixFilePermission.GROUP_EXECUTE,
                PosixFilePermission.OTHERS_READ,
                PosixFilePermission.OTHERS_EXECUTE);
        try {
            for (Path p : all) {
                Files.setPosixFilePermissions(p, readOnly);
            }
            CliRun ro = CliRun.run("index", "--index", index.toString(), "--check");
            assertEquals(0, ro.code(), "read-only" + (Files.isWritable(index) ? " (as root)" : "") + ": " + ro);
            assertTrue(ro.out().contains("is consistent: 20 images"), ro.out());
            assertEquals(
                    0,
                    CliRun.run("index", "--index", index.toString(), "--stats").code());
        } finally {
            Set<PosixFilePermission> rw = Set.of(
                    PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
            for (Path p : all) {
                Files.setPosixFilePermissions(p, rw);
            }
        }
    }

    /** The check takes a shared lock on write.lock instead: an index being written is refused in one line. */
    @Test
    @Order(6)
    void checkRefusesAnIndexBeingWritten() throws Exception {
        try (LuceneIndex writer = LuceneIndex.open(index, true)) {
            CliRun r = CliRun.run("index", "--index", index.toString(), "--check");
            r.assertUserError("index " + index + " is being written by another process");
            assertEquals(20, writer.size());
        }
        assertEquals(
                0, CliRun.run("index", "--index", index.toString(), "--check").code());
    }

    @Test
    @Order(7)
    void missingOrForeignIndexIsOneLineNamingThePath() throws Exception {
        Path missing = work.resolve("no-index");
        Path file = Files.writeString(work.resolve("a-file"), "not an index");
        Path empty = Files.createDirectories(work.resolve("empty-dir").resolve(LuceneIndex.LUCENE_DIR))
                .getParent();
        for (String mode : new String[] {"--check", "--stats"}) {
            for (Path p : new Path[] {missing, file, empty}) {
                CliRun r = CliRun.run("index", "--index", p.toString(), mode);
                r.assertUserError("medsearch: index not found: " + p);
            }
        }
        assertFalse(Files.exists(missing), "a check created the index folder");
        try (Stream<Path> s = Files.list(empty.resolve(LuceneIndex.LUCENE_DIR))) {
            assertEquals(0, s.count(), "a check wrote into an empty folder");
        }
    }
}

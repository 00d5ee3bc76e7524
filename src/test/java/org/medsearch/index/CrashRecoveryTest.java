package org.medsearch.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.cli.Main;
import org.medsearch.testutil.TestImages;

/**
 * kill -9 at random moments of a real {@code medsearch index} child process: after every kill the
 * index opens, passes its check, has lost no committed image and holds none twice; the next run
 * continues where the last commit left off.
 */
class CrashRecoveryTest {

    static final int IMAGES = 160;
    static final int KILLS = 20;

    @Test
    void killNineAtRandomPointsLosesNothingCommitted(@TempDir Path work) throws Exception {
        Path data = TestImages.writeDataset(work.resolve("data"), 2, IMAGES / 2, 64, 3);
        Path model = work.resolve("model");
        Path index = work.resolve("index");
        int trained = Main.run(
                new java.io.PrintWriter(java.io.OutputStream.nullOutputStream()),
                new java.io.PrintWriter(System.err, true),
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
                "16",
                "-q");
        assertEquals(0, trained);

        Random rnd = new Random(20261125);
        Set<String> committed = new HashSet<>();
        List<String> log = new ArrayList<>();
        int kills = 0;
        for (int round = 0; kills < KILLS && round < 3 * KILLS; round++) {
            Process p = child(model, data, index, work.resolve("child-" + round + ".log"));
            long delay = 300 + rnd.nextInt(3500);
            boolean finished = p.waitFor(delay, TimeUnit.MILLISECONDS);
            if (!finished) {
                p.destroyForcibly().waitFor(); // SIGKILL: no shutdown hooks, no cleanup
                kills++;
            }
            if (!LuceneIndex.exists(index)) {
                log.add("round " + round + ": killed before the first commit");
                continue;
            }
            LuceneIndex.CheckReport report = LuceneIndex.check(index);
            assertTrue(report.ok(), "round " + round + " after " + delay + " ms: " + report.problems());
            Set<String> now;
            try (LuceneIndex idx = LuceneIndex.open(index, false)) {
                now = idx.contentHashesByPath().keySet();
                assertEquals(idx.size(), now.size(), "no path twice");
            }
            assertTrue(now.containsAll(committed), "round " + round + ": a committed image was lost");
            log.add("round " + round + ": " + (finished ? "finished" : "killed after " + delay + " ms") + ", "
                    + now.size() + " committed");
            committed = now;
            if (finished && now.size() == IMAGES) {
                // start over so that every round has work to interrupt
                org.medsearch.util.FileUtil.deleteTree(index);
                committed = new HashSet<>();
            }
        }
        assertTrue(kills >= KILLS, "only " + kills + " kills: " + log);
        Process last = child(model, data, index, work.resolve("child-final.log"));
        assertTrue(last.waitFor(5, TimeUnit.MINUTES), "the final run did not finish");
        assertEquals(0, last.exitValue(), Files.readString(work.resolve("child-final.log")));
        assertTrue(LuceneIndex.check(index).ok());
        try (LuceneIndex idx = LuceneIndex.open(index, false)) {
            Map<String, String> all = idx.contentHashesByPath();
            assertEquals(IMAGES, idx.size(), String.join("\n", log));
            assertEquals(IMAGES, all.size());
        }
    }

    private static Process child(Path model, Path data, Path index, Path logFile) throws Exception {
        // the class path goes in an argument file: ONNX Runtime crashes a JVM whose command line is
        // longer than about 4 KB, which a hundred jars on -cp make it
        Path args = logFile.resolveSibling("classpath.args");
        if (!Files.exists(args)) {
            Files.writeString(args, "-cp \"" + System.getProperty("java.class.path") + "\"\n");
        }
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + args,
                "-Dai.djl.offline=true",
                "-Djava.awt.headless=true",
                Main.class.getName(),
                "index",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--index",
                index.toString(),
                "--commit-every",
                "7",
                "--batch",
                "8",
                "--workers",
                "1",
                "-q"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile());
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        pb.environment().put("MEDSEARCH_THREADS", "1");
        return pb.start();
    }
}

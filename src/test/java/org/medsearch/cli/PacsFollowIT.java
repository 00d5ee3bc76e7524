package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dicomweb.OrthancServer;
import org.medsearch.index.VectorStore;
import org.medsearch.service.Stores;
import org.medsearch.testutil.Bundles;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.TestImages;

/**
 * {@code index --from dicomweb:// --follow} as an operator runs it: the packaged launcher in its own
 * process against a real Orthanc. It indexes what is there, picks up instances uploaded while it
 * polls, and SIGTERM stops it with everything committed: the index is consistent, holds every
 * instance, and a restart retrieves nothing again. An integration test: it needs the packaged jar.
 */
class PacsFollowIT {

    static final Path LAUNCHER = Path.of("medsearch").toAbsolutePath();
    static final String WADO = "^GET /dicom-web/studies/[^/]+/series/[^/]+/instances/[^/]+$";

    @TempDir
    Path work;

    @Test
    void followPicksUpNewInstancesAndSigtermStopsItCommitted() throws Exception {
        assumeTrue(
                OrthancServer.available(),
                "skipped: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)");
        try (OrthancServer orthanc = OrthancServer.start(work.resolve("orthanc"))) {
            Random rnd = new Random(3);
            for (int i = 0; i < 4; i++) {
                capture(orthanc, rnd, i);
            }
            Path model = Bundles.random(work.resolve("model"), List.of("stripes", "columns", "disc"), 64, 9);
            Path index = work.resolve("index");
            Path salt = work.resolve("salt");
            ProcessBuilder pb = new ProcessBuilder(
                            LAUNCHER.toString(),
                            "index",
                            "--model",
                            model.toString(),
                            "--index",
                            index.toString(),
                            "--from",
                            orthanc.location(),
                            "--follow",
                            "--interval",
                            "1s",
                            "-q")
                    .directory(work.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment()
                    .keySet()
                    .removeAll(List.of("MEDSEARCH_JAVA_OPTS", "JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS"));
            // the credentials from the environment: nothing secret on the command line
            pb.environment().put("MEDSEARCH_PACS_AUTH", "basic " + orthanc.user() + ":" + orthanc.password());
            pb.environment().put("MEDSEARCH_PATIENT_SALT", salt.toString());
            Process p = pb.start();
            LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
            List<String> all = new ArrayList<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r =
                        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (java.io.IOException e) {
                    // the process ended
                }
            });
            reader.setDaemon(true);
            reader.start();
            CompletableFuture<String> err = LauncherIT.drain(p.getErrorStream());
            try {
                await(lines, all, "4 images added");
                assertTrue(
                        ProcessHandle.of(p.pid())
                                .orElseThrow()
                                .info()
                                .arguments()
                                .map(List::of)
                                .orElse(List.of())
                                .stream()
                                .noneMatch(a -> a.contains(orthanc.password())),
                        "the password is not on the command line");
                capture(orthanc, rnd, 10);
                capture(orthanc, rnd, 11);
                await(lines, all, "2 images added");
                p.destroy(); // SIGTERM
                assertTrue(p.waitFor(2, TimeUnit.MINUTES), "SIGTERM ends the follower");
                assertEquals(143, p.exitValue(), "killed by SIGTERM, after its shutdown hook: " + all);
                reader.join(10_000);
                lines.drainTo(all);
                String stderr = err.get(10, TimeUnit.SECONDS);
                assertTrue(stderr.isBlank(), "nothing on stderr: " + stderr);
            } finally {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            CliRun check = CliRun.run("index", "--index", index.toString(), "--check");
            assertEquals(0, check.code(), check.toString());
            assertTrue(check.out().contains("consistent: 6 images"), check.out());
            // a restart, one pass: nothing is retrieved again
            long before = orthanc.countRequests(WADO);
            assertEquals(6, before, "each instance was retrieved once");
            ProcessBuilder again = new ProcessBuilder(
                            LAUNCHER.toString(),
                            "index",
                            "--model",
                            model.toString(),
                            "--index",
                            index.toString(),
                            "--from",
                            orthanc.location(),
                            "-q")
                    .directory(work.toFile())
                    .redirectErrorStream(true);
            again.environment().put("MEDSEARCH_PACS_AUTH", "basic " + orthanc.user() + ":" + orthanc.password());
            Process q = again.start();
            String out = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(q.waitFor(2, TimeUnit.MINUTES));
            assertEquals(0, q.exitValue(), out);
            assertTrue(out.contains("0 retrieved"), out);
            assertEquals(before, orthanc.countRequests(WADO));
            try (VectorStore idx = Stores.open(index, false)) {
                assertEquals(6, idx.size());
            }
        }
    }

    static void capture(OrthancServer orthanc, Random rnd, int n) throws Exception {
        orthanc.createSecondaryCapture(
                TestImages.png(TestImages.pattern(TestImages.PATTERNS[n % 3], 64, rnd)),
                Map.of("PatientName", "Doe^John", "PatientID", "FOLLOW-" + n, "InstanceNumber", String.valueOf(n)));
    }

    /** Waits up to two minutes for a line containing {@code text}. */
    static void await(LinkedBlockingQueue<String> lines, List<String> all, String text) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < end) {
            String line = lines.poll(1, TimeUnit.SECONDS);
            if (line != null) {
                all.add(line);
                if (line.contains(text)) {
                    return;
                }
            }
        }
        throw new AssertionError("no line with '" + text + "' in: " + all);
    }
}

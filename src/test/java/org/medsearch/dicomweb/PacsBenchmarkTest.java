package org.medsearch.dicomweb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.Bundles;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.Shared;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.FileUtil;

/**
 * Indexing throughput from a PACS against indexing the same files from disk, in one run: N
 * instances (MedNIST images when ../shared is there, else synthetic ones) are created in a real
 * Orthanc on loopback, and the very files Orthanc stores are exported to a folder. {@code index
 * --from dicomweb://} and {@code index --data DIR} then run alternately, twice each, and the best
 * wall time of each (model loading included in both) is printed with their ratio. The target: PACS
 * within 20% of disk. Opt-in:
 *
 * <pre>
 * mvn -B process-test-classes surefire:test -Dtest=PacsBenchmarkTest -Dmedsearch.bench.pacs=true \
 *     [-Dbench.instances=2000 -Dbench.size=256] -Djazzer.skip=true -Dsolr.cluster.skip=true
 * </pre>
 */
@EnabledIfSystemProperty(named = "medsearch.bench.pacs", matches = "true")
class PacsBenchmarkTest {

    @TempDir
    Path work;

    @Test
    void pacsThroughputAgainstDisk() throws Exception {
        assumeTrue(OrthancServer.available(), "Orthanc is not installed");
        int n = Integer.getInteger("bench.instances", 2000);
        int size = Integer.getInteger("bench.size", 256);
        List<Path> sources = mednist(n);
        try (OrthancServer orthanc = OrthancServer.start(work.resolve("orthanc"))) {
            Path disk = Files.createDirectories(work.resolve("disk"));
            Random rnd = new Random(1);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                byte[] png = sources.isEmpty()
                        ? TestImages.png(TestImages.pattern(TestImages.PATTERNS[i % 3], 64, rnd))
                        : TestImages.png(gray(ImageIO.read(sources.get(i).toFile())));
                String id =
                        orthanc.createSecondaryCapture(png, Map.of("PatientID", "BENCH-" + (i % 97), "Modality", "OT"));
                Files.write(disk.resolve(String.format("%06d.dcm", i)), orthanc.instanceFile(id));
            }
            System.out.printf(
                    "PACS benchmark: %d instances (%s) in Orthanc in %.1f s; model input %dx%d%n",
                    n, sources.isEmpty() ? "synthetic" : "MedNIST", (System.nanoTime() - t0) / 1e9, size, size);
            Path model = Bundles.random(work.resolve("model"), List.of("a", "b", "c", "d", "e", "f"), size, 1);
            Path auth = Files.writeString(work.resolve("auth"), "basic " + orthanc.user() + ":" + orthanc.password());
            double bestPacs = Double.MAX_VALUE;
            double bestDisk = Double.MAX_VALUE;
            for (int round = 0; round < 2; round++) {
                Path ip = work.resolve("idx-pacs-" + round);
                Path id = work.resolve("idx-disk-" + round);
                long a = System.nanoTime();
                CliRun p = CliRun.run(
                        "index",
                        "--model",
                        model.toString(),
                        "--index",
                        ip.toString(),
                        "--from",
                        orthanc.location(),
                        "--pacs-auth",
                        auth.toString(),
                        "-q");
                double pacs = (System.nanoTime() - a) / 1e9;
                assertEquals(0, p.code(), p.toString());
                long b = System.nanoTime();
                CliRun d = CliRun.run(
                        "index",
                        "--model",
                        model.toString(),
                        "--index",
                        id.toString(),
                        "--data",
                        disk.toString(),
                        "-q");
                double fromDisk = (System.nanoTime() - b) / 1e9;
                assertEquals(0, d.code(), d.toString());
                System.out.printf(
                        "round %d: PACS %.1f s (%.0f img/s), disk %.1f s (%.0f img/s)%n  %s  %s",
                        round, pacs, n / pacs, fromDisk, n / fromDisk, p.out(), d.out());
                bestPacs = Math.min(bestPacs, pacs);
                bestDisk = Math.min(bestDisk, fromDisk);
                FileUtil.deleteTree(ip);
                FileUtil.deleteTree(id);
            }
            System.out.printf(
                    "PACS (Orthanc, loopback) %.0f img/s, disk %.0f img/s: PACS takes %.2fx the time of disk"
                            + " (target <= 1.20)%n",
                    n / bestPacs, n / bestDisk, bestPacs / bestDisk);
        }
    }

    /** N MedNIST files across its classes, or none without ../shared. */
    static List<Path> mednist(int n) throws Exception {
        Path root = Shared.ROOT.resolve("data/mednist");
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> classes = Files.list(root).filter(Files::isDirectory).sorted()) {
            List<Path> dirs = classes.toList();
            List<List<Path>> per = new ArrayList<>();
            for (Path d : dirs) {
                try (Stream<Path> f = Files.list(d)) {
                    per.add(f.sorted().limit(n).toList());
                }
            }
            for (int i = 0; out.size() < n; i++) {
                for (List<Path> l : per) {
                    if (i < l.size() && out.size() < n) {
                        out.add(l.get(i));
                    }
                }
            }
        }
        return out;
    }

    static BufferedImage gray(BufferedImage img) {
        BufferedImage g = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_BYTE_GRAY);
        g.getGraphics().drawImage(img, 0, 0, null);
        return g;
    }
}

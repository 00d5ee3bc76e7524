package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Version;

/**
 * The OCI image tarball {@code target/medsearch-VERSION-image.tar} that Jib builds in {@code package}:
 * its config (entry point, arguments, user, port, volumes, environment, labels, health check) and its
 * files (the launcher, Jib's class path, the jars, the base's user and JRE). Where the machine allows
 * (root, chroot, unshare), its root file system also runs {@code serve} as the image says, as uid
 * 10001, with the base's Java, until its own health check passes and a SIGTERM stops it. No container
 * runtime is needed; {@code docker load} / {@code podman load} take the same file (see README).
 */
class ImageTarballIT {

    static final Path TARGET = Path.of("target").toAbsolutePath();
    static final Path IMAGE = TARGET.resolve("medsearch-" + Version.current() + "-image.tar");
    static final String APP = "/opt/medsearch";

    @TempDir
    static Path work;

    static JsonNode manifest;
    static JsonNode config;
    /** The image's files: path (without the leading slash) to the entry of the last layer that holds it. */
    static Map<String, TarArchiveEntry> files = new HashMap<>();
    /** Small files' contents (the ones the tests read). */
    static Map<String, String> texts = new HashMap<>();
    /** The layer files, in order. */
    static List<Path> layers = new ArrayList<>();

    static final Set<String> READ = Set.of(
            "opt/medsearch/bin/medsearch",
            "opt/medsearch/bin/healthcheck",
            "opt/medsearch/jib-classpath-file",
            "opt/medsearch/jib-main-class-file",
            "etc/passwd");

    @BeforeAll
    static void open() throws Exception {
        ReleaseIT.assumeBuiltByThisRun(IMAGE);
        Path dir = Files.createDirectories(work.resolve("image"));
        try (TarArchiveInputStream tar =
                new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(IMAGE)))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (e.isFile()) {
                    Path to = dir.resolve(e.getName()).normalize();
                    assertTrue(to.startsWith(dir), e.getName());
                    Files.createDirectories(to.getParent());
                    Files.copy(tar, to);
                }
            }
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode list = json.readTree(dir.resolve("manifest.json").toFile());
        assertEquals(1, list.size(), "one image: " + list);
        manifest = list.get(0);
        assertEquals(
                "medsearch:" + Version.current(),
                manifest.path("RepoTags").get(0).asText());
        config = json.readTree(dir.resolve(manifest.path("Config").asText()).toFile());
        for (JsonNode layer : manifest.path("Layers")) {
            Path file = dir.resolve(layer.asText());
            layers.add(file);
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file));
                    TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
                TarArchiveEntry e;
                while ((e = tar.getNextEntry()) != null) {
                    String name = e.getName().replaceFirst("^\\./", "").replaceFirst("^/", "");
                    name = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
                    files.put(name, e);
                    if (READ.contains(name) && e.isFile()) {
                        texts.put(name, new String(tar.readAllBytes(), StandardCharsets.UTF_8));
                    }
                }
            }
        }
        assertEquals(config.at("/rootfs/diff_ids").size(), layers.size(), "a diff id per layer in the config");
    }

    @Test
    void servesAsItsEntryPointOnPort8080AsANonRootUser() {
        JsonNode c = config.path("config");
        assertEquals(List.of(APP + "/bin/medsearch", "serve"), strings(c.path("Entrypoint")));
        assertEquals(
                List.of("--model", "/model", "--index", "/index", "--host", "0.0.0.0", "--port", "8080"),
                strings(c.path("Cmd")));
        assertTrue(
                c.path("ExposedPorts").has("8080/tcp"), c.path("ExposedPorts").toString());
        assertEquals(1, c.path("ExposedPorts").size());

        String user = c.path("User").asText();
        assertEquals("10001:10001", user);
        assertFalse(user.isEmpty() || user.equals("root") || user.startsWith("0:") || user.equals("0"));

        assertEquals(Set.of("/data", "/index", "/model", "/audit"), fieldNames(c.path("Volumes")));
        assertEquals("/data", c.path("WorkingDir").asText());

        List<String> env = strings(c.path("Env"));
        for (String v : List.of(
                "DJL_OFFLINE=true",
                "OPT_OUT_TRACKING=true",
                "OMP_WAIT_POLICY=PASSIVE",
                "DJL_CACHE_DIR=/tmp/medsearch/djl")) {
            assertTrue(env.contains(v), v + " in " + env);
        }
        assertEquals("amd64", config.path("architecture").asText());
        assertEquals("linux", config.path("os").asText());
    }

    @Test
    void itsLabelsNameTheBuildTheLicenceAndTheHealthCheck() {
        JsonNode labels = config.at("/config/Labels");
        assertEquals("medsearch", labels.path("org.opencontainers.image.title").asText());
        assertEquals(
                Version.current(),
                labels.path("org.opencontainers.image.version").asText());
        assertEquals(
                "Apache-2.0", labels.path("org.opencontainers.image.licenses").asText());
        assertEquals(
                Version.buildTime(),
                labels.path("org.opencontainers.image.created").asText());
        String revision = labels.path("org.opencontainers.image.revision").asText();
        if (Version.commit().equals(Version.UNKNOWN)) {
            assertEquals(Version.UNKNOWN, revision);
        } else {
            assertTrue(revision.matches("[0-9a-f]{40}"), revision);
            assertTrue(revision.startsWith(Version.commit().substring(0, 10)), revision + " vs " + Version.commit());
        }
        assertTrue(labels.path("org.medsearch.healthcheck").asText().contains("/api/health"), labels.toString());
    }

    /** Jib cannot write a health check; the image keeps the one of medsearch's own base. */
    @Test
    void theHealthCheckComesFromMedsearchsBase() {
        assumeTrue(
                config.at("/config/Labels").has("org.medsearch.base"),
                "the image was built on another base (-Dimage.base): it has no health check of medsearch's");
        JsonNode h = config.at("/config/Healthcheck");
        assertEquals(List.of("CMD", APP + "/bin/healthcheck"), strings(h.path("Test")));
        assertTrue(h.path("Interval").asLong() >= 1_000_000_000L, h.toString());
        assertTrue(h.path("Timeout").asLong() >= 1_000_000_000L, h.toString());
        assertTrue(h.path("StartPeriod").asLong() >= 60_000_000_000L, "time for the first start: " + h);
        assertTrue(h.path("Retries").asInt() >= 1, h.toString());

        // the base: the user 10001, the volumes' folders its own, Debian's Java 17
        assertTrue(texts.getOrDefault("etc/passwd", "").contains("medsearch:x:10001:10001:"), "the user");
        for (String d : List.of("data", "index", "model")) {
            TarArchiveEntry e = files.get(d);
            assertNotNull(e, "/" + d + " in the base");
            assertTrue(e.isDirectory());
            assertEquals(10001L, e.getLongUserId(), "/" + d + " belongs to 10001");
        }
        assertTrue(files.containsKey("usr/lib/jvm/java-17-openjdk-amd64/bin/java"), "Debian's Java 17");
        // the licences of the packages go with the image; the rest of their documentation does not
        assertTrue(files.containsKey("usr/share/doc/openjdk-17-jre-headless/copyright"), "the JRE's licence");
        assertTrue(files.containsKey("usr/share/doc/libc6/copyright"), "the C library's licence");
        assertFalse(files.containsKey("usr/share/doc/libc6/changelog.Debian.gz"));
    }

    @Test
    void itHoldsTheLauncherTheProbeAndTheApplicationsClassPath() throws Exception {
        for (String f : List.of("bin/medsearch", "bin/healthcheck")) {
            TarArchiveEntry e = files.get("opt/medsearch/" + f);
            assertNotNull(e, f);
            assertEquals(0755, e.getMode() & 0777, f + " is executable");
        }
        assertEquals(Files.readString(Path.of("src/dist/bin/medsearch")), texts.get("opt/medsearch/bin/medsearch"));
        assertEquals(
                Files.readString(Path.of("src/dist/image/bin/healthcheck")),
                texts.get("opt/medsearch/bin/healthcheck"));
        assertEquals(
                "org.medsearch.cli.Main",
                texts.get("opt/medsearch/jib-main-class-file").strip());

        // the class path names the classes, the resources and every runtime jar, and each is in the image
        List<String> cp =
                List.of(texts.get("opt/medsearch/jib-classpath-file").strip().split(":"));
        assertTrue(cp.containsAll(List.of(APP + "/classes", APP + "/resources")), cp.toString());
        Set<String> jars = new TreeSet<>();
        for (String entry : cp) {
            assertTrue(files.containsKey(entry.substring(1)), entry + " is in the image");
            if (entry.startsWith(APP + "/libs/")) {
                jars.add(entry.substring((APP + "/libs/").length()));
            }
        }
        Set<String> manifestClassPath = new TreeSet<>();
        try (JarFile jar = new JarFile(TARGET.resolve("medsearch.jar").toFile())) {
            for (String e :
                    jar.getManifest().getMainAttributes().getValue("Class-Path").split(" ")) {
                manifestClassPath.add(e.substring("lib/".length()));
            }
        }
        assertEquals(manifestClassPath, jars, "the image's jars are the release's");
        assertTrue(files.containsKey("opt/medsearch/classes/org/medsearch/cli/Main.class"));
        assertTrue(files.containsKey("opt/medsearch/resources/medsearch-version.properties"));
    }

    /**
     * The image's root file system in a chroot, as uid 10001, with the image's environment, working
     * directory, entry point and arguments (another port): it serves, its health check says healthy,
     * and a SIGTERM stops it. Needs root, chroot and unshare (a private mount namespace for /proc and
     * /dev, gone with the process).
     */
    @Test
    void itsRootFileSystemServesAsTheImageSays() throws Exception {
        assumeTrue(
                config.at("/config/Labels").has("org.medsearch.base"),
                "the image was built on another base (-Dimage.base): not run here");
        assumeTrue(
                "root".equals(System.getProperty("user.name"))
                        && Files.isExecutable(Path.of("/usr/sbin/chroot"))
                        && Files.isExecutable(Path.of("/usr/bin/unshare")),
                "running the image's file system needs root, chroot and unshare: skipped");
        Path root = Files.createDirectories(work.resolve("rootfs"));
        for (Path layer : layers) {
            ReleaseIT.Run x = host(
                    List.of(
                            "tar",
                            "-xzf",
                            layer.toString(),
                            "-C",
                            root.toString(),
                            "--numeric-owner",
                            "--warning=no-unknown-keyword"),
                    Map.of());
            assertEquals(0, x.code(), x.toString());
        }

        // a model and an index in the volumes, the user's
        Path data = TestImages.writeDataset(work.resolve("images"), 2, 8, 32, 3);
        CliRun train = CliRun.run(
                "train",
                "--data",
                data.toString(),
                "--out",
                root.resolve("model").toString(),
                "--image-size",
                "32",
                "--epochs",
                "1",
                "--batch",
                "8",
                "-q");
        assertEquals(0, train.code(), train.toString());
        CliRun index = CliRun.run(
                "index",
                "--model",
                root.resolve("model").toString(),
                "--data",
                data.toString(),
                "--index",
                root.resolve("index").toString(),
                "-q");
        assertEquals(0, index.code(), index.toString());
        assertEquals(
                0,
                host(
                                List.of(
                                        "chown",
                                        "-R",
                                        "10001:10001",
                                        root.resolve("model").toString(),
                                        root.resolve("index").toString()),
                                Map.of())
                        .code());

        int port = LauncherIT.freePort();
        List<String> command = new ArrayList<>(strings(config.at("/config/Entrypoint")));
        for (String a : strings(config.at("/config/Cmd"))) {
            command.add(a.equals("8080") ? String.valueOf(port) : a);
        }
        Process p = inImage(root, command, Map.of());
        try {
            CompletableFuture<String> out = LauncherIT.drain(p.getInputStream());
            CompletableFuture<String> err = LauncherIT.drain(p.getErrorStream());
            LauncherIT.awaitHealthy(p, port);

            // the image's own health check, run as the image would
            List<String> test = strings(config.at("/config/Healthcheck/Test"));
            Process probe =
                    inImage(root, test.subList(1, test.size()), Map.of("MEDSEARCH_HEALTH_PORT", String.valueOf(port)));
            String probed = new String(probe.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(probe.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, probe.exitValue(), probed);

            // its Java is the base's, its user 10001
            ProcessHandle java = p.descendants()
                    .filter(h -> h.info().command().orElse("").endsWith("/bin/java"))
                    .findFirst()
                    .orElse(p.toHandle());
            String status = Files.readString(Path.of("/proc", String.valueOf(java.pid()), "status"));
            assertTrue(status.lines().anyMatch(l -> l.matches("Uid:\\s+10001\\s+10001\\s+10001\\s+10001")), status);
            assertTrue(
                    java.info().command().orElse("").endsWith("/usr/lib/jvm/java-17-openjdk-amd64/bin/java"),
                    java.info().toString());

            LauncherIT.kill("-TERM", java.pid());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "serve stops on SIGTERM");
            String stdout = out.get(10, TimeUnit.SECONDS);
            String stderr = err.get(10, TimeUnit.SECONDS);
            assertEquals(143, p.exitValue(), stdout + stderr);
            assertTrue(stdout.contains("Stopped: the requests in flight were answered."), stdout + stderr);
            assertFalse(stderr.contains(LauncherIT.INCUBATOR), stderr);
            assertTrue(
                    Files.isDirectory(root.resolve("tmp/medsearch/djl/pytorch")),
                    "PyTorch's libraries unpacked into DJL_CACHE_DIR");
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    /** A command in the image's root: its user, environment and working directory, /proc and /dev mounted. */
    static Process inImage(Path root, List<String> command, Map<String, String> extraEnv) throws IOException {
        JsonNode c = config.path("config");
        String script = "set -e\nmount -t proc proc \"$1/proc\"\nmount --rbind /dev \"$1/dev\"\nshift\nexec \"$@\"\n";
        List<String> cmd = new ArrayList<>(List.of(
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "bash",
                "-c",
                script,
                "in-image",
                root.toString(),
                "chroot",
                "--userspec=" + c.path("User").asText(),
                root.toString(),
                "/usr/bin/env",
                "-i",
                "--chdir=" + c.path("WorkingDir").asText("/")));
        cmd.addAll(strings(c.path("Env")));
        extraEnv.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.add("HOME=/home/medsearch");
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }

    static ReleaseIT.Run host(List<String> cmd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        Process p = pb.start();
        CompletableFuture<String> out = LauncherIT.drain(p.getInputStream());
        CompletableFuture<String> err = LauncherIT.drain(p.getErrorStream());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), String.join(" ", cmd));
        return new ReleaseIT.Run(p.exitValue(), out.get(), err.get());
    }

    static List<String> strings(JsonNode array) {
        List<String> s = new ArrayList<>();
        array.forEach(n -> s.add(n.asText()));
        return s;
    }

    static Set<String> fieldNames(JsonNode object) {
        Set<String> s = new TreeSet<>();
        object.fieldNames().forEachRemaining(s::add);
        return s;
    }
}

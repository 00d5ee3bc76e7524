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
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Version;

/**
 * The release tarball {@code target/medsearch-VERSION.tar.gz} as a hospital's machine gets it: unpacked
 * outside the source tree and run with a {@code PATH} that holds java, bash, readlink and cat only (no
 * Maven, no source, no JAVA_HOME): {@code --version}, {@code demo} on a tiny data set, then {@code
 * serve} over what demo built until a SIGTERM. Also its contents: the launcher's mode, the licence,
 * the third-party notice and the SBOM against the jars in {@code lib/}, the bash completion.
 */
class ReleaseIT {

    static final Path TARGET = Path.of("target").toAbsolutePath();
    static final String NAME = "medsearch-" + Version.current();
    static final Path TARBALL = TARGET.resolve(NAME + ".tar.gz");

    @TempDir
    static Path work;

    /** The unpacked release, {@code medsearch-VERSION/}. */
    static Path home;
    /** The archive's entries and their modes. */
    static Map<String, Integer> modes = new LinkedHashMap<>();
    /** A folder with links to java, bash, readlink and cat: the whole PATH of the runs. */
    static Path path;

    record Run(int code, String out, String err) {}

    @BeforeAll
    static void unpack() throws Exception {
        assumeBuiltByThisRun(TARBALL);
        Path install = Files.createDirectories(work.resolve("opt"));
        try (InputStream in = new BufferedInputStream(Files.newInputStream(TARBALL));
                TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                modes.put(e.getName(), e.getMode() & 07777);
                Path to = install.resolve(e.getName()).normalize();
                assertTrue(to.startsWith(install), "an entry outside the archive's folder: " + e.getName());
                if (e.isDirectory()) {
                    Files.createDirectories(to);
                } else {
                    assertTrue(e.isFile(), "only folders and plain files: " + e.getName());
                    Files.createDirectories(to.getParent());
                    Files.copy(tar, to);
                    Files.setPosixFilePermissions(to, permissions(e.getMode()));
                }
            }
        }
        home = install.resolve(NAME);
        assertTrue(Files.isDirectory(home), "the archive holds one folder " + NAME + ": " + modes.keySet());

        // the machine: a Java runtime, bash and two of coreutils' programs, nothing else on PATH
        path = Files.createDirectories(work.resolve("path"));
        Files.createSymbolicLink(path.resolve("java"), Path.of(System.getProperty("java.home"), "bin", "java"));
        Files.createSymbolicLink(path.resolve("bash"), which("bash"));
        Files.createSymbolicLink(path.resolve("readlink"), which("readlink"));
        Files.createSymbolicLink(path.resolve("cat"), which("cat"));
    }

    // ---------------------------------------------------------------------------------------------
    // contents

    @Test
    void theArchiveHoldsTheLauncherTheJarsAndTheDocuments() throws Exception {
        for (String name : List.of(
                "bin/medsearch",
                "medsearch.jar",
                "README.md",
                "LICENSE",
                "THIRD-PARTY.txt",
                "completion/medsearch.bash")) {
            assertTrue(modes.containsKey(NAME + "/" + name), name + " in " + modes.keySet());
        }
        assertEquals(0755, modes.get(NAME + "/bin/medsearch"), "the launcher is executable in the archive");
        assertTrue(modes.keySet().stream().allMatch(n -> n.startsWith(NAME + "/")), "one top folder");
        assertFalse(modes.keySet().stream().anyMatch(n -> n.contains("/src/") || n.contains("/target/")));
        assertTrue(Files.readString(home.resolve("LICENSE")).contains("Apache License")
                && Files.readString(home.resolve("LICENSE")).contains("Version 2.0, January 2004"));
        assertTrue(Files.readString(home.resolve("README.md")).contains("Apache"), "the README names the licence");

        // every jar the application's manifest names is in lib/, and lib/ holds nothing else
        Set<String> classPath;
        try (JarFile jar = new JarFile(home.resolve("medsearch.jar").toFile())) {
            classPath = new TreeSet<>(List.of(
                    jar.getManifest().getMainAttributes().getValue("Class-Path").split(" ")));
            assertEquals(
                    "org.medsearch.cli.Main",
                    jar.getManifest().getMainAttributes().getValue("Main-Class"));
        }
        Set<String> lib = new TreeSet<>();
        for (String jar : libJars()) {
            lib.add("lib/" + jar);
        }
        assertEquals(classPath, lib);
    }

    /** "(LICENCE) [(LICENCE) ...] Name (groupId:artifactId:version - URL)", one line per library. */
    static final Pattern NOTICE_LINE = Pattern.compile("^(\\(.+) \\(([^\\s():]+):([^\\s():]+):([^\\s():]+) - (.*)\\)$");

    /** The licences at the start of a notice line: each in parentheses (which may hold parentheses), then a space. */
    static List<String> licences(String line) {
        List<String> names = new ArrayList<>();
        int i = 0;
        while (i < line.length() && line.charAt(i) == '(') {
            int depth = 0;
            int j = i;
            do {
                depth += line.charAt(j) == '(' ? 1 : line.charAt(j) == ')' ? -1 : 0;
                j++;
            } while (depth > 0 && j < line.length());
            assertEquals(0, depth, "unbalanced parentheses: " + line);
            names.add(line.substring(i + 1, j - 1).strip());
            assertTrue(j < line.length() && line.charAt(j) == ' ', line);
            i = j + 1;
        }
        return names;
    }

    @Test
    void theThirdPartyNoticeNamesEveryBundledJarWithItsLicence() throws Exception {
        List<String> lines = Files.readAllLines(home.resolve("THIRD-PARTY.txt"));
        Map<String, List<String>> licences = new HashMap<>();
        for (String line : lines) {
            if (!line.startsWith("(")) {
                continue; // the header
            }
            Matcher m = NOTICE_LINE.matcher(line);
            assertTrue(m.matches(), "not a dependency line: " + line);
            List<String> names = licences(line);
            for (String name : names) {
                assertFalse(
                        name.isBlank()
                                || name.toLowerCase(java.util.Locale.ROOT).contains("unknown"),
                        "a library without a known licence: " + line);
            }
            licences.put(m.group(3) + "-" + m.group(4), names);
        }
        assertTrue(licences.values().stream().allMatch(l -> !l.isEmpty()));
        List<String> jars = libJars();
        Set<String> matched = new TreeSet<>();
        for (String jar : jars) {
            String key = artifactOf(jar, licences.keySet());
            assertNotNull(key, jar + " is not named in THIRD-PARTY.txt");
            matched.add(key);
        }
        assertEquals(licences.keySet(), matched, "the notice names only what lib/ holds");
        assertTrue(lines.get(0).contains("Apache License, Version 2.0"), "it says medsearch's own licence");
    }

    /** Whether this build ran offline (mvn -o), where Maven skips CycloneDX's makeBom (it requires online mode). */
    static final boolean OFFLINE = "offline=true".equals(System.getProperty("medsearch.build.mode"));

    @Test
    void theSbomListsEveryBundledJar() throws Exception {
        if (OFFLINE) {
            assertFalse(
                    modes.containsKey(NAME + "/sbom/bom.json") || modes.containsKey(NAME + "/sbom/bom.xml"),
                    "an offline build ships no SBOM, not an earlier build's");
        }
        assumeTrue(!OFFLINE, "this build ran offline (mvn -o), which makes no SBOM: not checked");
        assertTrue(modes.containsKey(NAME + "/sbom/bom.json") && modes.containsKey(NAME + "/sbom/bom.xml"));
        JsonNode bom = new ObjectMapper().readTree(home.resolve("sbom/bom.json").toFile());
        assertEquals("CycloneDX", bom.path("bomFormat").asText());
        assertEquals("medsearch", bom.at("/metadata/component/name").asText());
        assertEquals(Version.current(), bom.at("/metadata/component/version").asText());
        Set<String> components = new TreeSet<>();
        for (JsonNode c : bom.path("components")) {
            components.add(c.path("name").asText() + "-" + c.path("version").asText());
            assertTrue(c.path("purl").asText().startsWith("pkg:maven/"), c.toString());
        }
        for (String jar : libJars()) {
            assertNotNull(artifactOf(jar, components), jar + " is not in the SBOM");
        }
        assertTrue(Files.readString(home.resolve("sbom/bom.xml")).contains("cyclonedx"));
    }

    // ---------------------------------------------------------------------------------------------
    // running it

    @Test
    void versionNeedsOnlyAJavaRuntime() throws Exception {
        assertMavenIsNotOnPath();
        Run v = run(Map.of(), home.resolve("bin/medsearch"), "--version");
        assertEquals(0, v.code(), v.toString());
        assertEquals("", v.err(), "nothing on stderr, the incubator notice included");
        List<String> lines = v.out().lines().toList();
        assertEquals("medsearch " + Version.current(), lines.get(0));
        // the jar in the tarball is this build's: the same commit and build time as target/classes
        assertEquals("commit " + Version.commit(), lines.get(1));
        assertEquals("built " + Version.buildTime(), lines.get(2));

        // through a symbolic link elsewhere (as in /usr/local/bin), the launcher still finds its folder
        Path links = Files.createDirectories(work.resolve("links"));
        Path link = Files.createSymbolicLink(links.resolve("medsearch"), home.resolve("bin/medsearch"));
        Run viaLink = run(Map.of(), link, "--version");
        assertEquals(0, viaLink.code(), viaLink.toString());
        assertEquals(v.out(), viaLink.out());
    }

    @Test
    void completionIsTheShippedScript() throws Exception {
        Run c = run(Map.of(), home.resolve("bin/medsearch"), "completion");
        assertEquals(0, c.code(), c.toString());
        assertEquals(Files.readString(home.resolve("completion/medsearch.bash")), c.out());
    }

    @Test
    void anOldOrMissingJavaIsOneLineAndExitTwo() throws Exception {
        // a Java 11 that says so on -version (no release file beside it)
        Path old = Files.createDirectories(work.resolve("jdk-11/bin"));
        Path fake = old.resolve("java");
        Files.writeString(fake, "#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\nexit 0\n");
        Files.setPosixFilePermissions(fake, permissions(0755));
        Run r = run(Map.of("JAVA_HOME", old.getParent().toString()), home.resolve("bin/medsearch"), "--version");
        assertEquals(2, r.code(), r.toString());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("medsearch: " + fake + " is Java 11; medsearch needs Java 17 or newer"), r.err());

        // a Java 8 that its release file names
        Path eight = Files.createDirectories(work.resolve("jdk-8/bin"));
        Files.copy(fake, eight.resolve("java"));
        Files.setPosixFilePermissions(eight.resolve("java"), permissions(0755));
        Files.writeString(eight.getParent().resolve("release"), "JAVA_VERSION=\"1.8.0_402\"\n");
        r = run(Map.of("JAVA_HOME", eight.getParent().toString()), home.resolve("bin/medsearch"), "--version");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("is Java 8; medsearch needs Java 17 or newer"), r.err());

        // no java at all
        Path bare = Files.createDirectories(work.resolve("bare"));
        Files.createSymbolicLink(bare.resolve("bash"), which("bash"));
        Files.createSymbolicLink(bare.resolve("readlink"), which("readlink"));
        Files.createSymbolicLink(bare.resolve("cat"), which("cat"));
        r = run(Map.of("PATH", bare.toString()), home.resolve("bin/medsearch"), "--version");
        assertEquals(2, r.code(), r.toString());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("medsearch: no Java runtime found"), r.err());
    }

    @Test
    void demoThenServeOnAMachineWithOnlyAJavaRuntime() throws Exception {
        assertMavenIsNotOnPath();
        Path data = TestImages.writeDataset(work.resolve("images"), 2, 12, 32, 5);
        Path demo = work.resolve("demo");
        Run d = run(
                Map.of(),
                home.resolve("bin/medsearch"),
                "demo",
                "--data",
                data.toString(),
                "--workdir",
                demo.toString(),
                "--image-size",
                "32",
                "--epochs",
                "1",
                "--no-serve",
                "-q");
        assertEquals(0, d.code(), d.toString());
        assertTrue(d.out().contains("== 4/4 search"), d.out());
        assertTrue(d.out().contains("Done in"), d.out());
        assertTrue(Files.isRegularFile(demo.resolve("search.png")), "the contact sheet");
        assertFalse(d.err().contains(LauncherIT.INCUBATOR), d.err());

        int port = LauncherIT.freePort();
        Process p = start(
                Map.of(),
                home.resolve("bin/medsearch"),
                "serve",
                "--model",
                demo.resolve("model").toString(),
                "--index",
                demo.resolve("index").toString(),
                "--port",
                String.valueOf(port));
        try {
            CompletableFuture<String> out = LauncherIT.drain(p.getInputStream());
            CompletableFuture<String> err = LauncherIT.drain(p.getErrorStream());
            LauncherIT.awaitHealthy(p, port);
            HttpURLConnection page = (HttpURLConnection)
                    URI.create("http://127.0.0.1:" + port + "/").toURL().openConnection();
            assertEquals(200, page.getResponseCode());
            assertTrue(new String(page.getInputStream().readAllBytes(), StandardCharsets.UTF_8).contains("<html"));
            page.disconnect();

            // the image's health probe (bash only) says healthy here, and unhealthy where nothing listens
            Path probe = Path.of("src/dist/image/bin/healthcheck").toAbsolutePath();
            Run healthy = run(Map.of("MEDSEARCH_HEALTH_PORT", String.valueOf(port)), probe);
            assertEquals(0, healthy.code(), healthy.toString());
            Run closed = run(Map.of("MEDSEARCH_HEALTH_PORT", String.valueOf(LauncherIT.freePort())), probe);
            assertEquals(1, closed.code(), closed.toString());

            LauncherIT.kill("-TERM", p.pid());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "serve stops on SIGTERM");
            assertEquals(143, p.exitValue(), "the JVM's exit on SIGTERM: the launcher's PID is Java's");
            String stdout = out.get(10, TimeUnit.SECONDS);
            String stderr = err.get(10, TimeUnit.SECONDS);
            assertTrue(stdout.contains("Stopped: the requests in flight were answered."), stdout + stderr);
            assertFalse(stderr.contains(LauncherIT.INCUBATOR), stderr);
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * The release files are made in {@code package}; an IT run without it (an IDE) has none, or stale
     * ones: skip then, saying so. In {@code mvn verify} they are newer than this build's jar.
     */
    static void assumeBuiltByThisRun(Path file) throws IOException {
        Path jar = TARGET.resolve("medsearch.jar");
        assumeTrue(
                Files.isRegularFile(file)
                        && Files.isRegularFile(jar)
                        && !Files.getLastModifiedTime(file)
                                .toInstant()
                                .isBefore(Files.getLastModifiedTime(jar).toInstant()),
                file.getFileName() + " was not built by this run's package phase (run mvn -B verify): skipped");
    }

    /** The jar files in lib/, sorted. */
    static List<String> libJars() throws IOException {
        try (Stream<Path> s = Files.list(home.resolve("lib"))) {
            List<String> jars = s.map(p -> p.getFileName().toString()).sorted().toList();
            assertFalse(jars.isEmpty());
            assertTrue(jars.stream().allMatch(j -> j.endsWith(".jar")), jars.toString());
            return jars;
        }
    }

    /** The "artifactId-version" that names this jar (with or without a classifier after it), or null. */
    static String artifactOf(String jar, Set<String> artifacts) {
        String base = jar.substring(0, jar.length() - ".jar".length());
        String best = null;
        for (String a : artifacts) {
            if ((base.equals(a) || base.startsWith(a + "-")) && (best == null || a.length() > best.length())) {
                best = a;
            }
        }
        return best;
    }

    static void assertMavenIsNotOnPath() throws Exception {
        Run which = run(Map.of(), which("bash"), "-c", "command -v mvn || command -v mvnw || exit 7");
        assertEquals(7, which.code(), "mvn is reachable on the test's PATH: " + which);
    }

    /**
     * The environment of a machine with only a Java runtime: PATH is the folder of links, no JAVA_HOME,
     * no Maven settings; the working directory is outside the source tree.
     */
    static Process start(Map<String, String> env, Path program, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(program.toString()));
        cmd.addAll(List.of(args));
        Path cwd = Files.createDirectories(work.resolve("cwd"));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
        Map<String, String> e = pb.environment();
        e.clear();
        e.put("PATH", path.toString());
        e.put("HOME", Files.createDirectories(work.resolve("home")).toString());
        e.put("LANG", "C.UTF-8");
        e.putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }

    static Run run(Map<String, String> env, Path program, String... args) throws Exception {
        Process p = start(env, program, args);
        try {
            CompletableFuture<String> out = LauncherIT.drain(p.getInputStream());
            CompletableFuture<String> err = LauncherIT.drain(p.getErrorStream());
            assertTrue(p.waitFor(5, TimeUnit.MINUTES), program + " " + String.join(" ", args) + " did not end");
            return new Run(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    /** A program of this machine, found on the test JVM's own PATH. */
    static Path which(String name) {
        for (String dir : System.getenv("PATH").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new AssertionError(name + " is not on PATH");
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {
            PosixFilePermission.OTHERS_EXECUTE,
            PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE,
            PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_READ
        };
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                s.add(bits[i]);
            }
        }
        return s;
    }
}

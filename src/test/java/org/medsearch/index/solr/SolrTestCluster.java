package org.medsearch.index.solr;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real SolrCloud cluster (Solr 9.10 {@code MiniSolrCloudCluster}: embedded ZooKeeper, Jetty nodes on
 * 127.0.0.1) in a child JVM. Solr 9 runs Jetty 10, which cannot share this class path with Javalin's
 * Jetty 12, so the cluster runs {@code org.medsearch.testcluster.ClusterMain} from the nested project
 * {@code solr-testcluster/}, which the root build packages before the tests ({@code
 * -Dsolr.cluster.skip=true} skips that, and then {@link #start} skips the calling test).
 *
 * <pre>{@code
 * try (SolrTestCluster solr = SolrTestCluster.start(2, tempDir)) {
 *     String zk = solr.zkHost();               // 127.0.0.1:PORT/solr, for CloudSolrClient
 *     String node0 = solr.nodeUrls().get(0);   // http://127.0.0.1:PORT/solr
 *     solr.stopNode(1);                        // returns once ZooKeeper no longer lists it
 *     solr.startNode(1);                       // same port and data: its replicas recover
 * }
 * }</pre>
 *
 * The child logs to {@code dir/solr.log} (Solr, WARN and up) and {@code dir/child.log} (its stderr);
 * failures quote both. It exits by itself when this JVM goes away (EOF on its stdin).
 */
public final class SolrTestCluster implements AutoCloseable {

    static final Path PROJECT = Path.of("solr-testcluster", "target");
    static final Path CLASSPATH = PROJECT.resolve("classpath.txt");
    static final Path JAR = PROJECT.resolve("medsearch-solr-testcluster.jar");
    static final String MAIN = "org.medsearch.testcluster.ClusterMain";

    /** A 1 GiB heap holds a few small collections; SerialGC: one GC thread, on 2 cores shared with the tests. */
    static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx1g", "-XX:+UseSerialGC");

    static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    /** start waits for every replica on the node to be active: up to 90 s in the child, per collection. */
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(300);

    static final Duration QUIT_TIMEOUT = Duration.ofSeconds(60);

    private static final String EOF = "\u0000EOF";

    private final Process process;
    private final Writer commands;
    private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    private final Path dir;
    private final String zkHost;
    private final List<String> nodeUrls;
    private boolean closed;

    private SolrTestCluster(Process process, Path dir) throws IOException {
        this.process = process;
        this.dir = dir;
        this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(this::readReplies, "solr-testcluster-stdout");
        reader.setDaemon(true);
        reader.start();
        String ready = next(READY_TIMEOUT, "READY");
        // the JVM itself may print first (a profiler started from the command line announces itself)
        while (!ready.startsWith("READY ") && !ready.startsWith("ERR") && !ready.equals(EOF)) {
            ready = next(READY_TIMEOUT, "READY");
        }
        if (!ready.startsWith("READY ")) {
            throw failure("the cluster did not start: " + ready);
        }
        String zk = null;
        List<String> urls = List.of();
        for (String word : ready.substring("READY ".length()).split(" ")) {
            if (word.startsWith("zk=")) {
                zk = word.substring(3);
            } else if (word.startsWith("nodes=")) {
                urls = List.of(word.substring(6).split(","));
            }
        }
        if (zk == null || urls.isEmpty()) {
            throw failure("cannot read " + ready);
        }
        this.zkHost = zk;
        this.nodeUrls = urls;
    }

    /**
     * Starts {@code nodes} Solr nodes with ZooKeeper and Solr data under {@code dir}, which must not hold
     * an earlier cluster.
     */
    public static SolrTestCluster start(int nodes, Path dir) throws IOException {
        return start(nodes, dir, List.of());
    }

    /**
     * As {@link #start(int, Path)}, with JVM options for the child after {@link #DEFAULT_JVM_OPTIONS}
     * (so {@code -Xmx2g} wins over the default heap; another collector needs {@code -XX:-UseSerialGC} first).
     */
    public static SolrTestCluster start(int nodes, Path dir, List<String> jvmOptions) throws IOException {
        Assumptions.assumeTrue(
                Files.isRegularFile(CLASSPATH) && Files.isRegularFile(JAR),
                "no Solr test cluster build in " + PROJECT.toAbsolutePath()
                        + " (built with -Dsolr.cluster.skip=true? run mvn test without it, or"
                        + " mvn -f solr-testcluster/pom.xml package)");
        String classPath = Files.readString(CLASSPATH, StandardCharsets.UTF_8).strip();
        Optional<String> missing = Arrays.stream(classPath.split(File.pathSeparator))
                .filter(jar -> !jar.isEmpty() && !Files.exists(Path.of(jar)))
                .findFirst();
        if (missing.isPresent()) {
            throw new IllegalStateException(CLASSPATH + " names " + missing.get()
                    + ", which is gone: rebuild with mvn -f solr-testcluster/pom.xml package");
        }
        Path base = dir.toAbsolutePath();
        Files.createDirectories(base);
        // the class path (140 jars) goes in an argument file: this project keeps command lines short
        // since ONNX Runtime crashes on long ones
        Path args = base.resolve("classpath.args");
        String cp = classPath + File.pathSeparator + JAR.toAbsolutePath();
        Files.writeString(args, "-cp \"" + cp.replace("\\", "\\\\") + "\"\n", StandardCharsets.UTF_8);

        List<String> cmd = new ArrayList<>();
        cmd.add(childJava());
        cmd.add("@" + args);
        cmd.addAll(DEFAULT_JVM_OPTIONS);
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of(MAIN, "--nodes", Integer.toString(nodes), "--dir", base.toString()));
        Process p = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.appendTo(
                        base.resolve("child.log").toFile()))
                .start();
        try {
            return new SolrTestCluster(p, base);
        } catch (RuntimeException | IOException e) {
            p.destroyForcibly();
            throw e;
        }
    }

    /**
     * The child's {@code java}: this JVM's, or the JDK named by {@code -Dmedsearch.solr.java=JDK_HOME}.
     * Lucene 9.12 uses the Vector API (SIMD distances) on Java 20 and later only, as a production Solr
     * on Java 21 does; Java 17, this project's runtime, takes the scalar path.
     */
    static String childJava() {
        String home = System.getProperty("medsearch.solr.java", "").strip();
        Path java = Path.of(home.isEmpty() ? System.getProperty("java.home") : home, "bin", "java");
        if (!Files.isExecutable(java)) {
            throw new IllegalStateException("-Dmedsearch.solr.java=" + home + ": no executable " + java);
        }
        return java.toString();
    }

    /** The ZooKeeper address with Solr's chroot, as {@code CloudSolrClient} takes it: {@code 127.0.0.1:PORT/solr}. */
    public String zkHost() {
        return zkHost;
    }

    /** Every node's base URL ({@code http://127.0.0.1:PORT/solr}) by index, stopped ones included. */
    public List<String> nodeUrls() {
        return nodeUrls;
    }

    /** The child JVM's process id. */
    public long pid() {
        return process.pid();
    }

    /** The base URLs of the nodes that ZooKeeper lists as live now. */
    public synchronized List<String> liveNodeUrls() {
        String urls = command("nodes");
        return urls.isEmpty() ? List.of() : List.of(urls.split(","));
    }

    /** Stops node {@code i}; returns once ZooKeeper no longer lists it as live. */
    public synchronized void stopNode(int i) {
        command("stop " + i);
    }

    /**
     * Restarts node {@code i} on its old port with its old data; returns once it is live and every
     * replica on it is active (recovered from its shard leader).
     */
    public synchronized void startNode(int i) {
        command("start " + i);
    }

    /** Shuts the cluster down and waits for the child to exit; kills it after {@link #QUIT_TIMEOUT}. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (process.isAlive()) {
                commands.write("quit\n");
                commands.flush();
            }
            commands.close();
        } catch (IOException e) {
            // the child is gone already, or going: the wait below settles it
        }
        try {
            if (!process.waitFor(QUIT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private String command(String line) {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        try {
            commands.write(line + "\n");
            commands.flush();
        } catch (IOException e) {
            throw failure("cannot send '" + line + "': " + e);
        }
        String reply = next(COMMAND_TIMEOUT, line);
        if (reply.startsWith("OK")) {
            return reply.length() > 2 ? reply.substring(3) : "";
        }
        throw failure("'" + line + "' failed: " + reply);
    }

    private String next(Duration timeout, String what) {
        String line;
        try {
            line = replies.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure("interrupted waiting for " + what);
        }
        if (line == null) {
            throw failure("no answer to " + what + " within " + timeout.toSeconds() + " s");
        }
        if (line.equals(EOF)) {
            throw failure("the child exited while waiting for " + what + " (exit code "
                    + (process.isAlive() ? "?" : Integer.toString(process.exitValue())) + ")");
        }
        return line;
    }

    private void readReplies() {
        try (BufferedReader in =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                replies.add(line);
            }
        } catch (IOException e) {
            // the child died; EOF below reports it
        } finally {
            replies.add(EOF);
        }
    }

    private IllegalStateException failure(String message) {
        try {
            // a child that exits at once is still writing its log
            process.waitFor(200, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new IllegalStateException(message + "\n--- " + dir.resolve("child.log") + " (tail) ---\n"
                + tail(dir.resolve("child.log")) + "\n--- " + dir.resolve("solr.log") + " (tail) ---\n"
                + tail(dir.resolve("solr.log")));
    }

    private static String tail(Path file) {
        try {
            if (!Files.exists(file)) {
                return "(none)";
            }
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}

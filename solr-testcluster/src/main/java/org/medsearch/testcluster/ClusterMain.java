package org.medsearch.testcluster;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.solr.cloud.MiniSolrCloudCluster;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.ZkStateReader;
import org.apache.solr.embedded.JettySolrRunner;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * A {@link MiniSolrCloudCluster} (embedded ZooKeeper, N Jetty nodes on 127.0.0.1) driven over
 * stdin/stdout, for tests whose own class path cannot hold Solr's Jetty 10.
 *
 * <pre>
 * args:    --nodes N --dir DIR
 * stdout:  READY zk=127.0.0.1:PORT/solr nodes=http://127.0.0.1:P1/solr,...   (once, when up)
 * stdin:   stop I | start I | nodes | quit          (one per line, I 0-based)
 * stdout:  OK ... | ERR message                      (one line per command)
 * </pre>
 *
 * EOF on stdin (the parent is gone) shuts the cluster down, as {@code quit} does. Solr's log goes to
 * DIR/solr.log.
 */
public final class ClusterMain {

    private static final int WAIT_SECONDS = 90;

    private final MiniSolrCloudCluster cluster;
    // by index, fixed for the cluster's life: a restarted node keeps its port, so its name and URL
    private final List<JettySolrRunner> jettys;
    private final List<String> nodeNames = new ArrayList<>();
    private final List<String> urls = new ArrayList<>();

    private ClusterMain(MiniSolrCloudCluster cluster) {
        this.cluster = cluster;
        this.jettys = new ArrayList<>(cluster.getJettySolrRunners());
        for (JettySolrRunner j : jettys) {
            nodeNames.add(j.getNodeName());
            urls.add(j.getBaseUrl().toString());
        }
    }

    public static void main(String[] args) throws Exception {
        int nodes = 0;
        Path dir = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--nodes" -> nodes = Integer.parseInt(args[i + 1]);
                case "--dir" -> dir = Path.of(args[i + 1]).toAbsolutePath();
                default -> exit("unknown option " + args[i]);
            }
        }
        if (nodes < 1 || dir == null || args.length % 2 != 0) {
            exit("usage: ClusterMain --nodes N --dir DIR");
        }
        if (Files.exists(dir.resolve("cluster"))) {
            // MiniSolrCloudCluster formats ZooKeeper but refuses existing node directories
            exit(dir.resolve("cluster") + " exists: give each cluster a fresh --dir");
        }
        Files.createDirectories(dir);

        // stdout is the protocol channel: anything else that prints there (ZooKeeper, Jetty, a stray
        // e.printStackTrace()) goes to stderr instead, which the parent keeps in a log
        PrintStream protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);

        configure(dir);

        ClusterMain main;
        try {
            MiniSolrCloudCluster cluster = new MiniSolrCloudCluster.Builder(nodes, dir.resolve("cluster"))
                    // Overseer-based Collections API and state updates: Solr 9's production default
                    .withDistributedClusterStateUpdates(false, false)
                    .build();
            main = new ClusterMain(cluster);
        } catch (Throwable t) {
            t.printStackTrace();
            protocol.println("ERR cluster did not start: " + oneLine(t));
            Runtime.getRuntime().halt(1);
            return;
        }
        protocol.println(
                "READY zk=" + main.cluster.getZkServer().getZkAddress() + " nodes=" + String.join(",", main.urls));

        int rc = main.serve(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), protocol);
        // Jetty, ZooKeeper and Solr leave non-daemon threads behind now and then
        Runtime.getRuntime().halt(rc);
    }

    /** Before stdout is the protocol's: an ERR line for the parent, the same on stderr for a person. */
    private static void exit(String message) {
        System.out.println("ERR " + message);
        System.err.println(message);
        System.exit(2);
    }

    private static void configure(Path dir) {
        // before any Solr or log4j class loads: they read these once
        System.setProperty("medsearch.testcluster.log", dir.resolve("solr.log").toString());
        System.setProperty("log4j2.configurationFile", "medsearch-testcluster-log4j2.xml");
        // Solr logs an ERROR at each node's start without it; nothing is written there with our config
        System.setProperty("solr.log.dir", dir.toString());
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        // with always-on trace ids the builder asks LuceneTestCase.rarely(), which needs a randomized-testing
        // context that a plain main() lacks (a WARN with a stack trace); the tests need no tracing
        System.setProperty("solr.alwaysOnTraceId", "false");
        // Solr 9.10 enables configset upload by default; stated so that a changed default fails loudly
        // here, not as a 400 in a test. Uploads without authentication make "untrusted" configsets: fine
        // unless the configset uses <lib> or the script update processor
        System.setProperty("configset.upload.enabled", "true");
        // cores, backups and snapshots may only live under allowed paths; everything is under DIR
        System.setProperty("solr.allowPaths", dir.toString());
        // a recovering replica pauses this long before it syncs (2.5 s by default); Solr's own tests
        // use 500 ms, which halves a node's restart here
        System.setProperty("solr.cloud.wait-for-updates-with-stale-state-pause", "500");
        // what SolrTestCase sets for ZooKeeper in tests: no fsync per write, few threads, quick stop
        System.setProperty("zookeeper.forceSync", "no");
        System.setProperty("zookeeper.nio.numSelectorThreads", "2");
        System.setProperty("zookeeper.nio.numWorkerThreads", "3");
        System.setProperty("zookeeper.commitProcessor.numWorkerThreads", "2");
        System.setProperty("zookeeper.nio.shutdownTimeout", "100");
        // ZkTestServer polls ZooKeeper with the 4-letter word "stat"; allowed up front, it skips the
        // whitelist patch-up that logs an ERROR
        System.setProperty("zookeeper.4lw.commands.whitelist", "*");
        // a leader forwards an optimize to its replicas and waits this long (340 s in the test solr.xml);
        // a forced merge of 1,000,000 vectors rebuilds HNSW graphs for longer than that on 2 cores
        System.setProperty("distribUpdateSoTimeout", "3600000");
    }

    private int serve(BufferedReader in, PrintStream out) {
        try {
            String line;
            while ((line = in.readLine()) != null) {
                line = line.strip();
                if (line.isEmpty()) {
                    continue;
                }
                if (line.equals("quit")) {
                    shutdown();
                    out.println("OK bye");
                    return 0;
                }
                try {
                    out.println("OK " + command(line));
                } catch (Exception e) {
                    e.printStackTrace();
                    out.println("ERR " + oneLine(e));
                }
            }
        } catch (Exception e) {
            e.printStackTrace();
        }
        // EOF: the parent closed our stdin or died
        shutdown();
        return 0;
    }

    private String command(String line) throws Exception {
        String[] words = line.split("\\s+");
        switch (words[0]) {
            case "nodes":
                return String.join(",", liveUrls());
            case "stop":
                return stop(index(words));
            case "start":
                return start(index(words));
            default:
                throw new IllegalArgumentException("unknown command: " + line);
        }
    }

    private int index(String[] words) {
        if (words.length != 2) {
            throw new IllegalArgumentException("expected: " + words[0] + " I");
        }
        int i = Integer.parseInt(words[1]);
        if (i < 0 || i >= jettys.size()) {
            throw new IllegalArgumentException("no node " + i + " (0.." + (jettys.size() - 1) + ")");
        }
        return i;
    }

    private String stop(int i) throws Exception {
        JettySolrRunner jetty = jettys.get(i);
        if (!jetty.isRunning()) {
            throw new IllegalStateException("node " + i + " is not running");
        }
        long t0 = System.nanoTime();
        cluster.stopJettySolrRunner(jetty);
        String name = nodeNames.get(i);
        reader().waitForLiveNodes(WAIT_SECONDS, TimeUnit.SECONDS, (old, live) -> !live.contains(name));
        return "stopped " + i + " " + urls.get(i) + " in " + millis(t0) + " ms";
    }

    /**
     * Restarts node I on its old port with its old solr home, so its cores come back from disk and
     * recover from the shard leaders; returns once the node is live and every replica it hosts is
     * active.
     */
    private String start(int i) throws Exception {
        JettySolrRunner jetty = jettys.get(i);
        if (jetty.isRunning()) {
            throw new IllegalStateException("node " + i + " is running");
        }
        long t0 = System.nanoTime();
        cluster.startJettySolrRunner(jetty, true);
        String name = nodeNames.get(i);
        if (!name.equals(jetty.getNodeName())) {
            throw new IllegalStateException("node " + i + " came back as " + jetty.getNodeName() + ", not " + name);
        }
        ZkStateReader reader = reader();
        reader.waitForLiveNodes(WAIT_SECONDS, TimeUnit.SECONDS, (old, live) -> live.contains(name));
        for (String collection : reader.getClusterState().getCollectionNames()) {
            reader.waitForState(
                    collection, WAIT_SECONDS, TimeUnit.SECONDS, (live, state) -> activeOn(name, live, state));
        }
        return "started " + i + " " + urls.get(i) + " in " + millis(t0) + " ms";
    }

    private static boolean activeOn(String node, Set<String> live, DocCollection state) {
        if (state == null) {
            return true; // deleted meanwhile
        }
        return state.getReplicasOnNode(node).stream()
                .allMatch(r -> r.getState() == Replica.State.ACTIVE && live.contains(node));
    }

    private List<String> liveUrls() {
        Set<String> live = reader().getClusterState().getLiveNodes();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < jettys.size(); i++) {
            if (live.contains(nodeNames.get(i))) {
                out.add(urls.get(i));
            }
        }
        return out;
    }

    private ZkStateReader reader() {
        return cluster.getZkStateReader();
    }

    private void shutdown() {
        // a hung shutdown must not leave an orphan JVM behind (SolrTestCluster kills after 60 s)
        Thread watchdog = new Thread(
                () -> {
                    try {
                        Thread.sleep(45_000);
                        System.err.println("shutdown took over 45 s, halting");
                        Runtime.getRuntime().halt(3);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "shutdown-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        try {
            cluster.shutdown();
        } catch (Exception e) {
            e.printStackTrace();
        }
    }

    private static long millis(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    private static String oneLine(Throwable t) {
        String msg = t.getClass().getSimpleName() + ": " + t.getMessage();
        return msg.replaceAll("\\s+", " ").strip();
    }
}

package org.medsearch.index.solr;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.medsearch.testutil.CliRun;
import org.medsearch.util.FileUtil;

/**
 * {@code bench-index --store solr} on a 2-node in-process SolrCloud (a child JVM), beside the
 * embedded store on the same vectors, in one run. Off by default (it takes long); run it with
 *
 * <pre>
 * mvn -B test -Dtest=SolrBenchmarkTest -Dmedsearch.bench.solr=true -Dbench.vectors=1000000 -Djazzer.skip=true
 * </pre>
 *
 * and read the figures it prints. {@code -Dbench.embedded=false} skips the embedded store's run;
 * {@code -Dbench.solrHeap=6g} sizes the cluster's heap.
 */
@EnabledIfSystemProperty(named = "medsearch.bench.solr", matches = "true")
class SolrBenchmarkTest {

    @Test
    void benchIndexOnSolrAndEmbedded() throws Exception {
        String vectors = System.getProperty("bench.vectors", "100000");
        String queries = System.getProperty("bench.queries", "200");
        Path dir = Files.createTempDirectory("medsearch-solr-bench");
        try {
            List<String> common =
                    List.of("bench-index", "--vectors", vectors, "--queries", queries, "--fetch", "100,200");
            List<String> jvm = new ArrayList<>(List.of(
                    "-Xmx" + System.getProperty("bench.solrHeap", "6g"),
                    "-XX:-UseSerialGC",
                    "-XX:+UseParallelGC",
                    // Lucene's SIMD distances, as a production Solr should run
                    "--add-modules",
                    "jdk.incubator.vector",
                    // Lucene 9.12 was tested up to Java 22; a later runtime (-Dmedsearch.solr.java) keeps the
                    // Vector API only with this bound raised
                    "-Dorg.apache.lucene.vectorization.upperJavaFeatureVersion=99"));
            String extra = System.getProperty("bench.solrJvm", "");
            if (!extra.isBlank()) {
                jvm.addAll(List.of(extra.trim().split("\\s+")));
            }
            try (SolrTestCluster solr = SolrTestCluster.start(2, dir.resolve("cluster"), jvm)) {
                List<String> args = new ArrayList<>(common);
                args.addAll(
                        List.of("--store", "solr", "--solr", "solr://" + solr.zkHost() + "/bench", "--shards", "2"));
                CliRun r = CliRun.run(args.toArray(String[]::new));
                System.out.println(r.out());
                System.out.println("SolrCloud child JVM: " + rss(solr.pid()));
                assertEquals(0, r.code(), r.toString());
            }
            if (Boolean.parseBoolean(System.getProperty("bench.embedded", "true"))) {
                CliRun r = CliRun.run(common.toArray(String[]::new));
                System.out.println(r.out());
                assertEquals(0, r.code(), r.toString());
            }
        } finally {
            FileUtil.deleteTree(dir);
        }
    }

    /** The process's resident memory now and at its peak, from /proc (Linux). */
    static String rss(long pid) throws java.io.IOException {
        Path status = Path.of("/proc/" + pid + "/status");
        if (!Files.exists(status)) {
            return "RSS unknown";
        }
        StringBuilder b = new StringBuilder();
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS") || line.startsWith("VmHWM")) {
                b.append(line.replaceAll("\\s+", " ")).append("; ");
            }
        }
        return b.toString();
    }
}

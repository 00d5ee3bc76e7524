package org.medsearch.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.medsearch.search.Scope;
import org.medsearch.server.LoadGenerator;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code medsearch loadtest}: closed-loop clients posting searches to a server on this machine. */
@Command(
        name = "loadtest",
        mixinStandardHelpOptions = true,
        description = {
            "Load-test a running 'medsearch serve' on this machine: N clients post search queries for a "
                    + "fixed time; prints throughput, p50/p90/p99 latency, the responses by status and the server's peak RSS.",
            "Only loopback addresses are accepted; it stops by itself."
        })
final class LoadtestCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--url",
            defaultValue = "http://127.0.0.1:8080/",
            description = "The server (default ${DEFAULT-VALUE}).")
    URI url;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Query images (searched recursively).")
    Path data;

    @Option(names = "--clients", defaultValue = "16", description = "Concurrent clients (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--seconds", defaultValue = "60", description = "Measured time (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(
            names = "--warmup",
            defaultValue = "3",
            paramLabel = "SECONDS",
            description = "Load before measuring, not counted (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--k", defaultValue = "10", description = "Results per query (default ${DEFAULT-VALUE}).")
    int k;

    @Option(
            names = "--scope",
            paramLabel = "predicted|all|auto|top:N",
            converter = Converters.Scopes.class,
            description =
                    "Search scope (default: the model's, auto when it has a calibrated threshold, else predicted).")
    Scope scope;

    @Option(
            names = "--queries",
            defaultValue = "1000",
            paramLabel = "N",
            description = "How many files of DIR to use, a seeded sample (default ${DEFAULT-VALUE}).")
    int queries;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the sample (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        Output.fromOptions("--url", () -> {
            LoadGenerator.requireLoopback(url);
            return url;
        });
        if (clients < 1 || seconds < 1 || warmup < 0 || k < 1) {
            throw new MedsearchException("--clients, --seconds and --k must be at least 1 and --warmup at least 0");
        }
        List<byte[]> files = sample(data, queries, seed);
        out.printf(
                "Load test: %d clients, %d s (+%d s warm-up), %d query files, k=%d, scope=%s -> %s%n",
                clients, seconds, warmup, files.size(), k, scope == null ? "the model's default" : scope, url);
        out.flush();
        LoadGenerator generator = Output.fromOptions(
                "--data", () -> new LoadGenerator(url, files, k, scope == null ? null : scope.toString()));
        LoadGenerator.Report r;
        try {
            r = generator.run(clients, Duration.ofSeconds(seconds), Duration.ofSeconds(warmup));
        } catch (IllegalArgumentException e) {
            throw new MedsearchException("--clients/--seconds: " + e.getMessage());
        }
        out.print(r.summary());
        out.flush();
        return 0;
    }

    /** Up to {@code n} files of {@code dir}, a seeded sample, read into memory (the server decides what they are). */
    static List<byte[]> sample(Path dir, int n, long seed) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new MedsearchException("--data " + dir + " is not a directory");
        }
        List<Path> all;
        try (Stream<Path> s = Files.walk(dir)) {
            all = new ArrayList<>(s.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted()
                    .toList());
        }
        if (all.isEmpty()) {
            throw new MedsearchException("--data " + dir + " holds no files");
        }
        Collections.shuffle(all, new Random(seed));
        List<byte[]> out = new ArrayList<>();
        for (Path p : all.subList(0, Math.min(n, all.size()))) {
            out.add(Files.readAllBytes(p));
        }
        return out;
    }
}

package org.medsearch.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.medsearch.util.Figures;

/**
 * A closed-loop load test of {@code POST /api/search}: N clients, each sending the next query as
 * soon as the last one is answered, for a fixed time. It measures what a user would see: the
 * latency of whole requests, the throughput, and every status that came back.
 *
 * <p>Contract: it only talks to a server on this machine ({@link #requireLoopback} refuses any
 * other host before a byte is sent); it is bounded in clients ({@value #MAX_CLIENTS}) and in time
 * ({@value #MAX_SECONDS} s) and stops by itself; a 503 is counted and not retried (the test
 * measures overload, it does not hide it). Requests sent during the warm-up are not counted.
 *
 * <pre>{@code
 * LoadGenerator.Report r = new LoadGenerator(URI.create("http://127.0.0.1:8080/"), queries, 10, "predicted")
 *         .run(16, Duration.ofSeconds(60), Duration.ofSeconds(3));
 * System.out.println(r.summary());
 * }</pre>
 */
public final class LoadGenerator {

    public static final int MAX_CLIENTS = 256;
    public static final int MAX_SECONDS = 600;

    /**
     * What a run measured.
     *
     * @param requests requests answered (or failed) after the warm-up
     * @param seconds measured time
     * @param latenciesMs every measured request's latency, sorted
     * @param byStatus responses per status code; "io" counts requests that got no response
     * @param peakRssBytes the server's peak resident memory after the run (from /api/stats), or null
     */
    public record Report(
            long requests, double seconds, double[] latenciesMs, Map<String, Long> byStatus, Long peakRssBytes) {

        public double throughput() {
            return requests / seconds;
        }

        /** The p-th percentile latency (nearest rank), p in (0, 100]. */
        public double percentileMs(double p) {
            if (latenciesMs.length == 0) {
                return Double.NaN;
            }
            return latenciesMs[Figures.nearestRank(latenciesMs.length, p)];
        }

        /** Responses other than 200, and requests with no response. */
        public long errors() {
            return byStatus.entrySet().stream()
                    .filter(e -> !e.getKey().equals("200"))
                    .mapToLong(Map.Entry::getValue)
                    .sum();
        }

        public String summary() {
            StringBuilder s = new StringBuilder();
            s.append(String.format("requests:   %d in %.1f s%n", requests, seconds));
            s.append(String.format("throughput: %.1f requests/s%n", throughput()));
            s.append(String.format(
                    "latency:    p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                    percentileMs(50),
                    percentileMs(90),
                    percentileMs(99),
                    latenciesMs.length == 0 ? Double.NaN : latenciesMs[latenciesMs.length - 1]));
            s.append(String.format("statuses:   %s%n", byStatus));
            s.append(String.format(
                    "errors:     %d (responses other than 200, and requests without a response)%n", errors()));
            s.append(String.format(
                    "server peak RSS: %s%n",
                    peakRssBytes == null ? "unknown" : String.format("%.0f MiB", peakRssBytes / 1048576.0)));
            return s.toString();
        }
    }

    private final URI base;
    private final List<byte[]> bodies;
    private final String contentType;
    private final HttpClient http;

    /**
     * @param base the server's base URL, e.g. {@code http://127.0.0.1:8080/}
     * @param queries image files to send, in turn
     * @param k results per query
     * @param scope "predicted", "all", "auto" or "top:N", or null for the model's default (the field is not sent)
     * @throws IllegalArgumentException if {@code base} is not on this machine, or there are no queries
     */
    public LoadGenerator(URI base, List<byte[]> queries, int k, String scope) {
        requireLoopback(base);
        if (queries.isEmpty()) {
            throw new IllegalArgumentException("no query images");
        }
        this.base = base;
        List<byte[]> b = new ArrayList<>(queries.size());
        for (byte[] q : queries) {
            MultipartBody body = new MultipartBody().field("k", Integer.toString(k));
            if (scope != null) {
                body.field("scope", scope);
            }
            b.add(body.file("image", "query", q).bytes());
        }
        this.bodies = b;
        this.contentType = new MultipartBody().contentType();
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /** Refuses any URL whose host is not a loopback address: load is only ever sent to this machine. */
    public static void requireLoopback(URI url) {
        if (url.getHost() == null || !"http".equals(url.getScheme())) {
            throw new IllegalArgumentException("expected an http:// URL, got " + url);
        }
        if (!ServerConfig.isLoopback(url.getHost())) {
            throw new IllegalArgumentException("refusing to send load to " + url.getHost()
                    + ": only a server on this machine (127.0.0.1, ::1, localhost) may be load-tested");
        }
    }

    /**
     * Runs {@code clients} closed-loop clients for {@code warmup + duration}, counting only what
     * happens after the warm-up, then reads the server's peak RSS.
     */
    public Report run(int clients, Duration duration, Duration warmup) throws InterruptedException {
        if (clients < 1 || clients > MAX_CLIENTS) {
            throw new IllegalArgumentException("clients must be between 1 and " + MAX_CLIENTS);
        }
        if (duration.isNegative() || duration.isZero() || duration.plus(warmup).toSeconds() > MAX_SECONDS) {
            throw new IllegalArgumentException("the run must last between 1 and " + MAX_SECONDS + " seconds");
        }
        URI search = base.resolve("/api/search");
        long start = System.nanoTime();
        long measureFrom = start + warmup.toNanos();
        long end = measureFrom + duration.toNanos();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<Client>> futures = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            Client client = new Client(c * 7919, search, measureFrom, end);
            futures.add(pool.submit(() -> {
                client.loop();
                return client;
            }));
        }
        pool.shutdown();
        Map<String, Long> statuses = new TreeMap<>();
        List<double[]> all = new ArrayList<>();
        int n = 0;
        for (Future<Client> f : futures) {
            Client c;
            try {
                c = f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("a load client failed", e.getCause());
            }
            c.statuses.forEach((k, v) -> statuses.merge(k, v, Long::sum));
            all.add(Arrays.copyOf(c.latencies, c.count));
            n += c.count;
        }
        double[] lat = new double[n];
        int o = 0;
        for (double[] a : all) {
            System.arraycopy(a, 0, lat, o, a.length);
            o += a.length;
        }
        Arrays.sort(lat);
        double seconds = (System.nanoTime() - measureFrom) / 1e9;
        return new Report(n, seconds, lat, statuses, peakRss());
    }

    /** The server's own peak resident memory, from {@code GET /api/stats}; null when it cannot be had. */
    public Long peakRss() {
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(base.resolve("/api/stats"))
                            .timeout(Duration.ofSeconds(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode peak = ApiResponses.MAPPER.readTree(r.body()).at("/memory/peakRssBytes");
            return peak.isNumber() ? peak.asLong() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private final class Client {
        private int next;
        private final URI uri;
        private final long measureFrom;
        private final long end;
        private double[] latencies = new double[1024];
        private int count;
        private final Map<String, Long> statuses = new TreeMap<>();

        Client(int first, URI uri, long measureFrom, long end) {
            this.next = first;
            this.uri = uri;
            this.measureFrom = measureFrom;
            this.end = end;
        }

        void loop() throws InterruptedException {
            while (System.nanoTime() < end) {
                byte[] body = bodies.get(Math.floorMod(next++, bodies.size()));
                HttpRequest req = HttpRequest.newBuilder(uri)
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", contentType)
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .build();
                long t0 = System.nanoTime();
                String status;
                try {
                    status = Integer.toString(http.send(req, HttpResponse.BodyHandlers.discarding())
                            .statusCode());
                } catch (IOException e) {
                    status = "io";
                }
                long t1 = System.nanoTime();
                if (t0 >= measureFrom) {
                    if (count == latencies.length) {
                        latencies = Arrays.copyOf(latencies, count * 2);
                    }
                    latencies[count++] = (t1 - t0) / 1e6;
                    statuses.merge(status, 1L, Long::sum);
                }
            }
        }
    }
}

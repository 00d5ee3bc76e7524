package org.medsearch.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request counters for {@code GET /api/stats}: per route (method and path template, never the
 * concrete path, so ids do not pile up) and per status code, plus the uptime and the process's
 * memory as Linux reports it.
 *
 * <p>Thread-safe; recording costs two map lookups and two atomic adds.
 *
 * <pre>{@code
 * stats.record("POST /api/search", 200);
 * RequestStats.Snapshot s = stats.snapshot(); // s.byStatus().get("200") == 1
 * }</pre>
 */
public final class RequestStats {

    /**
     * Counts at one moment.
     *
     * @param total requests answered
     * @param byRoute per "METHOD /path/{param}" ("other" for requests that matched no route)
     * @param byStatus per status code
     */
    public record Snapshot(long total, Map<String, Long> byRoute, Map<String, Long> byStatus) {}

    private final long started = System.nanoTime();
    private final Map<String, LongAdder> byRoute = new ConcurrentHashMap<>();
    private final Map<Integer, LongAdder> byStatus = new ConcurrentHashMap<>();
    private final LongAdder total = new LongAdder();

    public void record(String route, int status) {
        byRoute.computeIfAbsent(route, r -> new LongAdder()).increment();
        byStatus.computeIfAbsent(status, s -> new LongAdder()).increment();
        total.increment();
    }

    public Snapshot snapshot() {
        Map<String, Long> routes = new TreeMap<>();
        byRoute.forEach((k, v) -> routes.put(k, v.sum()));
        Map<String, Long> statuses = new TreeMap<>();
        byStatus.forEach((k, v) -> statuses.put(Integer.toString(k), v.sum()));
        return new Snapshot(total.sum(), routes, statuses);
    }

    public double uptimeSeconds() {
        return (System.nanoTime() - started) / 1e9;
    }

    /** The process's memory now: VmRSS and VmHWM from {@code /proc/self/status} (null elsewhere) and the heap. */
    public static ApiResponses.Memory memory() {
        Runtime rt = Runtime.getRuntime();
        Long rss = null;
        Long hwm = null;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    rss = kib(line);
                } else if (line.startsWith("VmHWM:")) {
                    hwm = kib(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the heap figures still say something
        }
        return new ApiResponses.Memory(rss, hwm, rt.totalMemory() - rt.freeMemory(), rt.maxMemory());
    }

    /** "VmHWM:   123456 kB" in bytes. */
    private static long kib(String line) {
        String[] f = line.trim().split("\\s+");
        return Long.parseLong(f[1]) * 1024;
    }
}

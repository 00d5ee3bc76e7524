package org.medsearch.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The server's metrics for Prometheus ({@code GET /metrics}, text format), on Micrometer:
 * <ul>
 *   <li>{@code http_server_requests_seconds} (histogram, with {@code _count} per method, route
 *       template and status): every request;</li>
 *   <li>{@code medsearch_model_seconds}, {@code medsearch_search_seconds} (histograms): the forward
 *       pass and the index search of each search;</li>
 *   <li>{@code medsearch_queue_admitted}, {@code medsearch_queue_capacity} (gauges) and
 *       {@code medsearch_queue_rejected_total}: the inference queue, and the requests it turned away (503);</li>
 *   <li>{@code medsearch_audit_failures_total}: records the audit trail could not take (each refused a request);</li>
 *   <li>{@code medsearch_index_images} (gauge): the index's size, read at each scrape;</li>
 *   <li>JVM memory, GC, threads, CPU and uptime (Micrometer's binders).</li>
 * </ul>
 * Route labels are templates ({@code /api/images/{id}}), never concrete paths, so ids cannot
 * multiply the series.
 *
 * <pre>{@code
 * ServerMetrics m = new ServerMetrics(queue::stats, service::indexSize);
 * m.request("GET", "/api/health", 200, 3_000_000);
 * String text = m.scrape();
 * }</pre>
 */
public final class ServerMetrics implements AutoCloseable {

    /** Where the index's size comes from (may fail, e.g. a cluster that is away: the gauge is then NaN). */
    public interface Size {
        long get() throws IOException;
    }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer model;
    private final Timer search;
    private final Counter auditFailures;
    /** Listens to the JVM's collectors until {@link #close}. */
    private final JvmGcMetrics gc = new JvmGcMetrics();
    // Micrometer holds a meter's state weakly; a method reference has no other holder than these
    private final java.util.function.Supplier<InferenceQueue.Stats> queue;
    private final Size indexSize;

    public ServerMetrics(java.util.function.Supplier<InferenceQueue.Stats> queue, Size indexSize) {
        this.queue = queue;
        this.indexSize = indexSize;
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        gc.bindTo(registry);
        model = histogram("medsearch.model", "Forward pass of a search's query (pre-processing included)");
        search = histogram("medsearch.search", "Index search of a search");
        auditFailures = Counter.builder("medsearch.audit.failures")
                .description("Audit records that could not be written (each refused its request)")
                .register(registry);
        gauge(
                "medsearch.queue.admitted",
                "Searches holding a ticket of the inference queue now",
                queue,
                s -> s.admitted());
        gauge("medsearch.queue.capacity", "Tickets of the inference queue in all", queue, s -> s.capacity());
        FunctionCounter.builder("medsearch.queue.rejected", queue, q -> q.get().rejected())
                .description("Requests turned away with 503 because the inference queue was full")
                .register(registry);
        Gauge.builder("medsearch.index.images", indexSize, s -> {
                    try {
                        return s.get();
                    } catch (IOException | RuntimeException e) {
                        return Double.NaN;
                    }
                })
                .description("Images in the index")
                .strongReference(true)
                .register(registry);
    }

    private Timer histogram(String name, String description) {
        return Timer.builder(name)
                .description(description)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
    }

    private void gauge(
            String name,
            String description,
            java.util.function.Supplier<InferenceQueue.Stats> queue,
            ToDoubleFunction<InferenceQueue.Stats> f) {
        Gauge.builder(name, queue, q -> f.applyAsDouble(q.get()))
                .description(description)
                .strongReference(true)
                .register(registry);
    }

    /** One answered request: method, route template ("other" when none matched), status, duration. */
    public void request(String method, String route, int status, long nanos) {
        Timer.builder("http.server.requests")
                .description("HTTP requests by method, route template and status")
                .tags("method", method, "route", route, "status", Integer.toString(status))
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry)
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    /** The two stages of one search. */
    public void search(long modelNanos, long searchNanos) {
        model.record(modelNanos, TimeUnit.NANOSECONDS);
        search.record(searchNanos, TimeUnit.NANOSECONDS);
    }

    public void auditFailure() {
        auditFailures.increment();
    }

    /** Stops listening to the JVM's collectors (a stopped server leaves nothing behind). */
    @Override
    public void close() {
        gc.close();
        registry.close();
    }

    /** Everything, in Prometheus's text format (version 0.0.4). */
    public String scrape() {
        return registry.scrape();
    }
}

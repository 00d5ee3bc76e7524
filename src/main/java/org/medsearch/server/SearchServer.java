package org.medsearch.server;

import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.config.SizeUnit;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import io.javalin.json.JavalinJackson;
import io.javalin.router.Endpoint;
import io.javalin.util.JavalinLogger;
import java.io.IOException;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.medsearch.model.Engines;
import org.medsearch.service.SearchService;

/**
 * The web service and the search page in one process: Javalin on Jetty, the REST API under
 * {@code /api} ({@link ApiRoutes}), the page from the classpath folder {@code web/}.
 *
 * <p>Contracts: it binds where {@link ServerConfig} says (loopback by default); the API's errors
 * are JSON ({@link ErrorMapper}); the page and the API send a strict Content-Security-Policy and
 * {@code nosniff}; a request from a foreign browser origin is refused before any route runs, unless
 * it is the one origin configured for CORS ({@link Origins}). {@link #stop()} is
 * graceful: the server stops accepting, lets the requests in flight finish (up to the configured
 * grace), then stops the inference workers. The caller owns the model and the index: the server
 * never closes them, and the index must be open for writing when a write token is configured.
 *
 * <pre>{@code
 * try (ModelBundle model = ModelBundle.load(modelDir); LuceneIndex index = LuceneIndex.open(indexDir, false)) {
 *     SearchServer server = SearchServer.start(ServerConfig.defaults(), new SearchService(new Embedder(model), index));
 *     System.out.println("http://127.0.0.1:" + server.port() + "/");
 *     ...
 *     server.stop();
 * }
 * }</pre>
 */
public final class SearchServer {

    /** The longest a connection may stay silent mid-request (capped further by the upload deadline). */
    private static final java.time.Duration MAX_IDLE = java.time.Duration.ofSeconds(15);
    /** Jetty threads: enough for every admitted query plus the cheap requests, few enough to bound memory. */
    private static final int MAX_THREADS = 128;
    /** Uploads above this size are buffered on disk by the multipart parser, not in memory. */
    private static final int IN_MEMORY_PART_BYTES = 1 << 20;
    /** A dot segment, raw or percent-encoded, anywhere in the path. */
    private static final Pattern DOT_SEGMENT = Pattern.compile("(^|/)(\\.|%2e){1,2}(/|$)", Pattern.CASE_INSENSITIVE);

    private static final String CSP = "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
            + "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    private final Javalin app;
    private final InferenceQueue queue;
    private final ServerConfig config;

    private final ServerMetrics metrics;

    private SearchServer(Javalin app, InferenceQueue queue, ServerConfig config, ServerMetrics metrics) {
        this.metrics = metrics;
        this.app = app;
        this.queue = queue;
        this.config = config;
    }

    /** Starts a server whose forward passes are those of the service's backend, micro-batched by its queue. */
    public static SearchServer start(ServerConfig config, SearchService retriever) throws IOException {
        return start(config, retriever, retriever.backend()::embed, PacsAccess.NONE);
    }

    /** Starts a server that also takes query images from a PACS and links hits to its viewer. */
    public static SearchServer start(ServerConfig config, SearchService retriever, PacsAccess pacs) throws IOException {
        return start(config, retriever, retriever.backend()::embed, pacs);
    }

    /** As above, explaining hits ({@code POST /api/explain}) with {@code explainer} (null: no explanations). */
    public static SearchServer start(
            ServerConfig config, SearchService retriever, PacsAccess pacs, org.medsearch.service.Explainer explainer)
            throws IOException {
        return start(config, retriever, retriever.backend()::embed, pacs, explainer);
    }

    /** As {@link #start(ServerConfig, SearchService, InferenceQueue.BatchModel, PacsAccess)}, without a PACS. */
    public static SearchServer start(ServerConfig config, SearchService retriever, InferenceQueue.BatchModel model)
            throws IOException {
        return start(config, retriever, model, PacsAccess.NONE);
    }

    /**
     * Starts a server with another forward pass (tests use it to hold a query in flight); the
     * model must compute what {@code retriever}'s embedder computes.
     */
    public static SearchServer start(
            ServerConfig config, SearchService retriever, InferenceQueue.BatchModel model, PacsAccess pacs)
            throws IOException {
        return start(config, retriever, model, pacs, null);
    }

    static SearchServer start(
            ServerConfig config,
            SearchService retriever,
            InferenceQueue.BatchModel model,
            PacsAccess pacs,
            org.medsearch.service.Explainer explainer)
            throws IOException {
        InferenceQueue queue = new InferenceQueue(
                model,
                retriever.backend().preprocessing().inputLength(),
                config.queueSlots(),
                config.maxBatch(),
                config.workers());
        ServerMetrics metrics = null;
        try {
            queue.warmUp();
            ImageService service = new ImageService(config, retriever, queue);
            service.optPacs(pacs);
            service.optExplainer(explainer);
            ModelSummary summary = ModelSummary.of(retriever.backend().manifest(), Engines.threads());
            RequestStats stats = new RequestStats();
            ServerMetrics m = new ServerMetrics(queue::stats, service::indexSize);
            metrics = m;
            AuditLog audit = config.audit().on()
                    ? AuditLog.open(
                            config.audit().file(),
                            config.audit().maxBytes(),
                            config.audit().keep())
                    : null;
            RequestAudit access = new RequestAudit(config.tokens(), audit, m);
            ApiRoutes routes = new ApiRoutes(service, config.tokens(), stats, summary, queue, config, pacs, m);
            Transport.checkKeystore(config.tls());
            Javalin app = Javalin.create(cfg -> configure(cfg, config, routes, stats, m, access));
            startQuietly(app, config);
            return new SearchServer(app, queue, config, m);
        } catch (IOException | RuntimeException | Error e) {
            queue.close();
            if (metrics != null) {
                metrics.close();
            }
            throw e;
        }
    }

    /**
     * Starts Javalin without its own "Failed to start Javalin" ERROR log line: the exception (a port
     * in use, an address that is not this machine's) reaches the caller, which reports it in one line.
     */
    private static void startQuietly(Javalin app, ServerConfig config) {
        synchronized (JavalinLogger.class) {
            boolean logging = JavalinLogger.enabled;
            JavalinLogger.enabled = false;
            try {
                app.start(config.host(), config.port());
            } finally {
                JavalinLogger.enabled = logging;
            }
        }
    }

    private static void configure(
            JavalinConfig cfg,
            ServerConfig config,
            ApiRoutes routes,
            RequestStats stats,
            ServerMetrics metrics,
            RequestAudit access) {
        cfg.startup.showJavalinBanner = false;
        cfg.startup.showOldJavalinVersionWarning = false;
        cfg.jsonMapper(new JavalinJackson(ApiResponses.MAPPER, false));
        cfg.http.maxRequestSize = config.maxUploadBytes();
        cfg.http.prefer405over404 = true;
        cfg.jetty.multipartConfig.maxFileSize(config.maxUploadBytes(), SizeUnit.BYTES);
        cfg.jetty.multipartConfig.maxTotalRequestSize(config.maxUploadBytes(), SizeUnit.BYTES);
        cfg.jetty.multipartConfig.maxInMemoryFileSize(IN_MEMORY_PART_BYTES, SizeUnit.BYTES);
        QueuedThreadPool threads = new QueuedThreadPool(MAX_THREADS, 8);
        threads.setName("medsearch-http");
        cfg.jetty.threadPool = threads;
        // a client that sends nothing at all is cut off by the idle timeout, one that trickles by UploadPace
        long idle = Math.min(config.uploadDeadline().toMillis(), MAX_IDLE.toMillis());
        cfg.jetty.modifyServer(server -> {
            // on the connectors, which Javalin adds just before the start (a per-request idle timeout in the
            // HTTP configuration would also hold a graceful stop on every idle keep-alive connection)
            server.addEventListener(new org.eclipse.jetty.util.component.LifeCycle.Listener() {
                @Override
                public void lifeCycleStarting(org.eclipse.jetty.util.component.LifeCycle event) {
                    for (org.eclipse.jetty.server.Connector c : server.getConnectors()) {
                        if (c instanceof org.eclipse.jetty.server.AbstractConnector a) {
                            a.setIdleTimeout(idle);
                        }
                    }
                }
            });
            // Jetty waits for the requests GracefulHandler counts, up to the stop timeout; Javalin puts its
            // handler inside the innermost wrapper, so every body it reads passes UploadPace
            server.setHandler(
                    new GracefulHandler(new UploadPace(config.minUploadBytesPerSecond(), config.uploadDeadline())));
            server.setStopTimeout(config.grace().toMillis());
            server.setErrorHandler(new ErrorMapper.JsonErrorHandler());
        });
        cfg.staticFiles.add(sf -> {
            sf.hostedPath = "/";
            sf.directory = "/web";
            sf.location = Location.CLASSPATH;
        });
        if (config.tls() != null) {
            Transport.https(cfg, config);
        }
        cfg.requestLogger.http((ctx, ms) -> {
            stats.record(route(ctx), ctx.statusCode());
            metrics.request(ctx.method().name(), template(ctx), ctx.statusCode(), (long) (ms * 1_000_000L));
        });
        cfg.routes.before(SearchServer::guard);
        if (config.tls() != null) {
            cfg.routes.before(ctx -> Transport.plainHttp(ctx, config.tls().plainHttp()));
        }
        Origins origins = new Origins(config.corsOrigin());
        cfg.routes.before(origins::check);
        cfg.routes.before(access::before);
        cfg.routes.after(access::after);
        ErrorMapper.register(cfg.routes);
        routes.register(cfg.routes);
    }

    /** Headers for every response, and a refusal of dot segments before any route or file is looked up. */
    private static void guard(Context ctx) {
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "no-referrer");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Content-Security-Policy", CSP);
        if (ctx.path().startsWith("/api/")) {
            ctx.header("Cache-Control", "no-store");
        }
        String raw = ctx.req().getRequestURI();
        if (raw != null && DOT_SEGMENT.matcher(raw).find()) {
            throw ApiException.badRequest("paths with '.' or '..' segments are not accepted");
        }
    }

    private static String route(Context ctx) {
        return ctx.method().name() + " " + template(ctx);
    }

    /** The route template of a request; for one refused before routing (401, a plain-HTTP 403), from its path. */
    static String template(Context ctx) {
        Endpoint e = ctx.endpoints().matchedHttpEndpoint();
        if (e != null) {
            return e.path;
        }
        String p = ctx.path();
        if (p.matches("/api/images/[^/]+/thumbnail")) {
            return "/api/images/{id}/thumbnail";
        }
        if (p.matches("/api/images/[^/]+")) {
            return "/api/images/{id}";
        }
        return p.matches("/api/(search|explain|images|classes|health|stats|openapi\\.json)|/metrics") ? p : "other";
    }

    /** The port it listens on (useful with port 0). */
    public int port() {
        return app.port();
    }

    /** The base URL, e.g. {@code http://127.0.0.1:8080/} ({@code https} with TLS). */
    public String url() {
        String h = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return (config.tls() != null ? "https" : "http") + "://" + h + ":" + port() + "/";
    }

    /** Stops gracefully: no new connections, requests in flight finish (up to the grace), then the workers stop. */
    public void stop() {
        try {
            app.stop();
        } catch (RuntimeException e) {
            // Jetty stops anyway once the grace is over, then reports the requests it cut off: that is the
            // documented behaviour of a stop, not a failure of it
            if (!(e.getCause() instanceof java.util.concurrent.TimeoutException)) {
                throw e;
            }
            LOG.warn(
                    "requests still running after the grace of {} s were cut off",
                    config.grace().toSeconds());
        } finally {
            queue.close();
            metrics.close();
        }
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SearchServer.class);
}

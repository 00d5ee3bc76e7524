package org.medsearch.server;

import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.medsearch.dicomweb.DicomWebException;
import org.medsearch.image.Region;
import org.medsearch.search.Feedback;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchAnswer;
import org.medsearch.search.SearchRequest;
import org.medsearch.service.PacsQuery;
import org.medsearch.util.Version;

/**
 * The REST endpoints: request parsing and response shaping around {@link ImageService}. Paths and
 * bodies are those of {@code openapi.json}; every error is an {@link ApiException}.
 *
 * <pre>{@code
 * Javalin.create(cfg -> new ApiRoutes(service, tokens, stats, model, queue, config, PacsAccess.NONE, metrics).register(cfg.routes));
 * }</pre>
 */
final class ApiRoutes {

    /** The API's own bound on k: 100 results are several screens of thumbnails. */
    static final int MAX_K = 100;
    /** Ids are decimal longs, nothing else: no sign, no dots, no slashes, so no traversal. */
    private static final Pattern ID = Pattern.compile("[0-9]{1,18}");
    /** Ids never change meaning (they are never reused), so renderings may be cached. */
    private static final String IMAGE_CACHE = "private, max-age=3600";

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ApiRoutes.class);

    private final ImageService service;
    private final Tokens tokens;
    private final ServerMetrics metrics;
    private final RequestStats stats;
    private final ModelSummary model;
    private final InferenceQueue queue;
    private final ServerConfig config;
    private final PacsAccess pacs;
    private final byte[] openapi;

    ApiRoutes(
            ImageService service,
            Tokens tokens,
            RequestStats stats,
            ModelSummary model,
            InferenceQueue queue,
            ServerConfig config,
            PacsAccess pacs,
            ServerMetrics metrics) {
        this.service = service;
        this.pacs = pacs;
        this.tokens = tokens;
        this.metrics = metrics;
        this.stats = stats;
        this.model = model;
        this.queue = queue;
        this.config = config;
        try (InputStream in = ApiRoutes.class.getResourceAsStream("openapi.json")) {
            if (in == null) {
                throw new IllegalStateException("openapi.json is missing from the jar");
            }
            this.openapi = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void register(JavalinDefaultRoutingApi r) {
        r.post("/api/search", this::search);
        r.post("/api/explain", this::explain);
        r.get("/api/explain", this::explainIndexed);
        r.get("/api/images/{id}/thumbnail", this::thumbnail);
        r.get("/api/images/{id}", this::image);
        r.post("/api/images", this::add);
        r.delete("/api/images/{id}", this::delete);
        r.get("/api/classes", this::classes);
        r.get("/api/health", this::health);
        r.get("/api/stats", this::stats);
        r.get("/api/openapi.json", this::openapi);
        r.get("/metrics", this::metrics);
    }

    /**
     * The order matters: refuse what can be refused from the headers, then receive the whole body
     * holding nothing shared, check the parameters, and only then take a ticket and decode.
     */
    private void search(Context ctx) throws Exception {
        MultipartForm form = new MultipartForm(ctx, config.maxUploadBytes());
        form.checkDeclaredSize();
        service.refuseIfBusy();
        form.receive();
        SearchRequest request = SearchRequest.of(
                        form.intField("k", SearchRequest.DEFAULT_K, 1, MAX_K),
                        service.scope(scope(form.field("scope"))))
                .withFeedback(feedback(form));
        ImageService.Outcome o = service.search(ImageService.Query.of(upload(form), request, region(form)));
        RequestAudit.ids(ctx, o.result().hits().stream().map(h -> h.id()).toList());
        metrics.search(o.result().modelNanos(), o.result().searchNanos());
        // the one writer of search answers, shared with `medsearch search --json`
        ctx.contentType("application/json")
                .result(ApiResponses.search(o, pacs.viewer()).toJson());
    }

    /** Explains a query (an upload, or a PACS instance) and an indexed image: both similarity maps. */
    private void explain(Context ctx) throws Exception {
        MultipartForm form = new MultipartForm(ctx, config.maxUploadBytes());
        form.checkDeclaredSize();
        service.refuseIfBusy();
        form.receive();
        long id = id(form.field("id"), "id");
        RequestAudit.ids(ctx, List.of(id));
        ImageService.Explained e = service.explain(upload(form), region(form), id);
        ctx.json(ApiResponses.explained(e));
    }

    /** Explains two indexed images: {@code query} (the query, optionally its {@code region}) and {@code id}. */
    private void explainIndexed(Context ctx) throws Exception {
        long query = id(ctx.queryParam("query"), "query");
        long id = id(ctx.queryParam("id"), "id");
        RequestAudit.ids(ctx, List.of(query, id));
        ImageService.Explained e = service.explain(query, regionOf(ctx.queryParam("region")), id);
        ctx.json(ApiResponses.explained(e));
    }

    private static long id(String raw, String name) {
        if (raw == null || !ID.matcher(raw.strip()).matches()) {
            throw ApiException.badRequest(name + " must be the decimal id of an indexed image");
        }
        return Long.parseLong(raw.strip());
    }

    /** The query image: the {@code image} part, or the PACS instance named by {@code instance}. */
    private ImageService.Upload upload(MultipartForm form) {
        String instance = form.field("instance");
        return instance == null || instance.isBlank() ? () -> form.file("image") : fromPacs(instance.strip(), form);
    }

    /** The form's region ({@code x,y,w,h} in the query image's pixels), or null. */
    private static Region region(MultipartForm form) {
        return regionOf(form.field("region"));
    }

    private static Region regionOf(String raw) {
        if (raw == null || raw.isBlank()) {
            return null;
        }
        try {
            return Region.parse(raw);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
    }

    /**
     * The reader's marks ({@code relevant} and {@code irrelevant}: ids, comma-separated) and
     * Rocchio's weights ({@code rocchio}: alpha,beta,gamma).
     */
    private static Feedback feedback(MultipartForm form) {
        try {
            return Feedback.of(Feedback.ids(form.field("relevant")), Feedback.ids(form.field("irrelevant")))
                    .withWeights(Feedback.weights(form.field("rocchio")));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
    }

    /** The query image from the PACS, retrieved once the search holds its ticket. */
    private ImageService.Upload fromPacs(String uid, MultipartForm form) {
        if (pacs.pacs() == null) {
            throw ApiException.badRequest("this server reads no PACS: upload the query image as 'image'");
        }
        if (form.hasFile("image")) {
            throw ApiException.badRequest("give an image or an instance, not both");
        }
        if (!org.medsearch.dicomweb.DicomWebClient.isUid(uid)) {
            throw ApiException.badRequest("instance must be a SOP Instance UID (digits and dots, at most 64)");
        }
        return () -> {
            try {
                return PacsQuery.retrieve(pacs.pacs(), uid);
            } catch (DicomWebException e) {
                // the PACS's address and answers stay in the server's log, not in the client's answer
                if (e.kind() == DicomWebException.Kind.NO_SUCH_INSTANCE) {
                    throw ApiException.notFound("the PACS has no instance " + uid);
                }
                LOG.warn("query instance from the PACS failed: {}", e.getMessage());
                throw new ApiException(502, "pacs_unavailable", "the PACS could not be read; try again later");
            }
        };
    }

    /** The form's scope, or null (the model's default) when it has none; a malformed one is 400. */
    private static Scope scope(String raw) {
        if (raw == null || raw.isBlank()) {
            return null;
        }
        try {
            return Scope.parse(raw);
        } catch (IllegalArgumentException e) {
            String shown = raw.strip();
            throw ApiException.badRequest("scope must be " + Scope.FORMS + ", got '"
                    + (shown.length() > 40 ? shown.substring(0, 40) + "..." : shown) + "'");
        }
    }

    private void thumbnail(Context ctx) throws Exception {
        long id = id(ctx);
        png(ctx, id, service.thumbnail(id));
    }

    private void image(Context ctx) throws Exception {
        long id = id(ctx);
        png(ctx, id, service.image(id));
    }

    private static void png(Context ctx, long id, Optional<byte[]> png) {
        byte[] bytes = png.orElseThrow(() -> noSuchImage(id));
        ctx.header("Cache-Control", IMAGE_CACHE).contentType("image/png").result(bytes);
    }

    private void add(Context ctx) throws Exception {
        tokens.require(RequestAudit.principal(ctx), Tokens.Role.WRITER);
        MultipartForm form = new MultipartForm(ctx, config.maxUploadBytes());
        form.checkDeclaredSize();
        service.refuseIfBusy();
        form.receive();
        String label = form.field("label");
        ImageService.Added a = service.add(() -> form.file("image"), label == null ? null : label.strip());
        RequestAudit.ids(ctx, List.of(a.id()));
        ctx.status(201).header("Location", ApiResponses.imageUrl(a.id()));
        ctx.json(new ApiResponses.Added(
                a.id(),
                label.strip(),
                new SearchAnswer.ClassProbability(a.predicted(), a.confidence()),
                ApiResponses.thumbnailUrl(a.id()),
                ApiResponses.imageUrl(a.id())));
    }

    private void delete(Context ctx) throws Exception {
        tokens.require(RequestAudit.principal(ctx), Tokens.Role.WRITER);
        long id = id(ctx);
        if (!service.delete(id)) {
            throw noSuchImage(id);
        }
        ctx.status(204);
    }

    private void classes(Context ctx) throws IOException {
        ctx.json(ApiResponses.classes(service.classes(), service.classCounts()));
    }

    private void health(Context ctx) throws IOException {
        ctx.json(new ApiResponses.Health("ok", service.indexSize(), tokens.writesEnabled()));
    }

    private void stats(Context ctx) throws IOException {
        if (config.statsAdminOnly()) {
            tokens.require(RequestAudit.principal(ctx), Tokens.Role.ADMIN);
        }
        ctx.json(new ApiResponses.Stats(
                service.indexSize(),
                model,
                Math.round(stats.uptimeSeconds() * 10) / 10.0,
                stats.snapshot(),
                ApiResponses.Queue.of(queue.stats()),
                RequestStats.memory(),
                Version.current()));
    }

    /** Prometheus's text format; behind an admin's token when the operator says so. */
    private void metrics(Context ctx) {
        if (config.statsAdminOnly()) {
            tokens.require(RequestAudit.principal(ctx), Tokens.Role.ADMIN);
        }
        ctx.header("Cache-Control", "no-store")
                .contentType("text/plain; version=0.0.4; charset=utf-8")
                .result(metrics.scrape());
    }

    private void openapi(Context ctx) {
        ctx.contentType("application/json").result(openapi);
    }

    private static long id(Context ctx) {
        String raw = ctx.pathParam("id");
        if (!ID.matcher(raw).matches()) {
            throw ApiException.badRequest("an image id is a decimal number");
        }
        return Long.parseLong(raw);
    }

    private static ApiException noSuchImage(long id) {
        return ApiException.notFound("no image with id " + id);
    }
}

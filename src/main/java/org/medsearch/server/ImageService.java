package org.medsearch.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.medsearch.dataset.SampleLoader;
import org.medsearch.dicomweb.DicomWebException;
import org.medsearch.dicomweb.DicomWebLocation;
import org.medsearch.image.DecodeCapacityException;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.MemoryBudget;
import org.medsearch.image.Preprocessing;
import org.medsearch.image.ReadLimits;
import org.medsearch.image.Region;
import org.medsearch.index.IndexedImage;
import org.medsearch.model.Embedding;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.search.ViewerLink;
import org.medsearch.service.Explainer;
import org.medsearch.service.SearchService;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Hashing;
import org.medsearch.util.MedsearchException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the web service does, without HTTP: search by an uploaded image, render indexed images,
 * add and delete images. Routes call it; tests may too.
 *
 * <p>Contracts:
 * <ul>
 *   <li>Callers hand over requests whose body has fully arrived: nothing here waits on a client.</li>
 *   <li>Every decode goes through {@link ImageReaders} with the server's limits (upload size,
 *       decoded pixels, decoded bytes) and reserves its bytes from one {@link MemoryBudget}, so the
 *       memory all decodes hold together is bounded, whatever arrives. Uploads are decoded under a
 *       gate of one permit per core (at least two); renderings of indexed images under a gate of
 *       their own, so a page of thumbnails never takes a search's turn.</li>
 *   <li>A search holds an {@link InferenceQueue} ticket from before its image is read into memory
 *       until its answer; without one it fails at once with a 503 ({@link ApiException#overloaded()}),
 *       as does a decode that finds the memory budget full for {@link #BUDGET_WAIT_SECONDS}.</li>
 *   <li>Nothing returned holds a source path or patient data: callers get ids, labels and pixels.</li>
 *   <li>Uploads added to the index are stored under {@code <index>/uploads/} with a server-chosen
 *       name; deleting such an image deletes its file. Files of images indexed from a data set are
 *       never touched.</li>
 *   <li>{@link #add} and {@link #delete} need the index opened writable; they are serialised.</li>
 * </ul>
 *
 * <pre>{@code
 * ImageService svc = new ImageService(config, new SearchService(new TorchBackend(bundle), index), queue);
 * ImageService.Outcome o = svc.search(ImageService.Query.of(bytes, SearchRequest.of(10, Scope.PREDICTED)));
 * Optional<byte[]> png = svc.thumbnail(o.result().hits().get(0).id()); // empty for an unknown id
 * }</pre>
 */
public final class ImageService {

    /** Where the bytes of an upload come from; read only once the request holds its permits. */
    @FunctionalInterface
    public interface Upload {
        byte[] bytes() throws IOException;
    }

    /**
     * A search whose upload has arrived: its parameters, then its image, read only once the search
     * holds a ticket (so that the images in memory are bounded by the queue, not by the clients).
     */
    public interface Query {
        byte[] image() throws IOException;

        SearchRequest request();

        /** The part of the image to search with, or null for all of it. */
        default Region region() {
            return null;
        }

        /** A query whose image is already at hand. */
        static Query of(byte[] image, SearchRequest request) {
            return of(() -> image, request);
        }

        /** A query whose image is read from {@code upload} once admitted. */
        static Query of(Upload upload, SearchRequest request) {
            return of(upload, request, null);
        }

        /** A query with {@code region} of the image read from {@code upload} (null: the whole image). */
        static Query of(Upload upload, SearchRequest request, Region region) {
            return new Query() {
                @Override
                public byte[] image() throws IOException {
                    return upload.bytes();
                }

                @Override
                public SearchRequest request() {
                    return request;
                }

                @Override
                public Region region() {
                    return region;
                }
            };
        }
    }

    /**
     * A search's answer and where its time went.
     *
     * @param request the search's parameters
     * @param result classification and hits
     * @param decodeNanos decoding and pre-processing of the upload
     * @param inference queue wait, forward pass and batch size
     * @param totalNanos from admission to the answer
     */
    public record Outcome(
            SearchRequest request,
            SearchResult result,
            long decodeNanos,
            InferenceQueue.Result inference,
            long totalNanos) {}

    /**
     * An image added by {@link #add}.
     *
     * @param id its new id
     * @param predicted the model's class for it
     * @param confidence that class's probability
     */
    public record Added(long id, String predicted, float confidence) {}

    private static final Logger LOG = LoggerFactory.getLogger(ImageService.class);
    /** A decode that cannot start within this time means the server is saturated: say so (503). */
    private static final long GATE_WAIT_SECONDS = 10;
    /** How long a decode waits for room in the memory budget before it is answered 503. */
    public static final long BUDGET_WAIT_SECONDS = 10;

    public static final String UPLOADS_DIR = "uploads";

    private final ServerConfig config;
    private final SearchService service;
    private final InferenceQueue queue;
    private final ImageReaders readers;
    private final Preprocessing prep;
    private final Semaphore uploadGate =
            new Semaphore(Math.max(2, Runtime.getRuntime().availableProcessors()));
    private final Semaphore renderGate =
            new Semaphore(Math.max(1, Runtime.getRuntime().availableProcessors() / 2));
    private final MemoryBudget budget;
    private final Path uploads;
    private final Object writeLock = new Object();
    private volatile PacsAccess pacs = PacsAccess.NONE;
    private volatile Explainer explainer;

    /**
     * @param service searches and writes the index; its backend computes what {@code queue}'s model computes
     * @param queue admits and micro-batches the forward passes
     */
    public ImageService(ServerConfig config, SearchService service, InferenceQueue queue) throws IOException {
        this.config = config;
        // every forward pass of the server goes through the queue
        this.service = service.withBackend(new QueuedBackend(service.backend()));
        this.queue = queue;
        // the model's readers (its DICOM window), with the server's stricter limits
        this.budget = new MemoryBudget(config.decodeMemoryBytes(), Duration.ofSeconds(BUDGET_WAIT_SECONDS));
        this.readers = service.readers()
                .withLimits(
                        new ReadLimits(config.maxUploadBytes(), config.maxPixels(), config.maxDecodedBytes(), budget));
        this.prep = service.backend().preprocessing();
        this.uploads = service.uploadsDirectory().toAbsolutePath().normalize();
    }

    /** The PACS that images indexed from it (with their UIDs) are rendered from. */
    public void optPacs(PacsAccess p) {
        this.pacs = p;
    }

    public List<String> classes() {
        return service.classes();
    }

    /** Visible images per class. */
    public Map<String, Integer> classCounts() throws IOException {
        return service.countsPerClass();
    }

    public int indexSize() throws IOException {
        return service.size();
    }

    /**
     * Refuses with 503 now when a search or an add arriving now could not be admitted, so that a
     * saturated server does not first wait for the upload. Call it before receiving the body.
     */
    public void refuseIfBusy() {
        if (queue.refuseEarly()) {
            throw ApiException.overloaded();
        }
    }

    /**
     * The scope a search gets (the model's default for null), checked before any upload is decoded.
     *
     * @throws ApiException 400 when the model cannot serve it ({@code auto} without a threshold, a
     *     class scope with a bare backbone)
     */
    public Scope scope(Scope requested) {
        try {
            return service.resolve(requested);
        } catch (MedsearchException e) {
            throw ApiException.badRequest(e.getMessage());
        }
    }

    /** Classifies the upload and returns its nearest indexed images. */
    public Outcome search(Query query) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        SearchRequest request = query.request();
        try (InferenceQueue.Ticket ticket = queue.tryAdmit().orElseThrow(ApiException::overloaded)) {
            Decoded d = decodeUpload(query::image, query.region());
            SearchResult res = service.search(d.input(), request);
            return new Outcome(request, res, d.nanos(), ticket.result(), System.nanoTime() - t0);
        }
    }

    /**
     * Stores the upload under the uploads folder, embeds it and adds it to the index with
     * {@code label}, durably (one commit).
     *
     * @throws ApiException 400 when {@code label} is not one of the model's classes
     */
    @SuppressWarnings("try") // the queue ticket is held for the request's duration and never read
    public Added add(Upload upload, String label) throws IOException, InterruptedException {
        if (label == null || !classes().contains(label)) {
            throw ApiException.badRequest("label must be one of the model's classes " + classes() + ", got "
                    + (label == null ? "none" : "'" + label + "'"));
        }
        try (InferenceQueue.Ticket ticket = queue.tryAdmit().orElseThrow(ApiException::overloaded)) {
            Decoded d = decodeUpload(upload);
            Embedding e = service.backend().embed(d.input(), 1).get(0);
            String predicted = e.predictedName(classes());
            String ext = d.image().metadata().getOrDefault("format", "img").replaceAll("[^a-z0-9]", "");
            synchronized (writeLock) {
                Files.createDirectories(uploads);
                Path file = uploads.resolve(UUID.randomUUID() + "." + ext);
                FileUtil.writeAtomically(file, d.bytes());
                try {
                    long id = service.addDurably(new IndexedImage(
                            -1,
                            file.toString(),
                            label,
                            predicted,
                            e.confidence(),
                            Hashing.sha256Hex(d.bytes()),
                            e.vector(),
                            null,
                            d.image().metadata().get("modality"),
                            null,
                            null,
                            d.image().metadata()));
                    return new Added(id, predicted, e.confidence());
                } catch (IOException | RuntimeException ex) {
                    Files.deleteIfExists(file);
                    throw ex;
                }
            }
        }
    }

    /**
     * Removes an image from the index, durably, and deletes its file if it was an upload.
     *
     * @return false when no image has this id
     */
    public boolean delete(long id) throws IOException {
        synchronized (writeLock) {
            Optional<IndexedImage> img = service.deleteDurably(id);
            if (img.isEmpty()) {
                return false;
            }
            Path file = Path.of(img.get().path()).toAbsolutePath().normalize();
            if (file.startsWith(uploads)) {
                Files.deleteIfExists(file);
            }
            return true;
        }
    }

    /** A PNG of the indexed image shrunk to the configured thumbnail size, or empty for an unknown id. */
    public Optional<byte[]> thumbnail(long id) throws IOException, InterruptedException {
        return render(id, config.thumbnailSize());
    }

    /** A PNG of the indexed image's decoded pixels at full size, or empty for an unknown id. */
    public Optional<byte[]> image(long id) throws IOException, InterruptedException {
        return render(id, Integer.MAX_VALUE);
    }

    private Optional<byte[]> render(long id, int side) throws IOException, InterruptedException {
        Optional<IndexedImage> img = service.image(id);
        if (img.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(PngRenderer.png(PngRenderer.fit(load(id, img.get()), side)));
    }

    /**
     * Decodes an indexed image under the render gate: its file, or its instance in the PACS. 404 when
     * it cannot be had, 503 when decoding memory is short.
     */
    @SuppressWarnings("try") // the gate is held for the decode's duration and never read
    private MedicalImage load(long id, IndexedImage img) throws IOException, InterruptedException {
        try (Gate g = enter(renderGate)) {
            return fromPacs(img) ? pacsImage(id, img) : SampleLoader.load(img.path(), readers);
        } catch (DecodeCapacityException e) {
            throw busy();
        } catch (ImageFormatException e) {
            // the operator's log may name the file; the client only learns that it cannot be had
            LOG.warn("image {} ({}): {}", id, img.path(), e.getMessage());
            throw new ApiException(404, "not_found", "image " + id + " is indexed, but its file cannot be read");
        }
    }

    private static boolean fromPacs(IndexedImage img) {
        return DicomWebLocation.looksLike(img.path());
    }

    /**
     * An image indexed from a PACS, retrieved from it again: only with the UIDs that {@code index
     * --link-back} stored and a server that reads that PACS ({@code serve --pacs}).
     */
    private MedicalImage pacsImage(long id, IndexedImage img) throws IOException {
        java.util.Map<String, String> meta = img.metadata() == null ? java.util.Map.of() : img.metadata();
        String study = meta.get(ViewerLink.KEYS.get("study"));
        String series = meta.get(ViewerLink.KEYS.get("series"));
        String instance = meta.get(ViewerLink.KEYS.get("instance"));
        if (pacs.pacs() == null || study == null || series == null || instance == null) {
            throw new ApiException(
                    404,
                    "not_found",
                    "image " + id + " is in the PACS: it is shown when indexed with --link-back (a 2D image) and"
                            + " served with --pacs");
        }
        try {
            return readers.read(pacs.pacs().retrieve(study, series, instance));
        } catch (DicomWebException e) {
            LOG.warn("image {} from the PACS: {}", id, e.getMessage());
            if (e.kind() == DicomWebException.Kind.NO_SUCH_INSTANCE) {
                throw new ApiException(404, "not_found", "image " + id + " is no longer in the PACS");
            }
            throw new ApiException(502, "pacs_unavailable", "the PACS could not be read; try again later");
        }
    }

    private record Decoded(byte[] bytes, MedicalImage image, float[] input, long nanos) {}

    private Decoded decodeUpload(Upload upload) throws IOException, InterruptedException {
        return decodeUpload(upload, null);
    }

    /** Decodes an upload and pre-processes it, or its {@code region} (null: all of it). */
    @SuppressWarnings("try") // the gate is held for the decode's duration and never read
    private Decoded decodeUpload(Upload upload, Region region) throws IOException, InterruptedException {
        byte[] bytes = upload.bytes();
        try (Gate g = enter(uploadGate)) {
            long t0 = System.nanoTime();
            MedicalImage img = cropped(decode(bytes), region);
            float[] input = prep.apply(img);
            return new Decoded(bytes, img, input, System.nanoTime() - t0);
        }
    }

    private static MedicalImage cropped(MedicalImage img, Region region) {
        if (region == null) {
            return img;
        }
        try {
            return region.crop(img);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
    }

    /**
     * A query and an indexed image explained: where their distance comes from on each image
     * ({@link Explainer}); 404 for an unknown id or an image that cannot be read, 400 on a server
     * started without explanations.
     */
    public Explained explain(Upload upload, Region region, long id) throws IOException, InterruptedException {
        return explain(explainer(), () -> decodeUpload(upload, region).image(), id);
    }

    /**
     * As {@link #explain(Upload, Region, long)} with an indexed image as the query: "why is case
     * {@code queryId} like case {@code id}". 404 for either id unknown or unreadable.
     */
    public Explained explain(long queryId, Region region, long id) throws IOException, InterruptedException {
        Explainer x = explainer();
        IndexedImage query = indexed(queryId, " (the query)");
        return explain(x, () -> cropped(load(queryId, query), region), id);
    }

    /** The query image of an explanation, read once it holds its ticket. */
    @FunctionalInterface
    private interface QueryImage {
        MedicalImage read() throws IOException, InterruptedException;
    }

    @SuppressWarnings("try") // the ticket is held for the explanation's duration and never read
    private Explained explain(Explainer x, QueryImage query, long id) throws IOException, InterruptedException {
        IndexedImage img = indexed(id, "");
        try (InferenceQueue.Ticket ticket = queue.tryAdmit().orElseThrow(ApiException::overloaded)) {
            return new Explained(id, x.explain(query.read(), load(id, img), EXPLAIN_SIDE));
        }
    }

    private Explainer explainer() {
        Explainer x = explainer;
        if (x == null) {
            throw ApiException.badRequest("this server gives no explanations");
        }
        return x;
    }

    private IndexedImage indexed(long id, String role) throws IOException {
        return service.image(id).orElseThrow(() -> ApiException.notFound("no image with id " + id + role));
    }

    /** The overlays' longer side, pixels. */
    static final int EXPLAIN_SIDE = 256;

    /** An explanation of the query and image {@code id}. */
    public record Explained(long id, Explainer.Explanation explanation) {}

    /** Explanations for {@link #explain}, from the model's fp32 graph with its feature maps. */
    public void optExplainer(Explainer x) {
        this.explainer = x;
    }

    /** Decodes an upload; the type comes from the content alone. 415: not an image; 422: a broken or too large one. */
    private MedicalImage decode(byte[] bytes) {
        try {
            return readers.read(bytes);
        } catch (DecodeCapacityException e) {
            throw busy();
        } catch (ImageFormatException e) {
            boolean known =
                    bytes.length > 0 && readers.readerFor(Arrays.copyOf(bytes, Math.min(bytes.length, 512))) != null;
            if (!known) {
                throw new ApiException(415, "unsupported_media_type", e.getMessage());
            }
            throw new ApiException(422, "invalid_image", e.getMessage());
        }
    }

    private interface Gate extends AutoCloseable {
        @Override
        void close();
    }

    private static Gate enter(Semaphore gate) throws InterruptedException {
        if (!gate.tryAcquire(GATE_WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw ApiException.overloaded();
        }
        return gate::release;
    }

    private static ApiException busy() {
        return new ApiException(
                503,
                "overloaded",
                "the server is decoding as many images as its memory allows; " + "retry later",
                Map.of("Retry-After", "2"));
    }
}

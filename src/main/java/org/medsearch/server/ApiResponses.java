package org.medsearch.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.medsearch.search.SearchAnswer;
import org.medsearch.search.SearchResult;
import org.medsearch.util.Json;

/**
 * The JSON bodies of the API, as records (Jackson writes their components in order). They are the
 * wire contract that {@code openapi.json} describes; a field added here belongs there too. None of
 * them has a place for a file path or a patient identifier, on purpose.
 *
 * <pre>{@code
 * ctx.json(ApiResponses.classes(modelClasses, counts));
 * }</pre>
 */
public final class ApiResponses {
    private ApiResponses() {}

    /** The API's JSON: the project's configuration ({@link Json#MAPPER}), compact. */
    static final ObjectMapper MAPPER = Json.MAPPER.copy().disable(SerializationFeature.INDENT_OUTPUT);

    /** Every error: a stable code and a sentence. */
    public record Error(String error, String message) {}

    /** One class of {@code GET /api/classes}: indexed images whose label (or prediction) is this class. */
    public record ClassCount(String name, int count) {}

    /** {@code GET /api/classes}. */
    public record Classes(List<ClassCount> classes, int total) {}

    /** {@code GET /api/health}. */
    public record Health(String status, int indexSize, boolean writesEnabled) {}

    /**
     * An explanation: where the distance between the query and image {@code id} comes from, cell by
     * cell of each image's {@code grid x grid} feature grid (row-major; 1 = most alike), and both
     * images with their map laid over them, as PNG data URLs.
     */
    public record Explanation(
            long id,
            double distance,
            int grid,
            float[] queryHeat,
            float[] hitHeat,
            String queryOverlay,
            String hitOverlay,
            double millis) {}

    static Explanation explained(ImageService.Explained e) {
        org.medsearch.service.Explainer.Explanation x = e.explanation();
        java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
        return new Explanation(
                e.id(),
                x.map().distance(),
                x.map().grid(),
                x.map().queryHeat(),
                x.map().hitHeat(),
                "data:image/png;base64," + b64.encodeToString(x.queryPng()),
                "data:image/png;base64," + b64.encodeToString(x.hitPng()),
                ms(x.nanos()));
    }

    /** {@code POST /api/images}. */
    public record Added(
            long id, String label, SearchAnswer.ClassProbability predicted, String thumbnailUrl, String imageUrl) {}

    /** {@code GET /api/stats}. */
    public record Stats(
            int indexSize,
            ModelSummary model,
            double uptimeSeconds,
            RequestStats.Snapshot requests,
            Queue queue,
            Memory memory,
            String version) {}

    /** The inference queue's state; see {@link InferenceQueue.Stats}. */
    public record Queue(
            int capacity,
            int inFlight,
            int peakInFlight,
            long rejected,
            long batches,
            long queries,
            double meanBatch,
            int largestBatch,
            double modelSeconds) {
        static Queue of(InferenceQueue.Stats s) {
            return new Queue(
                    s.capacity(),
                    s.admitted(),
                    s.peakAdmitted(),
                    s.rejected(),
                    s.batches(),
                    s.queries(),
                    s.meanBatch(),
                    s.largestBatch(),
                    Math.round(s.modelSeconds() * 1000) / 1000.0);
        }
    }

    /** The process's memory: resident set now and at its peak (Linux VmRSS, VmHWM), and the Java heap. */
    public record Memory(Long rssBytes, Long peakRssBytes, long heapUsedBytes, long heapMaxBytes) {}

    static String thumbnailUrl(long id) {
        return SearchAnswer.thumbnailUrl(id);
    }

    static String imageUrl(long id) {
        return SearchAnswer.imageUrl(id);
    }

    /** {@code POST /api/search}: the same answer as {@code medsearch search --json}, with the server's timings. */
    static SearchAnswer search(ImageService.Outcome o) {
        return search(o, null);
    }

    /** The answer, its hits linked to the PACS viewer by {@code viewer} (null: no links). */
    static SearchAnswer search(ImageService.Outcome o, org.medsearch.search.ViewerLink viewer) {
        SearchResult r = o.result();
        SearchAnswer.Timings t = new SearchAnswer.Timings(
                ms(o.decodeNanos()),
                ms(o.inference().queueNanos()),
                ms(o.inference().modelNanos()),
                ms(r.searchNanos()),
                ms(o.totalNanos()),
                o.inference().batchSize());
        return SearchAnswer.of(o.request(), r, t, viewer);
    }

    static Classes classes(List<String> modelClasses, Map<String, Integer> counts) {
        List<ClassCount> list = new ArrayList<>();
        int total = 0;
        for (String c : modelClasses) {
            int n = counts.getOrDefault(c, 0);
            list.add(new ClassCount(c, n));
            total += n;
        }
        // labels outside the model's classes can only come from a foreign data set; still count them
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (!modelClasses.contains(e.getKey())) {
                list.add(new ClassCount(e.getKey(), e.getValue()));
                total += e.getValue();
            }
        }
        return new Classes(list, total);
    }

    private static double ms(long nanos) {
        return Math.round(nanos / 1e4) / 100.0;
    }
}

package org.medsearch.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.medsearch.index.Hit;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.util.Json;

/**
 * The JSON bodies of the API, as records (Jackson writes their components in order). They are the
 * wire contract that {@code openapi.json} describes; a field added here belongs there too. None of
 * them has a place for a file path or a patient identifier, on purpose.
 *
 * <pre>{@code
 * ctx.json(ApiResponses.search(outcome));
 * }</pre>
 */
public final class ApiResponses {
    private ApiResponses() {}

    /** The API's JSON: the project's configuration ({@link Json#MAPPER}), compact. */
    static final ObjectMapper MAPPER = Json.MAPPER.copy().disable(SerializationFeature.INDENT_OUTPUT);

    /** Every error: a stable code and a sentence. */
    public record Error(String error, String message) {}

    /** One class and the model's probability for it. */
    public record ClassProbability(String name, double probability) {}

    /** One similar image: {@code distance} is the paper's mean squared error between feature vectors. */
    public record Result(long id, String label, double distance, String thumbnailUrl, String imageUrl) {}

    /** Milliseconds spent per stage; {@code batchSize} is how many queries shared the forward pass. */
    public record Timings(double decodeMs, double queueMs, double modelMs, double searchMs, double totalMs,
            int batchSize) {}

    /** {@code POST /api/search}. */
    public record Search(ClassProbability predicted, List<ClassProbability> probabilities, String scope, int k,
            List<Result> results, Timings timings) {}

    /** One class of {@code GET /api/classes}: indexed images whose label (or prediction) is this class. */
    public record ClassCount(String name, int count) {}

    /** {@code GET /api/classes}. */
    public record Classes(List<ClassCount> classes, int total) {}

    /** {@code GET /api/health}. */
    public record Health(String status, int indexSize, boolean writesEnabled) {}

    /** {@code POST /api/images}. */
    public record Added(long id, String label, ClassProbability predicted, String thumbnailUrl, String imageUrl) {}

    /** {@code GET /api/stats}. */
    public record Stats(int indexSize, ModelSummary model, double uptimeSeconds, RequestStats.Snapshot requests,
            Queue queue, Memory memory, String version) {}

    /** The inference queue's state; see {@link InferenceQueue.Stats}. */
    public record Queue(int capacity, int inFlight, int peakInFlight, long rejected, long batches, long queries,
            double meanBatch, int largestBatch, double modelSeconds) {
        static Queue of(InferenceQueue.Stats s) {
            return new Queue(s.capacity(), s.admitted(), s.peakAdmitted(), s.rejected(), s.batches(), s.queries(),
                    s.meanBatch(), s.largestBatch(), Math.round(s.modelSeconds() * 1000) / 1000.0);
        }
    }

    /** The process's memory: resident set now and at its peak (Linux VmRSS, VmHWM), and the Java heap. */
    public record Memory(Long rssBytes, Long peakRssBytes, long heapUsedBytes, long heapMaxBytes) {}

    static String thumbnailUrl(long id) {
        return "/api/images/" + id + "/thumbnail";
    }

    static String imageUrl(long id) {
        return "/api/images/" + id;
    }

    static Search search(ImageService.Outcome o) {
        SearchRequest request = o.request();
        SearchResult r = o.result();
        float[] p = r.embedding().probabilities();
        List<ClassProbability> probs = new ArrayList<>(p.length);
        for (int i = 0; i < p.length; i++) {
            probs.add(new ClassProbability(r.classes().get(i), p[i]));
        }
        List<Result> results = new ArrayList<>(r.hits().size());
        for (Hit h : r.hits()) {
            results.add(new Result(h.id(), h.image().searchClass(), h.meanSquaredError(), thumbnailUrl(h.id()),
                    imageUrl(h.id())));
        }
        Timings t = new Timings(ms(o.decodeNanos()), ms(o.inference().queueNanos()), ms(o.inference().modelNanos()),
                ms(r.searchNanos()), ms(o.totalNanos()), o.inference().batchSize());
        return new Search(new ClassProbability(r.predictedClass(), r.confidence()), probs,
                request.scope().name().toLowerCase(java.util.Locale.ROOT), request.k(), results, t);
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

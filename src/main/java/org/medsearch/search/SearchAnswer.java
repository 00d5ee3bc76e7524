package org.medsearch.search;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.List;
import org.medsearch.index.Hit;
import org.medsearch.util.Json;

/**
 * The answer to one search as JSON: the body of {@code POST /api/search} and each line of
 * {@code medsearch search --json}, written by one writer ({@link #toJson}) and described by one
 * schema ({@code Search} in the API's {@code openapi.json}). It has no place for a file path or a
 * patient identifier, on purpose: indexed images are named by id, with the API's URLs for them.
 *
 * <pre>{@code
 * SearchAnswer a = SearchAnswer.of(request, result, SearchAnswer.Timings.of(0, 0, result));
 * System.out.println(a.toJson());
 * }</pre>
 *
 * @param predicted the query's predicted class and its probability (name null without a classifier)
 * @param probabilities every class, in the model's order
 * @param scope the scope used, as {@link Scope#toString()} writes it ("predicted", "all", "auto",
 *     "top:2"): the request's, or the model's default
 * @param searched the classes whose images were searched, most probable first (every class when the
 *     scope restricted nothing)
 * @param threshold under the scope {@code auto}, the threshold the top probability was compared
 *     with; null (absent from the JSON) under the others
 * @param k the results asked for
 * @param results nearest first
 * @param vote the distance-weighted class distribution of the results, and whether its top class is
 *     the predicted one
 * @param timings where the time went
 * @param notice why the results may not be what the request suggests, or null
 * @param query the query's file name (command line only), or null
 */
public record SearchAnswer(
        ClassProbability predicted,
        List<ClassProbability> probabilities,
        String scope,
        List<String> searched,
        Double threshold,
        int k,
        List<Result> results,
        NeighbourVote vote,
        Timings timings,
        String notice,
        String query) {

    /** Compact, and without null fields (the optional {@code notice} and {@code query}). */
    private static final ObjectMapper MAPPER = Json.MAPPER.copy().disable(SerializationFeature.INDENT_OUTPUT);

    /** One class and the model's probability for it. */
    public record ClassProbability(String name, double probability) {}

    /**
     * One similar image: {@code distance} is the paper's mean squared error between feature vectors;
     * {@code viewerUrl} opens it in the PACS viewer, or is null (absent from the JSON) when the
     * server has no viewer template or the image carries no link back ({@link ViewerLink}).
     */
    public record Result(
            long id, String label, double distance, String thumbnailUrl, String imageUrl, String viewerUrl) {}

    /** Milliseconds spent per stage; {@code batchSize} is how many queries shared the forward pass. */
    public record Timings(
            double decodeMs, double queueMs, double modelMs, double searchMs, double totalMs, int batchSize) {

        /** Timings of a search that ran its own forward pass (batch of one), from nanoseconds. */
        public static Timings of(long decodeNanos, long queueNanos, SearchResult r) {
            long total = decodeNanos + queueNanos + r.modelNanos() + r.searchNanos();
            return new Timings(ms(decodeNanos), ms(queueNanos), ms(r.modelNanos()), ms(r.searchNanos()), ms(total), 1);
        }
    }

    /** The API's URL of an indexed image's thumbnail. */
    public static String thumbnailUrl(long id) {
        return "/api/images/" + id + "/thumbnail";
    }

    /** The API's URL of an indexed image, rendered at full size. */
    public static String imageUrl(long id) {
        return "/api/images/" + id;
    }

    /** The answer to {@code request}. */
    public static SearchAnswer of(SearchRequest request, SearchResult r, Timings timings) {
        return of(request, r, timings, null);
    }

    /** The answer to {@code request}, each hit linked to the PACS viewer by {@code viewer} (null: no links). */
    public static SearchAnswer of(SearchRequest request, SearchResult r, Timings timings, ViewerLink viewer) {
        float[] p = r.embedding().probabilities();
        List<ClassProbability> probs = new ArrayList<>(p.length);
        for (int i = 0; i < p.length; i++) {
            probs.add(new ClassProbability(r.classes().get(i), p[i]));
        }
        List<Result> results = new ArrayList<>(r.hits().size());
        for (Hit h : r.hits()) {
            results.add(new Result(
                    h.id(),
                    h.image().searchClass(),
                    h.meanSquaredError(),
                    thumbnailUrl(h.id()),
                    imageUrl(h.id()),
                    viewer == null ? null : viewer.forImage(h.image())));
        }
        return new SearchAnswer(
                new ClassProbability(r.predictedClass(), r.confidence()),
                probs,
                r.scope().toString(),
                r.searched(),
                Double.isNaN(r.autoThreshold()) ? null : r.autoThreshold(),
                request.k(),
                results,
                r.vote(),
                timings,
                r.notice(),
                null);
    }

    /** The same answer, naming the query file it answers (for the command line). */
    public SearchAnswer withQuery(String name) {
        return new SearchAnswer(
                predicted, probabilities, scope, searched, threshold, k, results, vote, timings, notice, name);
    }

    /** One line of JSON. */
    public String toJson() {
        try {
            return MAPPER.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("records of strings and numbers always serialise", e);
        }
    }

    static double ms(long nanos) {
        return Math.round(nanos / 1e4) / 100.0;
    }
}

package org.medsearch.search;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A reader's marks on earlier hits, for a search that learns from them (Rocchio's relevance
 * feedback): the query vector moves toward the mean of the hits marked relevant and away from the
 * mean of those marked not relevant,
 *
 * <pre>
 * q' = alpha q + beta mean(relevant) - gamma mean(not relevant)
 * </pre>
 *
 * with Rocchio's usual weights alpha 1, beta 0.75, gamma 0.15 ({@link #DEFAULT_ALPHA} ...). The
 * scope follows the marks: the classes of hits marked relevant are searched besides the scope's.
 * Stateless: a client sends every mark of every round; ids that are no longer indexed are ignored.
 *
 * <pre>{@code
 * SearchRequest r = SearchRequest.of(10, null).withFeedback(Feedback.of(Set.of(12L, 40L), Set.of(7L)));
 * }</pre>
 *
 * @param relevant ids marked relevant
 * @param irrelevant ids marked not relevant
 * @param alpha weight of the query itself
 * @param beta weight of the relevant hits' mean
 * @param gamma weight of the not-relevant hits' mean
 */
public record Feedback(Set<Long> relevant, Set<Long> irrelevant, double alpha, double beta, double gamma) {

    public static final double DEFAULT_ALPHA = 1.0;
    public static final double DEFAULT_BETA = 0.75;
    public static final double DEFAULT_GAMMA = 0.15;
    /** The most marks one search takes: a page of hits per round, for many rounds. */
    public static final int MAX_MARKS = 1000;

    public static final Feedback NONE = new Feedback(Set.of(), Set.of(), DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA);

    public Feedback {
        relevant = Set.copyOf(relevant);
        irrelevant = Set.copyOf(irrelevant);
        if (relevant.size() + irrelevant.size() > MAX_MARKS) {
            throw new IllegalArgumentException(
                    "at most " + MAX_MARKS + " marked hits, got " + (relevant.size() + irrelevant.size()));
        }
        Set<Long> both = new LinkedHashSet<>(relevant);
        both.retainAll(irrelevant);
        if (!both.isEmpty()) {
            throw new IllegalArgumentException("a hit is marked both relevant and not relevant: " + both);
        }
        if (!(alpha >= 0 && beta >= 0 && gamma >= 0 && alpha + beta > 0)) {
            throw new IllegalArgumentException("Rocchio's weights are >= 0, and alpha + beta > 0");
        }
    }

    /** Marks with Rocchio's usual weights. */
    public static Feedback of(Set<Long> relevant, Set<Long> irrelevant) {
        return new Feedback(relevant, irrelevant, DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA);
    }

    /** Whether there is any mark. */
    public boolean isEmpty() {
        return relevant.isEmpty() && irrelevant.isEmpty();
    }

    /** Parses a comma-separated list of ids ("" or null: none). */
    public static Set<Long> ids(String s) {
        Set<Long> out = new LinkedHashSet<>();
        if (s == null || s.isBlank()) {
            return out;
        }
        for (String p : List.of(s.split(","))) {
            String t = p.strip();
            if (!t.matches("[0-9]{1,18}")) {
                throw new IllegalArgumentException("marked hits are ids (decimal numbers) separated by commas, got '"
                        + (t.length() > 20 ? t.substring(0, 20) + "..." : t) + "'");
            }
            out.add(Long.parseLong(t));
        }
        return out;
    }

    /**
     * The moved query: {@code alpha q + beta mean(relevantVectors) - gamma mean(irrelevantVectors)};
     * an empty group adds nothing.
     */
    public float[] move(float[] q, List<float[]> relevantVectors, List<float[]> irrelevantVectors) {
        double[] out = new double[q.length];
        for (int i = 0; i < q.length; i++) {
            out[i] = alpha * q[i];
        }
        add(out, relevantVectors, beta);
        add(out, irrelevantVectors, -gamma);
        float[] f = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            f[i] = (float) out[i];
        }
        return f;
    }

    private static void add(double[] out, List<float[]> vectors, double weight) {
        if (vectors.isEmpty()) {
            return;
        }
        double w = weight / vectors.size();
        for (float[] v : vectors) {
            for (int i = 0; i < out.length; i++) {
                out[i] += w * v[i];
            }
        }
    }
}

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
 * q' = (alpha q + beta mean(relevant) - gamma mean(not relevant)) / (alpha + beta - gamma)
 * </pre>
 *
 * with Rocchio's usual weights alpha 1, beta 0.75, gamma 0.15 ({@link #DEFAULT_ALPHA} ...); a group
 * with no mark drops out of both sums. The division is ours: Rocchio compared vectors by cosine,
 * where a query's length does not matter, but the index ranks by squared distance, where a query
 * 1.75 times as long as any image would rank hits by their length. Divided, the moved query is a
 * point among the images (for relevant marks alone, between the query and their mean). Hence
 * {@code alpha > gamma}: the divisor stays positive whatever is marked.
 *
 * <p>The scope follows the marks: the classes of hits marked relevant are searched besides the
 * scope's. Stateless: a client sends every mark of every round; ids that are no longer indexed are
 * ignored.
 *
 * <pre>{@code
 * SearchRequest r = SearchRequest.of(10, null).withFeedback(Feedback.of(Set.of(12L, 40L), Set.of(7L)));
 * Feedback strong = r.feedback().withWeights(Feedback.weights("1,1.5,0.25"));
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

    /** A bound on the weights, so that no sum of them overflows into nonsense. */
    static final double MAX_WEIGHT = 1000;

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
        if (!(beta >= 0 && gamma >= 0 && alpha > gamma && alpha + beta <= MAX_WEIGHT)) {
            throw new IllegalArgumentException("Rocchio's weights alpha,beta,gamma are numbers >= 0 with alpha > gamma"
                    + " (and alpha + beta <= " + (int) MAX_WEIGHT + "), got " + alpha + "," + beta + "," + gamma);
        }
    }

    /** Marks with Rocchio's usual weights. */
    public static Feedback of(Set<Long> relevant, Set<Long> irrelevant) {
        return new Feedback(relevant, irrelevant, DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA);
    }

    /** The same marks with other weights: {@code {alpha, beta, gamma}}, as {@link #weights} parses them. */
    public Feedback withWeights(double[] w) {
        return new Feedback(relevant, irrelevant, w[0], w[1], w[2]);
    }

    /** Parses {@code "alpha,beta,gamma"} (null or blank: the defaults), checked as the constructor checks them. */
    public static double[] weights(String s) {
        if (s == null || s.isBlank()) {
            return new double[] {DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA};
        }
        String[] p = s.split(",", -1);
        if (p.length != 3) {
            throw new IllegalArgumentException("Rocchio's weights are three numbers alpha,beta,gamma, got '"
                    + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'");
        }
        double[] w = new double[3];
        for (int i = 0; i < 3; i++) {
            String t = p[i].strip();
            if (!t.matches("[0-9]{1,6}(\\.[0-9]{1,6})?")) {
                throw new IllegalArgumentException("Rocchio's weights are decimal numbers >= 0, got '"
                        + (t.length() > 20 ? t.substring(0, 20) + "..." : t) + "'");
            }
            w[i] = Double.parseDouble(t);
        }
        new Feedback(Set.of(), Set.of(), w[0], w[1], w[2]);
        return w;
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
     * The moved query: {@code (alpha q + beta mean(relevantVectors) - gamma mean(irrelevantVectors))}
     * divided by the sum of the weights used; an empty group adds nothing to either.
     */
    public float[] move(float[] q, List<float[]> relevantVectors, List<float[]> irrelevantVectors) {
        double[] out = new double[q.length];
        for (int i = 0; i < q.length; i++) {
            out[i] = alpha * q[i];
        }
        double sum = alpha;
        sum += add(out, relevantVectors, beta);
        sum += add(out, irrelevantVectors, -gamma);
        float[] f = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            f[i] = (float) (out[i] / sum);
        }
        return f;
    }

    /** Adds {@code weight} times the vectors' mean; returns the weight used (0 for no vector). */
    private static double add(double[] out, List<float[]> vectors, double weight) {
        if (vectors.isEmpty()) {
            return 0;
        }
        double w = weight / vectors.size();
        for (float[] v : vectors) {
            for (int i = 0; i < out.length; i++) {
                out[i] += w * v[i];
            }
        }
        return weight;
    }
}

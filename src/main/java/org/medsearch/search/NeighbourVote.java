package org.medsearch.search;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.medsearch.index.Hit;

/**
 * What the similar cases say about the query's class: the distance-weighted class distribution of a
 * search's hits, set beside the classifier's prediction. Each hit votes for its class (its label,
 * else its indexed prediction; a hit whose class the model does not know counts under its own
 * label) with weight {@code 1 / max(d, }{@value #TINY}{@code )}, d its squared Euclidean distance
 * to the query; the weights are normalised to sum to 1.
 *
 * <p>The vote is scale-free: multiplying every distance by the same factor (a longer feature
 * vector, mean squared error instead of squared distance) leaves it unchanged, because only the
 * ratios of the weights survive the normalisation. A hit at distance 0 (the query's own bytes, say)
 * outweighs every other by far, which is what such a twin deserves.
 *
 * <pre>{@code
 * NeighbourVote v = NeighbourVote.of(result.hits(), result.predictedClass());
 * if (Boolean.FALSE.equals(v.agrees())) System.out.println("similar cases are mostly " + v.top());
 * }</pre>
 *
 * @param distribution class to share of the weight, largest first (ties: the class met first in
 *     the hits, nearest first); empty without hits
 * @param top the class with the largest share, or null without hits
 * @param agrees whether {@code top} is the predicted class; null without hits or without a
 *     predicted class (a bare backbone)
 */
public record NeighbourVote(Map<String, Double> distribution, String top, Boolean agrees) {

    /** The smallest distance a weight is computed from: a zero distance must not divide by zero. */
    public static final double TINY = 1e-12;

    /** No hits, no vote. */
    public static final NeighbourVote NONE = new NeighbourVote(Map.of(), null, null);

    /**
     * The vote of {@code hits}.
     *
     * @param predicted the classifier's class for the query, or null without a classifier
     */
    public static NeighbourVote of(List<Hit> hits, String predicted) {
        if (hits.isEmpty()) {
            return NONE;
        }
        // first-met order, so that a tie goes to the class of the nearer hit after the stable sort
        Map<String, Double> weights = new LinkedHashMap<>();
        double total = 0;
        for (Hit h : hits) {
            double w = 1.0 / Math.max(h.squaredDistance(), TINY);
            weights.merge(h.image().searchClass(), w, Double::sum);
            total += w;
        }
        List<Map.Entry<String, Double>> entries = new ArrayList<>(weights.entrySet());
        entries.sort(Map.Entry.<String, Double>comparingByValue().reversed());
        Map<String, Double> dist = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : entries) {
            dist.put(e.getKey(), e.getValue() / total);
        }
        String top = entries.get(0).getKey();
        return new NeighbourVote(
                Collections.unmodifiableMap(dist), top, predicted == null ? null : predicted.equals(top));
    }
}

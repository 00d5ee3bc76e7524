package org.medsearch.search;

import java.util.List;
import org.medsearch.index.Hit;
import org.medsearch.model.Embedding;

/**
 * The answer to one query.
 *
 * @param predictedClass the model's class for the query (null for a model without a classifier)
 * @param confidence its probability
 * @param classes the model's classes, aligned with {@code embedding.probabilities()}
 * @param embedding the query's vector and class probabilities
 * @param hits nearest first (see {@link org.medsearch.index.LuceneIndex#search})
 * @param modelNanos time of the forward pass (pre-processing included)
 * @param searchNanos time of the index search
 * @param path the search path the index took: "exact", "approximate", or "none" when nothing was searched
 * @param notice why the result is not what the request might suggest (say, an empty intersection of
 *     the predicted class and the filter's classes), or null
 * @param scope the scope used: the request's, or the model's default when the request named none
 * @param searched the classes whose images were compared with the query, most probable first (the
 *     scope's classes intersected with the filter's); every class of the model when the scope
 *     restricted nothing, the filter's classes when only the filter did
 * @param autoThreshold the threshold the {@code auto} scope compared the top probability with, or
 *     NaN under another scope
 * @param vote the distance-weighted class distribution of {@code hits}
 */
public record SearchResult(
        String predictedClass,
        float confidence,
        List<String> classes,
        Embedding embedding,
        List<Hit> hits,
        long modelNanos,
        long searchNanos,
        String path,
        String notice,
        Scope scope,
        List<String> searched,
        double autoThreshold,
        NeighbourVote vote) {}

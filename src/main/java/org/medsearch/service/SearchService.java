package org.medsearch.service;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.medsearch.image.MedicalImage;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.SearchFilter;
import org.medsearch.model.Embedder;
import org.medsearch.model.Embedding;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.util.MedsearchException;

/**
 * The one way anyone searches (the command line, the server through its queue, the evaluation, the
 * demo, the benchmark): the paper's retrieval rule over an embedding backend and a vector store.
 * Classify the query, restrict the candidates to the indexed images of the predicted class (or
 * take all of them), rank by mean squared error between feature vectors, return the k nearest.
 *
 * <p>Contract: the model and the index must agree (same fingerprint), which the constructor checks.
 * A request's own class filter is honoured under every scope: with {@link Scope#PREDICTED} the
 * candidates are the predicted class intersected with the filter's classes, and when that
 * intersection is empty the result has no hits and a {@link SearchResult#notice() notice} that says
 * why. Results are nearest first, ties broken by ascending id. Searches are thread-safe.
 *
 * <pre>{@code
 * SearchService service = new SearchService(new Embedder(bundle), index);
 * SearchResult res = service.search(image, SearchRequest.of(10, Scope.PREDICTED));
 * }</pre>
 */
public final class SearchService {

    private final Embedder embedder;
    private final LuceneIndex index;

    public SearchService(Embedder embedder, LuceneIndex index) throws MedsearchException {
        String model = embedder.bundle().fingerprint();
        String built = index.info().modelFingerprint();
        if (!model.equals(built)) {
            throw new MedsearchException("index " + index.directory() + " was built with model " + built
                    + ", not with " + embedder.bundle().directory() + " (" + model + "): use the model the index was built with");
        }
        this.embedder = embedder;
        this.index = index;
    }

    public Embedder embedder() {
        return embedder;
    }

    public LuceneIndex index() {
        return index;
    }

    public List<String> classes() {
        return embedder.bundle().classes();
    }

    /** Embeds one image (one forward pass) and searches with it. */
    public SearchResult search(MedicalImage query, SearchRequest request) throws IOException {
        long t0 = System.nanoTime();
        Embedding e = embedder.embed(query);
        long t1 = System.nanoTime();
        return search(e, request, t1 - t0);
    }

    /**
     * Searches with an embedding computed elsewhere: a batch of a data set, or the server's queue.
     *
     * @param modelNanos how long the embedding took, reported in the result
     */
    public SearchResult search(Embedding e, SearchRequest request, long modelNanos) throws IOException {
        List<String> classes = classes();
        String predicted = e.predictedName(classes);
        SearchFilter f = request.filter();
        if (request.scope() == Scope.PREDICTED) {
            if (predicted == null) {
                throw new MedsearchException("the model has no classifier (a bare ImageNet backbone), so the"
                        + " predicted-class scope is unavailable: use the scope 'all'");
            }
            Set<String> allowed = new HashSet<>(Set.of(predicted));
            if (f.classes() != null) {
                allowed.retainAll(f.classes());
            }
            if (allowed.isEmpty()) {
                return new SearchResult(predicted, e.confidence(), classes, e, List.of(), modelNanos, 0, "none",
                        "the query is predicted as '" + predicted + "', which is not among the filter's classes "
                                + f.classes() + ": nothing to search (use the scope 'all' to search those classes)");
            }
            f = f.withClasses(allowed);
        }
        long t1 = System.nanoTime();
        LuceneIndex.SearchResults r = index.search(e.vector(), request.k(), f, request.mode());
        long t2 = System.nanoTime();
        return new SearchResult(predicted, e.confidence(), classes, e, r.hits(), modelNanos, t2 - t1, r.path(), null);
    }
}

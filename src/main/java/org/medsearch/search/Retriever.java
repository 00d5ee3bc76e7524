package org.medsearch.search;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import org.medsearch.image.MedicalImage;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.SearchFilter;
import org.medsearch.model.Embedder;
import org.medsearch.model.Embedding;
import org.medsearch.util.MedsearchException;

/**
 * The paper's retrieval rule: classify the query, restrict the candidates to the indexed images of
 * the predicted class (or take all of them), rank by mean squared error between feature vectors,
 * return the k nearest. Ties are broken by ascending id.
 *
 * <p>Contract: the model and the index must agree (same fingerprint), which the constructor checks;
 * searches are thread-safe.
 *
 * <pre>{@code
 * Retriever r = new Retriever(new Embedder(bundle), index);
 * SearchResult res = r.search(image, SearchRequest.of(10, Scope.PREDICTED));
 * }</pre>
 */
public final class Retriever {

    private final Embedder embedder;
    private final LuceneIndex index;

    public Retriever(Embedder embedder, LuceneIndex index) throws MedsearchException {
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

    /** Embeds and searches one image. */
    public SearchResult search(MedicalImage query, SearchRequest request) throws IOException {
        long t0 = System.nanoTime();
        Embedding e = embedder.embed(query);
        long t1 = System.nanoTime();
        return search(e, request, t1 - t0);
    }

    /** Searches with an embedding computed elsewhere (batch evaluation). */
    public SearchResult search(Embedding e, SearchRequest request, long modelNanos) throws IOException {
        List<String> classes = embedder.bundle().classes();
        String predicted = e.predictedName(classes);
        SearchFilter f = request.filter();
        if (request.scope() == Scope.PREDICTED) {
            if (predicted == null) {
                throw new MedsearchException("the model has no classifier (a bare ImageNet backbone), so the"
                        + " predicted-class scope is unavailable: use --scope all");
            }
            f = f.withClasses(Set.of(predicted));
        }
        long t1 = System.nanoTime();
        LuceneIndex.SearchResults r = index.search(e.vector(), request.k(), f, request.mode());
        long t2 = System.nanoTime();
        return new SearchResult(predicted, e.confidence(), classes, e, r.hits(), modelNanos, t2 - t1, r.path());
    }
}

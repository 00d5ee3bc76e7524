package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.SearchFilter;
import org.medsearch.index.VectorStore;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
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
 * SearchService service = new SearchService(new TorchBackend(bundle), index);
 * SearchResult res = service.search(image, SearchRequest.of(10, Scope.PREDICTED));
 * }</pre>
 */
public final class SearchService {

    private final EmbeddingBackend backend;
    private final VectorStore index;

    /**
     * @param backend computes the query's embedding; the caller keeps owning it
     * @param index the images to search; the caller keeps owning it
     * @throws MedsearchException when the index was built with another model
     */
    public SearchService(EmbeddingBackend backend, VectorStore index) throws MedsearchException {
        String model = backend.fingerprint();
        String built = index.info().modelFingerprint();
        if (!model.equals(built)) {
            throw new MedsearchException("the index was built with model " + built + ", not with this one (" + model
                    + "): use the model the index was built with");
        }
        this.backend = backend;
        this.index = index;
    }

    /** The same index searched through another backend of the same model (the server's queue, say). */
    public SearchService withBackend(EmbeddingBackend other) throws MedsearchException {
        return new SearchService(other, index);
    }

    public EmbeddingBackend backend() {
        return backend;
    }

    /** The readers query images must be decoded with (the model's DICOM window). */
    public ImageReaders readers() {
        return backend.readers();
    }

    public VectorStore index() {
        return index;
    }

    public List<String> classes() {
        return backend.classes();
    }

    /** Images in the index (visible ones: committed, not deleted). */
    public int size() throws IOException {
        return index.size();
    }

    /** Visible images per search class. */
    public Map<String, Integer> countsPerClass() throws IOException {
        return index.countsPerClass();
    }

    /** The indexed image with this id, if any. */
    public Optional<IndexedImage> image(long id) throws IOException {
        return index.get(id);
    }

    /** The index's directory (the server keeps its uploads beside it). */
    public Path indexDirectory() {
        return Stores.directoryOf(index);
    }

    /**
     * Adds an image and commits, durably; if the commit fails, the image is taken out again so that
     * no later commit makes it visible. Writers must be serialised by the caller.
     *
     * @return its id
     */
    public long addDurably(IndexedImage img) throws IOException {
        long id = -1;
        try {
            id = index.add(img);
            index.commit();
            return id;
        } catch (IOException | RuntimeException e) {
            if (id >= 0) {
                try {
                    index.delete(id);
                } catch (IOException | RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
    }

    /**
     * Removes an image and commits, durably.
     *
     * @return what was removed, or empty when no image has this id
     */
    public Optional<IndexedImage> deleteDurably(long id) throws IOException {
        Optional<IndexedImage> img = index.get(id);
        if (img.isPresent()) {
            index.delete(id);
            index.commit();
        }
        return img;
    }

    /** Embeds one image (pre-processing and one forward pass) and searches with it. */
    public SearchResult search(MedicalImage query, SearchRequest request) throws IOException {
        long t0 = System.nanoTime();
        Embedding e = backend.embed(query);
        return search(e, request, System.nanoTime() - t0);
    }

    /**
     * Embeds one image already pre-processed with {@code backend().preprocessing()} (the server does
     * that under its decode gate) and searches with it.
     */
    public SearchResult search(float[] input, SearchRequest request) throws IOException {
        long t0 = System.nanoTime();
        Embedding e = backend.embed(input, 1).get(0);
        return search(e, request, System.nanoTime() - t0);
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
                return new SearchResult(
                        predicted,
                        e.confidence(),
                        classes,
                        e,
                        List.of(),
                        modelNanos,
                        0,
                        "none",
                        "the query is predicted as '" + predicted + "', which is not among the filter's classes "
                                + f.classes() + ": nothing to search (use the scope 'all' to search those classes)");
            }
            f = f.withClasses(allowed);
        }
        long t1 = System.nanoTime();
        VectorStore.SearchResults r = index.search(e.vector(), request.k(), f, request.mode());
        long t2 = System.nanoTime();
        return new SearchResult(predicted, e.confidence(), classes, e, r.hits(), modelNanos, t2 - t1, r.path(), null);
    }
}

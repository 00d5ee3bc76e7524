package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeSet;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.SearchFilter;
import org.medsearch.index.VectorStore;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.ModelManifest;
import org.medsearch.search.Feedback;
import org.medsearch.search.NeighbourVote;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.util.MedsearchException;

/**
 * The one way anyone searches (the command line, the server through its queue, the evaluation, the
 * demo, the benchmark): the paper's retrieval rule over an embedding backend and a vector store.
 * Classify the query, restrict the candidates to the indexed images of the predicted class (or
 * of the top N classes, or of every class: see {@link Scope}), rank by mean squared error between feature vectors, return the k nearest.
 *
 * <p>Contract: the model and the index must agree (same fingerprint), which the constructor checks.
 * A request without a scope gets the model's {@link #defaultScope() default}. A request's own class
 * filter is honoured under every scope: the candidates are the scope's classes (the predicted one,
 * the top N, ...) intersected with the filter's classes, and when that intersection is empty the
 * result has no hits and a {@link SearchResult#notice() notice} that says why. Every result says
 * which scope it used, which classes it searched, and how its hits vote ({@link NeighbourVote}).
 * Results are nearest first, ties broken by ascending id. Searches are thread-safe.
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

    /** Where the server keeps images uploaded into this index ({@link Stores#uploadsDirectory}). */
    public Path uploadsDirectory() {
        return Stores.uploadsDirectory(index);
    }

    /** The index's directory, or its Solr collection, as reports name it. */
    public String indexName() {
        return Stores.describe(index);
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
     * The scope of a request that names none: {@code auto} when the model has a calibrated threshold,
     * else {@code predicted} (the paper's rule); {@code all} for a model without a classifier.
     */
    public Scope defaultScope() {
        if (!backend.hasClassifier()) {
            return Scope.ALL;
        }
        return autoThreshold().isPresent() ? Scope.AUTO : Scope.PREDICTED;
    }

    /** The {@code auto} scope's threshold, from the model's manifest; empty for models trained without one. */
    public OptionalDouble autoThreshold() {
        ModelManifest m = backend.manifest();
        return m == null ? OptionalDouble.empty() : m.autoThreshold();
    }

    /**
     * The scope a request gets: {@code requested}, or the model's default when it is null.
     *
     * @throws MedsearchException when the model cannot serve it: a scope that needs a classifier with
     *     a bare backbone, or {@code auto} with a model that has no threshold
     */
    public Scope resolve(Scope requested) throws MedsearchException {
        Scope s = requested == null ? defaultScope() : requested;
        if (s.needsClassifier() && !backend.hasClassifier()) {
            String what = s.kind() == Scope.Kind.PREDICTED ? "predicted-class scope" : "scope '" + s + "'";
            throw new MedsearchException("the model has no classifier (a bare ImageNet backbone), so the " + what
                    + " is unavailable: use the scope 'all'");
        }
        if (s.kind() == Scope.Kind.AUTO && autoThreshold().isEmpty()) {
            throw new MedsearchException("the model has no threshold for the scope 'auto' (it was trained before"
                    + " medsearch calibrated one): retrain it, or use the scope 'predicted' or 'all'");
        }
        return s;
    }

    /**
     * Searches with an embedding computed elsewhere: a batch of a data set, or the server's queue.
     * The request's scope (or the model's default) picks the classes from the embedding's
     * probabilities; the request's class filter is intersected with them.
     *
     * @param modelNanos how long the embedding took, reported in the result
     * @throws MedsearchException when the model cannot serve the scope (see {@link #resolve})
     */
    public SearchResult search(Embedding e, SearchRequest request, long modelNanos) throws IOException {
        List<String> classes = classes();
        String predicted = e.predictedName(classes);
        Scope scope = resolve(request.scope());
        double threshold = scope.kind() == Scope.Kind.AUTO ? autoThreshold().getAsDouble() : Double.NaN;
        SearchFilter f = request.filter();
        List<String> chosen = scope.classes(e.probabilities(), classes, threshold);
        List<String> searched;
        if (chosen == null) {
            searched = f.classes() == null ? classes : inModelOrder(f.classes(), classes);
        } else {
            Set<String> allowed = new LinkedHashSet<>(chosen);
            if (f.classes() != null) {
                allowed.retainAll(f.classes());
            }
            if (allowed.isEmpty()) {
                String why = scope.kind() == Scope.Kind.PREDICTED || chosen.size() == 1
                        ? "the query is predicted as '" + predicted + "', which is not"
                        : "the scope '" + scope + "' picks the classes " + chosen + ", none of which is";
                return new SearchResult(
                        predicted,
                        e.confidence(),
                        classes,
                        e,
                        List.of(),
                        modelNanos,
                        0,
                        "none",
                        why + " among the filter's classes " + new TreeSet<>(f.classes())
                                + ": nothing to search (use the scope 'all' to search those classes)",
                        scope,
                        List.of(),
                        threshold,
                        NeighbourVote.NONE);
            }
            f = f.withClasses(allowed);
            searched = List.copyOf(allowed);
        }
        float[] query = e.vector();
        Feedback fb = request.feedback();
        if (!fb.isEmpty()) {
            // Rocchio: toward the hits the reader marked relevant, away from the others; the scope
            // widens to the relevant hits' classes (a reader who says "this one too" means it)
            List<float[]> rel = vectors(fb.relevant());
            List<float[]> irr = vectors(fb.irrelevant());
            query = fb.move(query, rel, irr);
            if (f.classes() != null && request.filter().classes() == null) {
                Set<String> widened = new LinkedHashSet<>(f.classes());
                for (long id : fb.relevant()) {
                    index.get(id).ifPresent(img -> widened.add(img.searchClass()));
                }
                f = f.withClasses(widened);
                searched = inModelOrder(widened, classes);
            }
        }
        long t1 = System.nanoTime();
        VectorStore.SearchResults r = index.search(query, request.k(), f, request.mode());
        long t2 = System.nanoTime();
        return new SearchResult(
                predicted,
                e.confidence(),
                classes,
                e,
                r.hits(),
                modelNanos,
                t2 - t1,
                r.path(),
                null,
                scope,
                searched,
                threshold,
                NeighbourVote.of(r.hits(), predicted));
    }

    /** The stored vectors of those of {@code ids} still indexed, in id order. */
    private List<float[]> vectors(Set<Long> ids) throws IOException {
        List<float[]> out = new ArrayList<>();
        for (long id : new TreeSet<>(ids)) {
            index.get(id).ifPresent(img -> out.add(img.vector()));
        }
        return out;
    }

    /** {@code names} in the model's class order, names the model does not know after them, sorted. */
    private static List<String> inModelOrder(Set<String> names, List<String> classes) {
        List<String> out = new ArrayList<>();
        for (String c : classes) {
            if (names.contains(c)) {
                out.add(c);
            }
        }
        new TreeSet<>(names).stream().filter(n -> !classes.contains(n)).forEach(out::add);
        return List.copyOf(out);
    }
}

package org.medsearch.model;

import java.util.List;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.Preprocessing;

/**
 * The inference engine behind search and indexing: pre-processed image tensors in, one
 * {@link Embedding} per image out (the 512-d feature vector and, for a model with a classifier, the
 * class probabilities). Training is not part of it; it stays on DJL's PyTorch engine
 * ({@link Trainer}). {@link TorchBackend} runs it on DJL's PyTorch engine; other runtimes implement
 * the same contract, so a caller cannot tell them apart except by {@link #name()}.
 *
 * <p>Contract:
 * <ul>
 *   <li><b>Input</b>: {@code n} images pre-processed by {@link #preprocessing()}, channels last, one
 *       after the other: {@code n * preprocessing().inputLength()} floats, as
 *       {@link Preprocessing#apply(MedicalImage, float[], int)} writes them (NHWC, shape
 *       {@code (n, size, size, 3)}). The array is read, never kept or written.</li>
 *   <li><b>Output</b>: {@code n} embeddings in input order; each vector has
 *       {@value ResNet18#FEATURE_DIM} floats; probabilities have one entry per class of
 *       {@link #classes()} and sum to 1, or are empty when {@link #hasClassifier()} is false.</li>
 *   <li><b>Batch size</b>: any {@code n >= 0} ({@code n == 0} returns an empty list without running
 *       the engine). There is no upper limit, but working memory grows linearly with {@code n}:
 *       callers bound it (the server's {@code InferenceQueue} batches up to its {@code maxBatch},
 *       indexing by its batch size).</li>
 *   <li><b>Determinism</b>: an image's embedding depends only on that image, not on the batch it
 *       came in or on the calls before it: the same input gives the same output within 1e-5 (absolute,
 *       per component) on one machine.</li>
 *   <li><b>Threads</b>: {@link #embed(float[], int)} may be called from several threads at once;
 *       each call holds its own working memory and frees it before returning. {@link #close()} must
 *       not overlap any other call, and nothing may be called after it.</li>
 *   <li><b>Ownership</b>: a backend built on a {@link ModelBundle} someone else loaded borrows it:
 *       the bundle must stay open until the backend is closed, and closing the backend leaves it
 *       open. A backend that loaded its model itself ({@link TorchBackend#load}) owns it and frees
 *       it on {@link #close()}.</li>
 * </ul>
 *
 * <pre>{@code
 * try (ModelBundle bundle = ModelBundle.load(Path.of("models/mednist"));
 *      EmbeddingBackend backend = new TorchBackend(bundle)) {
 *     Preprocessing prep = backend.preprocessing();
 *     ImageReaders readers = bundle.readers();
 *     float[] batch = new float[2 * prep.inputLength()];
 *     prep.apply(readers.read(Path.of("a.png")), batch, 0);
 *     prep.apply(readers.read(Path.of("b.png")), batch, prep.inputLength());
 *     List<Embedding> out = backend.embed(batch, 2);
 *     String label = out.get(0).predictedName(backend.classes()); // null without a classifier
 *     float[] vector = out.get(1).vector(); // 512 floats, for the index
 * }
 * }</pre>
 */
public interface EmbeddingBackend extends AutoCloseable {

    /** The runtime's short name, for reports and logs: {@code "torch"} for {@link TorchBackend}. */
    String name();

    /**
     * The manifest of the model this backend runs: its classes, pre-processing, weights and
     * fingerprint. For a bare backbone the class list is empty.
     */
    ModelManifest manifest();

    /** The transform every input must have gone through; {@code manifest().preprocessing()}. */
    Preprocessing preprocessing();

    /**
     * Embeds {@code n} pre-processed images.
     *
     * @param nhwc exactly {@code n * preprocessing().inputLength()} floats, channels last
     * @throws IllegalArgumentException if {@code n < 0} or {@code nhwc} has another length
     */
    List<Embedding> embed(float[] nhwc, int n);

    /**
     * The check every {@link #embed(float[], int)} makes first: returns {@code n}.
     *
     * @throws IllegalArgumentException if {@code n < 0} or {@code nhwc} is not {@code n} images of {@code prep}
     */
    static int checkBatch(Preprocessing prep, float[] nhwc, int n) {
        if (n < 0 || nhwc.length != (long) n * prep.inputLength()) {
            throw new IllegalArgumentException(
                    "expected " + n + " images of " + prep.inputLength() + " floats, got " + nhwc.length + " floats");
        }
        return n;
    }

    /** Embeds one decoded image: {@link #preprocessing()}, then {@link #embed(float[], int)}. */
    default Embedding embed(MedicalImage image) {
        return embed(preprocessing().apply(image), 1).get(0);
    }

    /** The readers this model's images must be decoded with (its DICOM window); see {@link ModelBundle#readers()}. */
    default ImageReaders readers() {
        return ModelBundle.readers(manifest());
    }

    /** The model's classes, in head order; empty for a bare backbone. */
    default List<String> classes() {
        return manifest().classes();
    }

    /** Whether embeddings carry class probabilities (false for a bare backbone). */
    default boolean hasClassifier() {
        return !classes().isEmpty();
    }

    /** The model's fingerprint (weights, pre-processing and classes), as indexes record it. */
    default String fingerprint() {
        return manifest().fingerprint();
    }

    /** Frees what this backend owns (see the ownership rule above); no checked exception. */
    @Override
    void close();
}

package org.medsearch.model;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JacksonException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.medsearch.dicom.DicomImageReader;
import org.medsearch.dicom.WindowPreset;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.Preprocessing;
import org.medsearch.util.Hashing;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;

/**
 * A trained model on disk and in memory: a directory holding {@code weights.safetensors} (a
 * torchvision state dict, loadable by PyTorch as is), {@code manifest.json} ({@link ModelManifest})
 * and {@code split.csv}.
 *
 * <p>Contract: {@link #load} checks the manifest's format, that the weights' SHA-256 matches the
 * manifest and that the tensors fit the class list; any mismatch is a {@link MedsearchException}
 * naming the directory. A bundle is complete only once its manifest exists: writers put the
 * manifest last, atomically.
 *
 * <pre>{@code
 * try (ModelBundle model = ModelBundle.load(Path.of("models/mednist"))) {
 *     Embedder embedder = new Embedder(model);
 * }
 * }</pre>
 */
public final class ModelBundle implements AutoCloseable {

    public static final String MANIFEST = "manifest.json";
    public static final String WEIGHTS = "weights.safetensors";
    public static final String SPLIT = "split.csv";

    private final Path dir;
    private final ModelManifest manifest;
    private final NDManager manager;
    private final ResNet18 network;

    private ModelBundle(Path dir, ModelManifest manifest, NDManager manager, ResNet18 network) {
        this.dir = dir;
        this.manifest = manifest;
        this.manager = manager;
        this.network = network;
    }

    /** Reads and checks a manifest without loading the weights. */
    public static ModelManifest readManifest(Path dir) throws MedsearchException {
        if (!Files.isDirectory(dir)) {
            throw new MedsearchException("model not found: " + dir + " (train one with 'medsearch train')");
        }
        Path mf = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(mf)) {
            String hint = Files.isDirectory(dir.resolve(Trainer.CHECKPOINT_DIR))
                    ? " (training was interrupted: continue it with 'medsearch train --resume')"
                    : "";
            throw new MedsearchException(dir + " is not a medsearch model: no " + MANIFEST + hint);
        }
        ModelManifest m;
        try {
            m = Json.read(mf, ModelManifest.class);
        } catch (JacksonException e) {
            throw new MedsearchException(mf + " is not a valid model manifest (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new MedsearchException("cannot read " + mf + ": " + e.getMessage());
        }
        if (m == null || !ModelManifest.FORMAT.equals(m.format())) {
            throw new MedsearchException(mf + ": unsupported model format '" + (m == null ? null : m.format())
                    + "' (this medsearch reads " + ModelManifest.FORMAT + ")");
        }
        if (!ModelManifest.ARCHITECTURE.equals(m.architecture())
                || m.classes() == null
                || m.classes().isEmpty()
                || m.preprocessing() == null
                || m.weightsFile() == null) {
            throw new MedsearchException(mf + ": incomplete model manifest");
        }
        return m;
    }

    /** Loads a bundle: manifest, weight check, network. */
    public static ModelBundle load(Path dir) throws MedsearchException {
        ModelManifest m = readManifest(dir);
        Map<String, Tensor> sd = readWeights(dir, m);
        Path weights = dir.resolve(m.weightsFile()).normalize();
        NDManager manager = Engines.newManager();
        try {
            ResNet18 net = ResNet18.fromStateDict(manager, sd, m.classes().size(), 0);
            if (sd.get("fc.weight") == null
                    || sd.get("fc.weight").shape()[0] != m.classes().size()) {
                throw new WeightsFormatException("the head has "
                        + (sd.get("fc.weight") == null
                                ? "no"
                                : sd.get("fc.weight").shape()[0]) + " outputs for "
                        + m.classes().size() + " classes");
            }
            return new ModelBundle(dir, m, manager, net);
        } catch (WeightsFormatException e) {
            manager.close();
            throw new MedsearchException(weights + ": " + e.getMessage());
        }
    }

    /**
     * The bundle's state dict, once its file is found inside {@code dir} and matches the manifest's
     * SHA-256; every way of running a bundle reads its weights through here.
     */
    public static Map<String, Tensor> readWeights(Path dir, ModelManifest m) throws MedsearchException {
        Path weights = dir.resolve(m.weightsFile()).normalize();
        if (!weights.startsWith(dir.normalize()) || !Files.isRegularFile(weights)) {
            throw new MedsearchException(dir + ": weights file '" + m.weightsFile() + "' is missing");
        }
        try {
            String sha = Hashing.sha256Hex(weights);
            if (!sha.equals(m.weightsSha256())) {
                throw mismatch(weights, sha, m.weightsSha256(), "the model is damaged or was modified");
            }
            return SafeTensors.read(weights);
        } catch (WeightsFormatException e) {
            throw new MedsearchException("cannot read " + weights + ": " + e.getMessage());
        } catch (IOException e) {
            throw new MedsearchException("cannot read " + weights + ": " + e.getMessage());
        }
    }

    /** "FILE does not match its manifest (SHA-256 abc..., expected def...): WHAT", in one line. */
    public static MedsearchException mismatch(Path file, String actual, String expected, String what) {
        String e = String.valueOf(expected);
        return new MedsearchException(file + " does not match its manifest (SHA-256 " + actual.substring(0, 12)
                + "..., expected " + e.substring(0, Math.min(12, e.length())) + "...): " + what);
    }

    /**
     * torchvision's ImageNet backbone without a classifier, for indexing archives that have no labels
     * (the zero-label baseline). Its embeddings carry no class probabilities, so the predicted-class
     * scope is unavailable with it.
     *
     * @param weights torchvision's ImageNet state dict (a verified {@code resnet18-f37072fd.pth})
     * @param imageSize the input side
     */
    public static ModelBundle imagenetBackbone(Path weights, int imageSize) throws MedsearchException {
        Map<String, Tensor> sd = imagenetWeights(weights);
        ModelManifest m = imagenetManifest(weights, imageSize);
        NDManager manager = Engines.newManager();
        try {
            return new ModelBundle(
                    weights.toAbsolutePath().getParent(), m, manager, ResNet18.fromStateDict(manager, sd, 1000, 0));
        } catch (WeightsFormatException e) {
            manager.close();
            throw new MedsearchException(weights + ": " + e.getMessage());
        }
    }

    /** The ImageNet backbone's state dict, read from torchvision's file. */
    public static Map<String, Tensor> imagenetWeights(Path weights) throws MedsearchException {
        try {
            return Weights.read(weights);
        } catch (IOException e) {
            throw new MedsearchException("cannot read " + weights + ": " + e.getMessage());
        }
    }

    /** The manifest that describes the ImageNet backbone at {@code imageSize} (no classes, no bundle). */
    public static ModelManifest imagenetManifest(Path weights, int imageSize) throws MedsearchException {
        String sha;
        try {
            sha = Hashing.sha256Hex(weights);
        } catch (IOException e) {
            throw new MedsearchException("cannot read " + weights + ": " + e.getMessage());
        }
        return bare(List.of(), imageSize, weights.getFileName().toString(), sha, sha);
    }

    /**
     * A freshly initialised network ({@link ResNet18#create}, seeded) with {@code classes} in its
     * head, for benchmarks: the cost of a forward pass does not depend on the weights. It has no
     * directory ({@link #directory()} is null) and no weights file; see {@link #untrainedManifest}.
     */
    public static ModelBundle untrained(List<String> classes, int imageSize, long seed) {
        ModelManifest m = untrainedManifest(classes, imageSize, seed);
        NDManager manager = Engines.newManager();
        try {
            return new ModelBundle(null, m, manager, ResNet18.create(manager, classes.size(), seed));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** The state dict of {@link #untrained}'s network for the same classes and seed (torchvision names). */
    public static Map<String, Tensor> untrainedWeights(int numClasses, long seed) {
        try (NDManager manager = Engines.newManager();
                ResNet18 net = ResNet18.create(manager, numClasses, seed)) {
            return net.stateDict();
        }
    }

    /**
     * The manifest of {@link #untrained}: ImageNet pre-processing at {@code imageSize}, no weights
     * file, and a fingerprint made from the seed (no index is ever built with it).
     */
    public static ModelManifest untrainedManifest(List<String> classes, int imageSize, long seed) {
        return bare(classes, imageSize, null, null, "untrained-seed-" + seed);
    }

    /** The manifest of a network that is not a trained bundle: ImageNet pre-processing, no provenance. */
    private static ModelManifest bare(
            List<String> classes, int imageSize, String weightsFile, String weightsSha, String fingerprintKey) {
        Preprocessing prep = Preprocessing.imagenet(imageSize);
        return new ModelManifest(
                ModelManifest.FORMAT,
                ModelManifest.ARCHITECTURE,
                List.copyOf(classes),
                ModelManifest.PreprocessingSpec.of(prep, null),
                weightsFile,
                weightsSha,
                fingerprint(fingerprintKey, prep, classes),
                null,
                null,
                null);
    }

    /** Whether the model classifies (false for a bare backbone). */
    public boolean hasClassifier() {
        return !manifest.classes().isEmpty();
    }

    /** The fingerprint of weights + pre-processing + classes, as recorded in manifests and indexes. */
    public static String fingerprint(String weightsSha256, Preprocessing p, List<String> classes) {
        String key = weightsSha256 + "|" + p + "|" + String.join("\u0000", classes);
        return "rn18-" + Hashing.sha256Hex(key).substring(0, 16);
    }

    /** The bundle's directory; null for {@link #untrained} networks. */
    public Path directory() {
        return dir;
    }

    public ModelManifest manifest() {
        return manifest;
    }

    public ResNet18 network() {
        return network;
    }

    public Preprocessing preprocessing() {
        return manifest.preprocessing().toPreprocessing();
    }

    /**
     * The readers this model's images must be decoded with: the standard ones, with the DICOM window
     * the model was trained with. Training, indexing, search and the server all use these.
     */
    public ImageReaders readers() {
        return readers(manifest);
    }

    /** The readers of the model {@code m} describes (see {@link #readers()}). */
    public static ImageReaders readers(ModelManifest m) {
        String w = m.preprocessing().dicomWindow();
        return DicomImageReader.withWindow(ImageReaders.standard(), w == null ? null : WindowPreset.parse(w));
    }

    public List<String> classes() {
        return manifest.classes();
    }

    public String fingerprint() {
        return manifest.fingerprint();
    }

    @Override
    public void close() {
        network.close();
        manager.close();
    }
}

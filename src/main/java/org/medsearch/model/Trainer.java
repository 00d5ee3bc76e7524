package org.medsearch.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.Sample;
import org.medsearch.dataset.SampleLoader;
import org.medsearch.dataset.Split;
import org.medsearch.dicom.DicomImageReader;
import org.medsearch.dicom.WindowPreset;
import org.medsearch.eval.ScopeCalibration;
import org.medsearch.image.BatchLoader;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.Preprocessing;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Hashing;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import org.medsearch.util.Version;

/**
 * Fine-tunes a {@link ResNet18} on a data set's training split and writes a {@link ModelBundle}.
 *
 * <p>The loop is the paper's: cross-entropy, SGD with momentum (PyTorch's update rule:
 * {@code buf = m*buf + g + wd*w; w -= lr*buf}), a step learning-rate decay, and a validation pass
 * after every epoch. The weights of the best validation epoch (highest accuracy, then lowest loss)
 * become the bundle's weights.
 *
 * <p>Reproducibility: initialisation, split and the shuffling of epoch {@code e} are functions of
 * the seed alone, so two runs with one seed on one machine see the same batches and the same
 * first-epoch loss. After every epoch the weights, the optimiser state and the metrics are saved
 * under {@value #CHECKPOINT_DIR}; {@code resume} continues from the last completed epoch exactly as
 * an uninterrupted run would have. The bundle's files appear only when training completes, the
 * manifest last.
 *
 * <pre>{@code
 * Trainer t = new Trainer(ImageReaders.standard(), ConsoleProgress.stderr(), System.out::println);
 * ModelManifest m = t.train(dataset, split, TrainingRecipe.paper().withImageSize(64).withEpochs(3),
 *         null, "scratch", Path.of("models/mednist"), false);
 * }</pre>
 */
public final class Trainer {

    public static final String CHECKPOINT_DIR = ".checkpoint";
    private static final String STATE = "state.json";
    private static final String STATE_FORMAT = "medsearch-checkpoint/2";
    /** Retrieval validation searches at most this many training images ... */
    static final int MAX_GALLERY = 5000;
    /** ... with at most this many validation images, so that it stays cheap on large data sets. */
    static final int MAX_QUERIES = 2000;
    /** The cut-off of validation mAP. */
    static final int MAP_K = 10;

    private ImageReaders readers;
    private final Progress progress;
    private final Consumer<String> log;
    private int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
    private WindowPreset dicomWindow;

    public Trainer(ImageReaders readers, Progress progress, Consumer<String> log) {
        this.readers = readers;
        this.progress = progress;
        this.log = log;
    }

    /**
     * Reads DICOM images with this VOI window preset (null: each file's own window) and records it in
     * the manifest, so that indexing and search read them the same way.
     */
    public Trainer optDicomWindow(WindowPreset preset) {
        this.dicomWindow = preset;
        this.readers = DicomImageReader.withWindow(readers, preset);
        return this;
    }

    /** Threads that decode images ahead of the network (default: one per core). */
    public Trainer optWorkers(int n) {
        this.workers = Math.max(1, n);
        return this;
    }

    /** What survives between epochs, for {@code --resume}. */
    record CheckpointState(
            String format,
            int epochsDone,
            TrainingRecipe recipe,
            String dataSha256,
            String splitSha256,
            String init,
            List<ModelManifest.EpochMetrics> epochs,
            Integer bestEpoch,
            double bestScore,
            double bestValLoss,
            ModelManifest.RetrievalCalibration bestRetrieval,
            double seconds,
            String weights,
            String momentum,
            double velocityLr) {}

    /**
     * Trains and writes the bundle into {@code out}.
     *
     * @param init a torchvision state dict to start from (its head is replaced when the class count
     *     differs), or null for torchvision's random initialisation
     * @param initName how {@code init} is recorded in the manifest ("scratch", a file name and hash)
     * @param resume continue the interrupted run in {@code out}
     */
    public ModelManifest train(
            Dataset ds,
            Split split,
            TrainingRecipe recipe,
            Map<String, Tensor> init,
            String initName,
            Path out,
            boolean resume)
            throws IOException {
        List<String> classes = ds.classes();
        if (classes.size() < 2) {
            throw new MedsearchException("training needs at least 2 classes, found " + classes.size()
                    + (classes.isEmpty() ? "" : " (" + classes.get(0) + ")"));
        }
        List<Sample> train = split.samples(ds, Split.Part.TRAIN);
        List<Sample> val = split.samples(ds, Split.Part.VAL);
        if (train.size() < 2) {
            throw new MedsearchException("the training split has " + train.size() + " images; at least 2 are needed");
        }
        if (val.isEmpty()) {
            // the best epoch is chosen by validation accuracy, which would be NaN
            throw new MedsearchException("the validation split has no images; validation needs at least one"
                    + " (use more images or a split with a validation part)");
        }
        if (recipe.metricLossWeight() > 0 && recipe.fineTune() == FineTune.HEAD) {
            throw new MedsearchException(
                    "a metric loss needs a backbone that trains; it does nothing to a linear probe");
        }
        float[] classWeights = classWeights(train, classes, recipe.classBalanced());
        Path ckpt = out.resolve(CHECKPOINT_DIR);
        Preprocessing prep = Preprocessing.imagenet(recipe.imageSize());
        String dataSha = ds.contentHash();
        String splitSha = split.hash();
        CheckpointState state = prepareOutput(out, ckpt, resume, recipe, dataSha, splitSha, initName);

        Engines.configure();
        try (NDManager manager = Engines.newManager()) {
            ResNet18 net;
            Map<String, Tensor> savedVelocity = null;
            List<ModelManifest.EpochMetrics> history = new ArrayList<>();
            int startEpoch = 0;
            Integer bestEpoch = null;
            // the kept epoch's score: validation mAP@10 when stopping early on it, else accuracy
            double bestScore = -1;
            double bestLoss = Double.POSITIVE_INFINITY;
            ModelManifest.RetrievalCalibration bestRetrieval = null;
            double seconds = 0;
            if (state != null) {
                net = ResNet18.fromStateDict(
                        manager, SafeTensors.read(ckpt.resolve(state.weights())), classes.size(), 0);
                savedVelocity = SafeTensors.read(ckpt.resolve(state.momentum()));
                startEpoch = state.epochsDone();
                history.addAll(state.epochs());
                bestEpoch = state.bestEpoch();
                bestScore = state.bestScore();
                bestLoss = state.bestValLoss();
                bestRetrieval = state.bestRetrieval();
                seconds = state.seconds();
                log.accept("Resuming after epoch " + startEpoch + " of " + recipe.epochs());
            } else {
                net = init == null
                        ? ResNet18.create(manager, classes.size(), recipe.seed())
                        : ResNet18.fromStateDict(manager, init, classes.size(), recipe.seed());
            }
            Sgd sgd = new Sgd(net, recipe, state == null ? recipe.learningRateAt(0) : state.velocityLr());
            if (savedVelocity != null) {
                sgd.restore(savedVelocity);
            }
            // a resumed run that had already stalled stops at once
            for (int epoch = startEpoch; epoch < recipe.epochs() && !stalled(recipe, epoch, bestEpoch); epoch++) {
                double lr = recipe.learningRateAt(epoch);
                long t0 = System.nanoTime();
                double[] trainStats =
                        trainEpoch(net, sgd, train, classes, classWeights, prep, recipe, epoch, Long.MAX_VALUE);
                double epochSeconds = (System.nanoTime() - t0) / 1e9;
                double[] valStats;
                ModelManifest.RetrievalCalibration retrieval = null;
                if (recipe.earlyStopping()) {
                    Measured m = measure(net, train, val, classes, prep, recipe, "Validating " + (epoch + 1));
                    valStats = new double[] {m.valLoss(), m.valAccuracy()};
                    retrieval = m.calibration();
                } else {
                    valStats = validate(net, val, classes, prep, recipe.batchSize(), "Validating " + (epoch + 1));
                }
                seconds += (System.nanoTime() - t0) / 1e9;
                ModelManifest.EpochMetrics em = new ModelManifest.EpochMetrics(
                        epoch + 1,
                        lr,
                        trainStats[0],
                        trainStats[1],
                        valStats[0],
                        valStats[1],
                        epochSeconds,
                        trainStats[2] / epochSeconds,
                        retrieval == null ? null : retrieval.mapAll());
                history.add(em);
                double score = retrieval == null ? valStats[1] : retrieval.mapAll();
                boolean better = score > bestScore || (score == bestScore && valStats[0] < bestLoss);
                Files.createDirectories(ckpt);
                String wName = String.format("epoch-%03d.safetensors", epoch + 1);
                String mName = String.format("momentum-%03d.safetensors", epoch + 1);
                Map<String, Tensor> sd = net.stateDict();
                SafeTensors.write(ckpt.resolve(wName), sd, Map.of("format", "pt"));
                SafeTensors.write(ckpt.resolve(mName), sgd.velocity(), Map.of());
                if (better) {
                    bestEpoch = epoch + 1;
                    bestScore = score;
                    bestLoss = valStats[0];
                    bestRetrieval = retrieval;
                    SafeTensors.write(ckpt.resolve("best.safetensors"), sd, Map.of("format", "pt"));
                }
                String oldW = state == null ? null : state.weights();
                String oldM = state == null ? null : state.momentum();
                state = new CheckpointState(
                        STATE_FORMAT,
                        epoch + 1,
                        recipe,
                        dataSha,
                        splitSha,
                        initName,
                        List.copyOf(history),
                        bestEpoch,
                        bestScore,
                        bestLoss,
                        bestRetrieval,
                        seconds,
                        wName,
                        mName,
                        sgd.learningRate());
                Json.write(ckpt.resolve(STATE), state);
                if (oldW != null && !oldW.equals(wName)) {
                    Files.deleteIfExists(ckpt.resolve(oldW));
                    Files.deleteIfExists(ckpt.resolve(oldM));
                }
                log.accept(String.format(
                        "epoch %d/%d  lr %.2g  train loss %.4f acc %.4f  val loss %.4f acc %.4f%s  %.0f img/s%s",
                        epoch + 1,
                        recipe.epochs(),
                        lr,
                        trainStats[0],
                        trainStats[1],
                        valStats[0],
                        valStats[1],
                        retrieval == null ? "" : String.format(" mAP@%d %.4f", MAP_K, retrieval.mapAll()),
                        em.imagesPerSecond(),
                        better ? "  (best so far)" : ""));
                if (stalled(recipe, epoch + 1, bestEpoch)) {
                    log.accept(String.format(
                            "stopping early: no better validation mAP@%d for %d epochs (best: epoch %d, %.4f)",
                            MAP_K, recipe.earlyStopPatience(), bestEpoch, bestScore));
                    break;
                }
            }
            if (bestRetrieval == null) {
                // the kept weights were chosen by accuracy: measure retrieval with them once
                try (NDManager m = Engines.newManager();
                        ResNet18 best = ResNet18.fromStateDict(
                                m, SafeTensors.read(ckpt.resolve("best.safetensors")), classes.size(), 0)) {
                    bestRetrieval = measure(best, train, val, classes, prep, recipe, "Calibrating scopes")
                            .calibration();
                }
            }
            log.accept(String.format(
                    "validation mAP@%d: predicted %.4f, all %.4f, auto %.4f (threshold %s, %d queries)",
                    MAP_K,
                    bestRetrieval.mapPredicted(),
                    bestRetrieval.mapAll(),
                    bestRetrieval.mapAuto(),
                    bestRetrieval.thresholdText(),
                    bestRetrieval.queries()));
            return finish(
                    ds, split, recipe, prep, initName, out, ckpt, history, bestEpoch, bestRetrieval, seconds, classes);
        }
    }

    /** Whether early stopping ends training after {@code epochsDone} epochs. */
    private static boolean stalled(TrainingRecipe recipe, int epochsDone, Integer bestEpoch) {
        return recipe.earlyStopping() && bestEpoch != null && epochsDone - bestEpoch >= recipe.earlyStopPatience();
    }

    private CheckpointState prepareOutput(
            Path out,
            Path ckpt,
            boolean resume,
            TrainingRecipe recipe,
            String dataSha,
            String splitSha,
            String initName)
            throws IOException {
        if (resume) {
            Path st = ckpt.resolve(STATE);
            if (!Files.isRegularFile(st)) {
                if (Files.isRegularFile(out.resolve(ModelBundle.MANIFEST))) {
                    throw new MedsearchException(out + " is already a finished model; nothing to resume");
                }
                throw new MedsearchException("nothing to resume in " + out + " (no completed epoch was saved)");
            }
            CheckpointState s = Json.read(st, CheckpointState.class);
            if (!STATE_FORMAT.equals(s.format())) {
                throw new MedsearchException(st + ": unknown checkpoint format");
            }
            if (!s.recipe().equals(recipe)) {
                throw new MedsearchException("--resume needs the interrupted run's settings: " + s.recipe());
            }
            if (!s.dataSha256().equals(dataSha) || !s.splitSha256().equals(splitSha)) {
                throw new MedsearchException(
                        "the data set changed since the interrupted run; start a new run instead of --resume");
            }
            if (!String.valueOf(s.init()).equals(String.valueOf(initName))) {
                throw new MedsearchException("--resume needs the interrupted run's --init (" + s.init() + ")");
            }
            return s;
        }
        if (Files.isRegularFile(ckpt.resolve(STATE))) {
            throw new MedsearchException("an interrupted training run is in " + out
                    + ": add --resume to continue it, or remove the folder to start over");
        }
        if (Files.exists(out.resolve(ModelBundle.MANIFEST))) {
            throw new MedsearchException(out + " already holds a model; choose another --out or remove it");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new MedsearchException(out + " exists and is not a directory");
        }
        Files.createDirectories(out);
        return null;
    }

    /**
     * Training throughput in images per second: the real training step (decoding from disk, forward,
     * backward, update) on {@code samples} for about {@code seconds}, after one warm-up batch. For
     * {@code medsearch bench}.
     */
    public double benchmark(List<Sample> samples, List<String> classes, TrainingRecipe recipe, double seconds) {
        Preprocessing prep = Preprocessing.imagenet(recipe.imageSize());
        try (NDManager manager = Engines.newManager();
                ResNet18 net = ResNet18.create(manager, classes.size(), recipe.seed())) {
            Sgd sgd = new Sgd(net, recipe, recipe.learningRate());
            float[] weights = classWeights(samples, classes, false);
            trainEpoch(
                    net,
                    sgd,
                    samples.subList(0, Math.min(samples.size(), recipe.batchSize())),
                    classes,
                    weights,
                    prep,
                    recipe,
                    0,
                    Long.MAX_VALUE);
            long t0 = System.nanoTime();
            double[] stats =
                    trainEpoch(net, sgd, samples, classes, weights, prep, recipe, 1, t0 + (long) (seconds * 1e9));
            return stats[2] / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private double[] trainEpoch(
            ResNet18 net,
            Sgd sgd,
            List<Sample> train,
            List<String> classes,
            float[] classWeights,
            Preprocessing prep,
            TrainingRecipe recipe,
            int epoch,
            long deadline) {
        List<Sample> order = new ArrayList<>(train);
        Collections.shuffle(order, new Random(recipe.seed() + epoch));
        int[] labels = order.stream().mapToInt(s -> classes.indexOf(s.label())).toArray();
        double lossSum = 0;
        long correct = 0;
        long seen = 0;
        long started = System.nanoTime();
        int batches = (order.size() + recipe.batchSize() - 1) / recipe.batchSize();
        int batchIndex = 0;
        FineTune ft = recipe.fineTune();
        try (BatchLoader loader =
                        new BatchLoader(readers, prep, SampleLoader.sources(order), recipe.batchSize(), workers);
                Progress.Task task =
                        progress.start(String.format("Epoch %d/%d", epoch + 1, recipe.epochs()), order.size(), "img")) {
            if (recipe.augmentation() != null) {
                loader.optAugmentation(recipe.augmentation(), recipe.seed() * 1_000_003L + epoch);
            }
            int c = classes.size();
            double eps = recipe.labelSmoothing();
            for (BatchLoader.Batch b : loader) {
                if (System.nanoTime() > deadline) {
                    break;
                }
                double lr = recipe.learningRateAt(epoch, (double) batchIndex++ / batches);
                sgd.setLearningRate(lr);
                reportFailures(b, order);
                int n = b.size();
                if (n < 2) {
                    // BatchNorm cannot normalise a batch of one; the image is seen in the next epoch
                    task.step(b.indices().length + b.failures().size());
                    continue;
                }
                int[] y = new int[n];
                for (int i = 0; i < n; i++) {
                    y[i] = labels[b.indices()[i]];
                }
                float[] logits;
                float loss;
                try (NDManager step = Engines.newManager()) {
                    NDArray x = Engines.input(step, b.data(), n, prep);
                    // smoothed one-hot targets, each row scaled by its class's weight
                    float[] t = new float[n * c];
                    for (int i = 0; i < n; i++) {
                        for (int k = 0; k < c; k++) {
                            t[i * c + k] = (float) (classWeights[y[i]] * (eps / c + (k == y[i] ? 1 - eps : 0)));
                        }
                    }
                    NDArray target = step.create(t, new ai.djl.ndarray.types.Shape(n, c));
                    try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                        // a linear probe needs no graph through the frozen backbone: its features come from
                        // the (much cheaper) inference pass, which equals the frozen training pass exactly
                        NDArray out;
                        NDArray features = null;
                        if (ft == FineTune.HEAD) {
                            out = Linear.linear(
                                            net.forward(x, false).features(),
                                            net.parameters().get("fc.weight"),
                                            net.parameters().get("fc.bias"))
                                    .singletonOrThrow();
                        } else {
                            ResNet18.Output o = net.forward(x, ft.frozen());
                            out = o.logits();
                            features = o.features();
                        }
                        NDArray l = out.logSoftmax(1)
                                .mul(target)
                                .sum(new int[] {1})
                                .neg()
                                .mean();
                        if (recipe.metricLossWeight() > 0) {
                            l = l.add(MetricLoss.supervisedContrastive(features, y, recipe.metricTemperature())
                                    .mul((float) recipe.metricLossWeight()));
                        }
                        // the learning rate rides on the loss, so the update below needs no extra pass
                        // over the weights: buf stores lr*buf of PyTorch's rule (rescaled when lr changes)
                        gc.backward(l.mul((float) lr));
                        loss = l.getFloat();
                        logits = out.toFloatArray();
                    }
                    sgd.step();
                }
                for (int i = 0; i < n; i++) {
                    if (argmax(logits, i * c, c) == y[i]) {
                        correct++;
                    }
                }
                lossSum += loss * n;
                seen += n;
                task.step(n + b.failures().size());
                double rate = seen / ((System.nanoTime() - started) / 1e9);
                task.extra(String.format(
                        "loss %.4f acc %.2f%% %.0f img/s lr %.2g",
                        lossSum / seen, 100.0 * correct / seen, rate, sgd.learningRate()));
            }
        }
        if (ft != FineTune.HEAD) {
            net.weightsChanged();
        }
        return new double[] {lossSum / Math.max(1, seen), (double) correct / Math.max(1, seen), seen};
    }

    /**
     * SGD with momentum, PyTorch's rule: {@code buf = m*buf + g + wd*w; w -= lr*buf}, with a per-group
     * learning rate (backbone and head).
     *
     * <p>Two tricks spare a pass over the weights per step. The learning rate rides on the loss, so
     * backward yields {@code lr*g}. And each parameter's gradient buffer is its momentum buffer:
     * instead of zeroing it after the update, the step scales it by {@code m}, and the next backward
     * adds {@code lr*g} into it in place (autograd accumulates into an existing gradient), which is
     * exactly {@code lr*buf} of PyTorch's rule. A step is then two kernels per parameter
     * ({@code w -= f*u; u *= m}) where the textbook update needs five.
     */
    static final class Sgd {
        private final ResNet18 net;
        private final List<String> names = new ArrayList<>();
        private final Map<String, NDArray> buffers = new LinkedHashMap<>();
        private final Map<String, Float> factor = new LinkedHashMap<>();
        private final float momentum;
        private final double weightDecay;
        private double lr;

        /** Marks the trainable parameters; the frozen ones keep {@code requiresGradient == false}. */
        Sgd(ResNet18 net, TrainingRecipe recipe, double lr) {
            this.net = net;
            this.momentum = (float) recipe.momentum();
            this.weightDecay = recipe.weightDecay();
            this.lr = lr;
            for (String n : net.trainableNames()) {
                if (!recipe.fineTune().trains(n)) {
                    continue;
                }
                net.parameters().get(n).setRequiresGradient(true);
                names.add(n);
                factor.put(n, n.startsWith("fc.") ? 1f : (float) recipe.backboneLrFactor());
            }
        }

        /** The learning rate the buffers are scaled to. */
        double learningRate() {
            return lr;
        }

        void setLearningRate(double newLr) {
            if (newLr != lr) {
                float f = (float) (newLr / lr);
                buffers.values().forEach(u -> u.muli(f));
                lr = newLr;
            }
        }

        /** The update, after a backward pass of {@code lr * loss}. */
        void step() {
            boolean grad = TorchOps.setGradMode(false);
            try {
                for (String name : names) {
                    NDArray w = net.parameters().get(name);
                    NDArray u = buffer(name);
                    if (weightDecay > 0) {
                        try (NDArray d = w.mul((float) (lr * weightDecay))) {
                            u.addi(d);
                        }
                    }
                    float f = factor.get(name);
                    if (f == 1f) {
                        w.subi(u);
                    } else {
                        try (NDArray scaled = u.mul(f)) {
                            w.subi(scaled);
                        }
                    }
                    u.muli(momentum);
                }
            } finally {
                TorchOps.setGradMode(grad);
            }
        }

        /** The gradient buffer of a parameter, which exists once a backward pass has run. */
        private NDArray buffer(String name) {
            return buffers.computeIfAbsent(name, n -> net.parameters().get(n).getGradient());
        }

        /** The momentum state (buffers as the next backward will find them). */
        Map<String, Tensor> velocity() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            for (String n : names) {
                NDArray u = buffers.get(n);
                long[] shape = net.parameters().get(n).getShape().getShape();
                m.put(
                        n,
                        u == null
                                ? Tensor.ofFloats(shape, new float[Math.toIntExact(Tensor.elementCount(shape))])
                                : Tensor.ofFloats(shape, u.toFloatArray()));
            }
            return m;
        }

        /** Puts saved momentum state back into the gradient buffers (creating them with a zero gradient). */
        void restore(Map<String, Tensor> saved) {
            List<NDArray> temporaries = new ArrayList<>();
            try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray zero = null;
                for (String n : names) {
                    NDArray sum = net.parameters().get(n).sum();
                    NDArray t = sum.mul(0f);
                    temporaries.add(sum);
                    temporaries.add(t);
                    zero = zero == null ? t : zero.add(t);
                    temporaries.add(zero);
                }
                gc.backward(zero);
            } finally {
                temporaries.forEach(NDArray::close);
            }
            boolean grad = TorchOps.setGradMode(false);
            try {
                for (String n : names) {
                    Tensor t = saved.get(n);
                    if (t != null) {
                        NDArray u = buffer(n);
                        NDArray w = net.parameters().get(n);
                        try (NDArray v = like(w.getManager(), w, t)) {
                            u.addi(v);
                        }
                    }
                }
            } finally {
                TorchOps.setGradMode(grad);
            }
        }
    }

    /** Mean cross-entropy and accuracy over a split, in inference mode. */
    double[] validate(
            ResNet18 net, List<Sample> samples, List<String> classes, Preprocessing prep, int batch, String title) {
        return lossAndAccuracy(embed(net, samples, classes, prep, batch, title));
    }

    /** Mean cross-entropy and accuracy of embedded labelled images. */
    private static double[] lossAndAccuracy(Embedded e) {
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < e.labels().length; i++) {
            float[] lp = e.logProbabilities()[i];
            loss -= lp[e.labels()[i]];
            if (argmax(lp, 0, lp.length) == e.labels()[i]) {
                correct++;
            }
        }
        int n = Math.max(1, e.labels().length);
        return new double[] {loss / n, (double) correct / n};
    }

    /**
     * Each class's loss weight: {@code n / (classes * n_class)} when balancing (a class with half the
     * average count weighs 2), else 1. A class without training images gets 1; it never occurs.
     */
    static float[] classWeights(List<Sample> train, List<String> classes, boolean balanced) {
        float[] w = new float[classes.size()];
        java.util.Arrays.fill(w, 1f);
        if (balanced) {
            int[] count = new int[classes.size()];
            for (Sample s : train) {
                count[classes.indexOf(s.label())]++;
            }
            for (int k = 0; k < w.length; k++) {
                if (count[k] > 0) {
                    w[k] = (float) train.size() / (classes.size() * count[k]);
                }
            }
        }
        return w;
    }

    /** Validation loss and accuracy, and retrieval of the validation images among the training images. */
    record Measured(double valLoss, double valAccuracy, ModelManifest.RetrievalCalibration calibration) {}

    /**
     * Embeds (a seeded sample of at most {@value #MAX_GALLERY}) training images and (at most
     * {@value #MAX_QUERIES}) validation images in inference mode, without augmentation, and measures
     * validation loss and accuracy on those queries and mAP@{@value #MAP_K} under each scope.
     */
    Measured measure(
            ResNet18 net,
            List<Sample> train,
            List<Sample> val,
            List<String> classes,
            Preprocessing prep,
            TrainingRecipe recipe,
            String title) {
        Embedded g = embed(net, sample(train, MAX_GALLERY, recipe.seed()), classes, prep, recipe.batchSize(), title);
        Embedded q = embed(net, sample(val, MAX_QUERIES, recipe.seed()), classes, prep, recipe.batchSize(), title);
        float[][] probs = new float[q.labels().length][];
        for (int i = 0; i < probs.length; i++) {
            float[] lp = q.logProbabilities()[i];
            probs[i] = new float[lp.length];
            for (int k = 0; k < lp.length; k++) {
                probs[i][k] = (float) Math.exp(lp[k]);
            }
        }
        ScopeCalibration.Result r =
                ScopeCalibration.measure(g.features(), g.labels(), q.features(), q.labels(), probs, MAP_K);
        double[] lossAcc = lossAndAccuracy(q);
        return new Measured(
                lossAcc[0],
                lossAcc[1],
                new ModelManifest.RetrievalCalibration(
                        MAP_K, r.queries(), r.threshold(), r.mapPredicted(), r.mapAll(), r.mapAuto()));
    }

    /** Up to {@code max} of {@code samples}, a seeded random choice when there are more. */
    private static List<Sample> sample(List<Sample> samples, int max, long seed) {
        if (samples.size() <= max) {
            return samples;
        }
        List<Sample> copy = new ArrayList<>(samples);
        Collections.shuffle(copy, new Random(seed));
        return copy.subList(0, max);
    }

    /** Features, log-probabilities and labels of the images that could be read. */
    private record Embedded(float[][] features, float[][] logProbabilities, int[] labels) {}

    private Embedded embed(
            ResNet18 net, List<Sample> samples, List<String> classes, Preprocessing prep, int batch, String title) {
        boolean grad = TorchOps.setGradMode(false);
        List<float[]> feats = new ArrayList<>();
        List<float[]> logp = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        int c = classes.size();
        try (BatchLoader loader =
                        new BatchLoader(readers, prep, SampleLoader.sources(samples), Math.max(batch, 64), workers);
                Progress.Task task = progress.start(title, samples.size(), "img")) {
            loader.forEach(task, f -> reportFailure(samples, f), b -> {
                int n = b.size();
                try (NDManager m = Engines.newManager()) {
                    ResNet18.Output o = net.forward(Engines.input(m, b.data(), n, prep), false);
                    float[] f = o.features().toFloatArray();
                    float[] lp = o.logits().logSoftmax(1).toFloatArray();
                    int d = f.length / n;
                    for (int i = 0; i < n; i++) {
                        feats.add(java.util.Arrays.copyOfRange(f, i * d, (i + 1) * d));
                        logp.add(java.util.Arrays.copyOfRange(lp, i * c, (i + 1) * c));
                        labels.add(classes.indexOf(samples.get(b.indices()[i]).label()));
                    }
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e); // the work above does no I/O of its own
        } finally {
            TorchOps.setGradMode(grad);
        }
        return new Embedded(
                feats.toArray(float[][]::new),
                logp.toArray(float[][]::new),
                labels.stream().mapToInt(Integer::intValue).toArray());
    }

    private void reportFailures(BatchLoader.Batch b, List<Sample> samples) {
        for (BatchLoader.Failure f : b.failures()) {
            reportFailure(samples, f);
        }
    }

    private void reportFailure(List<Sample> samples, BatchLoader.Failure f) {
        log.accept("skipped " + samples.get(f.index()).relativePath() + ": " + f.reason());
    }

    static int argmax(float[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[from + i] > v[from + best]) {
                best = i;
            }
        }
        return best;
    }

    private ModelManifest finish(
            Dataset ds,
            Split split,
            TrainingRecipe recipe,
            Preprocessing prep,
            String initName,
            Path out,
            Path ckpt,
            List<ModelManifest.EpochMetrics> history,
            Integer bestEpoch,
            ModelManifest.RetrievalCalibration retrieval,
            double seconds,
            List<String> classes)
            throws IOException {
        Path weights = out.resolve(ModelBundle.WEIGHTS);
        FileUtil.writeAtomically(weights, w -> Files.copy(ckpt.resolve("best.safetensors"), w));
        split.write(out.resolve(ModelBundle.SPLIT));
        String weightsSha = Hashing.sha256Hex(weights);
        Map<String, String> versions = new LinkedHashMap<>();
        versions.put("medsearch", Version.current());
        versions.put("djl", Engines.djlVersion());
        versions.put("pytorch", Engines.pytorchVersion());
        versions.put("java", System.getProperty("java.version"));
        versions.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        Map<String, Integer> counts = new LinkedHashMap<>();
        split.counts().forEach((p, c) -> counts.put(p.key(), c));
        ModelManifest m = new ModelManifest(
                ModelManifest.FORMAT,
                ModelManifest.ARCHITECTURE,
                classes,
                ModelManifest.PreprocessingSpec.of(prep, dicomWindow == null ? null : dicomWindow.label()),
                ModelBundle.WEIGHTS,
                weightsSha,
                ModelBundle.fingerprint(weightsSha, prep, classes),
                new ModelManifest.Provenance(
                        new ModelManifest.DataInfo(
                                ds.root().toAbsolutePath().toString(),
                                ds.contentHash(),
                                ds.size(),
                                ds.countsPerClass(),
                                ds.report().skipped().size()),
                        new ModelManifest.SplitInfo(
                                ModelBundle.SPLIT,
                                split.hash(),
                                split.seed(),
                                split.ratios().toString(),
                                counts,
                                split.duplicateGroups(),
                                split.duplicateImages(),
                                split.patientGroups()),
                        recipe,
                        initName,
                        history,
                        bestEpoch,
                        seconds,
                        Instant.now().toString(),
                        versions),
                retrieval,
                null);
        Json.write(out.resolve(ModelBundle.MANIFEST), m);
        FileUtil.deleteTree(ckpt);
        return m;
    }

    private static NDArray like(NDManager manager, NDArray param, Tensor t) {
        long[] shape = param.getShape().getShape();
        float[] v = t.toFloatArray();
        return shape.length == 4 ? ResNet18.channelsLast(manager, v, shape) : manager.create(v, param.getShape());
    }
}

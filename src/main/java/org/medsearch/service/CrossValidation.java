package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.eval.CrossValidationReport;
import org.medsearch.eval.CrossValidationWriter;
import org.medsearch.eval.EvaluationReport;
import org.medsearch.eval.ReportWriter;
import org.medsearch.index.VectorFormat;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.InferenceRuntime;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.Trainer;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * k-fold cross-validation of a training recipe: the data set is scanned once and split into k folds
 * by the rules of {@code train} (stratified by class; byte-identical images, patients and volumes
 * kept together; see {@link Split#folds}); for each fold a model is trained on the other folds
 * (part of them validating), the training part is indexed, and the fold is evaluated as
 * {@code evaluate} does. The result is one report with every figure per fold and as mean +/-
 * standard deviation.
 *
 * <p>Layout of the output: {@code fold-N/model} (a complete bundle), {@code fold-N/index},
 * {@code fold-N/evaluation} (the fold's {@code evaluate} report), {@code fold-N/fold.json}, and
 * {@code cv.json} + {@code cv.html}. A run that stops part-way continues where it stopped when
 * started again with the same settings: finished folds are read back, a fold's interrupted training
 * resumes from its last epoch.
 *
 * <pre>{@code
 * CrossValidationReport r = CrossValidation.builder().setData(Path.of("busi")).setOutput(Path.of("cv"))
 *         .setTraining(TrainingJob.builder().setRecipe(TrainingRecipe.strong().withImageSize(128)))
 *         .optFolds(5).build().run();
 * }</pre>
 */
public final class CrossValidation {

    private final Path data;
    private final Path output;
    private final TrainingJob.Builder training;
    private final TrainingRecipe recipe;
    private final int folds;
    private final double valShare;
    private final Progress progress;
    private final Consumer<String> log;

    private CrossValidation(Builder b) {
        this.data = Objects.requireNonNull(b.data, "data");
        this.output = Objects.requireNonNull(b.output, "output");
        this.training = Objects.requireNonNull(b.training, "training");
        this.recipe = Objects.requireNonNull(training.recipe(), "the training's recipe");
        this.folds = b.folds;
        this.valShare = b.valShare != null ? b.valShare : SplitRatios.DEFAULT.val() / (1 - 1.0 / Math.max(2, folds));
        this.progress = b.progress;
        this.log = b.log;
        if (folds < 2) {
            throw new IllegalArgumentException("cross-validation needs at least 2 folds, got " + folds);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Runs every fold (or reads back those already done) and writes the report; returns it. */
    public CrossValidationReport run() throws IOException {
        long t0 = System.nanoTime();
        Files.createDirectories(output);
        TrainingJob scanJob = training.setData(data).setOutput(output).build();
        Dataset ds = scanJob.scan();
        List<Split> splits = Split.folds(ds, folds, valShare, recipe.seed());
        for (Split s : splits) {
            // refuse a fold it cannot use before hours of training
            TrainingJob.requireImages(s, s.ratios(), Split.Part.TRAIN, Split.Part.VAL, Split.Part.TEST);
        }
        List<CrossValidationReport.Fold> done = new ArrayList<>();
        ModelManifest first = null;
        try (Progress.Task all = progress.start("Cross-validation", (long) folds * (recipe.epochs() + 1), "steps")) {
            for (int f = 0; f < folds; f++) {
                Path dir = output.resolve("fold-" + (f + 1));
                Map<Split.Part, Integer> c = splits.get(f).counts();
                log.accept(String.format(
                        "Fold %d/%d: train %d, val %d, test %d",
                        f + 1, folds, c.get(Split.Part.TRAIN), c.get(Split.Part.VAL), c.get(Split.Part.TEST)));
                CrossValidationReport.Fold fold = fold(ds, splits.get(f), f + 1, dir, all);
                done.add(fold);
                first = first == null ? ModelBundle.readManifest(dir.resolve("model")) : first;
                all.step(recipe.epochs() + 1L - fold.epochsRun());
                log.accept(String.format("Fold %d/%d: %s", f + 1, folds, summaryLine(fold.metrics())));
            }
        }
        Map<String, Object> dataFacts = new LinkedHashMap<>();
        dataFacts.put("source", ds.root().toAbsolutePath().toString());
        dataFacts.put("sha256", ds.contentHash());
        dataFacts.put("images", ds.size());
        dataFacts.put("perClass", ds.countsPerClass());
        dataFacts.put("labelConflicts", splits.get(0).labelConflicts());
        CrossValidationReport r = new CrossValidationReport(
                CrossValidationReport.FORMAT,
                Instant.now().toString(),
                dataFacts,
                folds,
                valShare,
                recipe.seed(),
                recipe,
                first.provenance().init(),
                first.provenance().versions(),
                done,
                CrossValidationReport.summarise(done),
                (System.nanoTime() - t0) / 1e9);
        CrossValidationWriter.write(r, output);
        return r;
    }

    /** The figures a line of log shows: accuracy and mAP over all test images per scope. */
    static String summaryLine(Map<String, Double> m) {
        StringBuilder b = new StringBuilder();
        m.forEach((k, v) -> {
            if (k.equals("accuracy") || k.startsWith("vote accuracy") || k.startsWith("mAP@10 all-test/")) {
                b.append(b.length() == 0 ? "" : ", ")
                        .append(k.replace("mAP@10 all-test/", "mAP@10 "))
                        .append(' ')
                        .append(String.format("%.4f", v));
            }
        });
        return b.toString();
    }

    private CrossValidationReport.Fold fold(Dataset ds, Split split, int n, Path dir, Progress.Task all)
            throws IOException {
        Path record = dir.resolve("fold.json");
        Path modelDir = dir.resolve("model");
        if (Files.isRegularFile(record) && Files.isRegularFile(modelDir.resolve(ModelBundle.MANIFEST))) {
            ModelManifest m = ModelBundle.readManifest(modelDir);
            if (m.provenance().recipe().equals(recipe)
                    && m.provenance().split().sha256().equals(split.hash())) {
                log.accept("Fold " + n + ": done before, read back from " + record);
                return Json.read(record, CrossValidationReport.Fold.class);
            }
            throw new MedsearchException(dir + " holds a fold of another run (other settings or data): choose"
                    + " another output folder or remove it");
        }
        long t0 = System.nanoTime();
        Files.createDirectories(dir);
        Progress inner = foldProgress(all, n);
        if (!Files.isRegularFile(modelDir.resolve(ModelBundle.MANIFEST))) {
            boolean resume =
                    Files.isRegularFile(modelDir.resolve(Trainer.CHECKPOINT_DIR).resolve("state.json"));
            training.setOutput(modelDir)
                    .optResume(resume)
                    .optProgress(inner)
                    .build()
                    .train(ds, split);
        }
        ModelManifest m = ModelBundle.readManifest(modelDir);
        Map<String, Double> metrics = new LinkedHashMap<>();
        try (EmbeddingBackend backend = Models.open(modelDir, 0, InferenceRuntime.DEFAULT, inner)) {
            Path indexDir = dir.resolve("index");
            if (Stores.exists(indexDir)) {
                FileUtil.deleteTree(indexDir); // a leftover of an interrupted fold: rebuilt, it takes seconds
            }
            try (VectorStore index = Stores.openOrCreate(indexDir, Models.indexInfo(backend, VectorFormat.FLOAT32))) {
                new IndexingJob(backend, backend.readers(), inner, log)
                        .index(
                                ds,
                                index,
                                IndexingJob.Options.defaults().withSplit(split, EnumSet.of(Split.Part.TRAIN)));
                EvaluationReport e = new EvaluationJob(new SearchService(backend, index), backend.readers(), inner)
                        .optModelSource(modelDir.toString())
                        .run(ds, split, EvaluationJob.Options.defaults());
                ReportWriter.write(e, dir.resolve("evaluation"));
                metrics.putAll(figures(e));
            }
        }
        CrossValidationReport.Fold fold = new CrossValidationReport.Fold(
                n,
                countsOf(split),
                modelDir.toAbsolutePath().toString(),
                m.provenance().bestEpoch(),
                m.provenance().epochs().size(),
                m.retrieval() == null ? null : m.retrieval().autoThreshold(),
                metrics,
                (System.nanoTime() - t0) / 1e9);
        Json.write(record, fold);
        return fold;
    }

    /** A fold's figures by name: the classifier's and the neighbour vote's accuracy, then each protocol and scope's mAP@k. */
    static Map<String, Double> figures(EvaluationReport e) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("accuracy", e.classification().accuracy());
        m.put(
                "vote accuracy (k=" + e.classification().voteK() + ")",
                e.classification().voteAccuracy());
        e.retrieval().forEach((key, p) -> m.put("mAP@" + p.k() + " " + key, p.meanAveragePrecision()));
        return m;
    }

    private static Map<String, Integer> countsOf(Split s) {
        Map<String, Integer> c = new LinkedHashMap<>();
        s.counts().forEach((p, v) -> c.put(p.key(), v));
        return c;
    }

    /**
     * The inner steps of a fold shown on the run's one bar: a finished training epoch advances it,
     * and the running step's status appears beside it.
     */
    private Progress foldProgress(Progress.Task all, int n) {
        return (name, total, unit) -> new Progress.Task() {
            @Override
            public void step(long k) {}

            @Override
            public void extra(String text) {
                all.extra("fold " + n + "/" + folds + " " + name + ": " + text);
            }

            @Override
            public void close() {
                if (name.startsWith("Epoch ")) {
                    all.step(1);
                }
            }
        };
    }

    /** Settings of a {@link CrossValidation}: {@code set} ones are required, {@code opt} ones have defaults. */
    public static final class Builder {
        private Path data;
        private Path output;
        private TrainingJob.Builder training;
        private int folds = 5;
        private Double valShare;
        private Progress progress = Progress.NONE;
        private Consumer<String> log = line -> {};

        private Builder() {}

        public Builder setData(Path d) {
            this.data = d;
            return this;
        }

        /** The run's folder. */
        public Builder setOutput(Path o) {
            this.output = o;
            return this;
        }

        /**
         * How each fold trains: a {@link TrainingJob} builder with its recipe and any options (start,
         * window, scanner, workers, log); its data and output are set per fold.
         */
        public Builder setTraining(TrainingJob.Builder t) {
            this.training = t;
            return this;
        }

        /** Folds (default 5). */
        public Builder optFolds(int k) {
            this.folds = k;
            return this;
        }

        /**
         * The share of each fold's non-test images that validates (default: the share that makes the
         * validation part 15% of the whole, as {@code train}'s default split; 0.1875 at 5 folds).
         */
        public Builder optValShare(Double v) {
            this.valShare = v;
            return this;
        }

        /** One bar for the whole run. */
        public Builder optProgress(Progress p) {
            this.progress = p;
            return this;
        }

        public Builder optLog(Consumer<String> l) {
            this.log = l;
            return this;
        }

        public CrossValidation build() {
            return new CrossValidation(this);
        }
    }
}

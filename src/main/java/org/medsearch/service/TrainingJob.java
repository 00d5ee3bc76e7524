package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.dicom.DicomImageReader;
import org.medsearch.dicom.WindowPreset;
import org.medsearch.image.ImageReaders;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.Pretrained;
import org.medsearch.model.Trainer;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.model.onnx.OnnxGraphs;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * Training from a data set to a model bundle: scan, split (stratified, seeded, duplicates and
 * patients grouped), check that each part the run needs has images, fine-tune, write the bundle.
 * The steps are public so that a caller (the demo) can reuse a scan or skip a training it already has.
 *
 * <p>Contract: {@link #run()} writes a complete bundle or, on any failure, leaves the output as
 * {@link Trainer} leaves it (resumable). Every user-fixable problem (no such data, a part without
 * images) is a {@link MedsearchException} whose message names no command-line flag.
 *
 * <pre>{@code
 * ModelManifest m = TrainingJob.builder().setData(Path.of("MedNIST")).setOutput(Path.of("model"))
 *         .setRecipe(TrainingRecipe.paper().withImageSize(64).withEpochs(3)).optLog(System.out::println)
 *         .build().run();
 * }</pre>
 */
public final class TrainingJob {

    private final Path data;
    private final Path output;
    private final TrainingRecipe recipe;
    private final SplitRatios ratios;
    private final Pretrained.Init init;
    private final WindowPreset window;
    private final UnaryOperator<DatasetScanner> scanner;
    private final Integer workers;
    private final boolean resume;
    private final Progress progress;
    private final Consumer<String> log;

    private TrainingJob(Builder b) {
        this.data = Objects.requireNonNull(b.data, "data");
        this.output = Objects.requireNonNull(b.output, "output");
        this.recipe = Objects.requireNonNull(b.recipe, "recipe");
        this.ratios = b.ratios;
        this.init = b.init;
        this.window = b.window;
        this.scanner = b.scanner;
        this.workers = b.workers;
        this.resume = b.resume;
        this.progress = b.progress;
        this.log = b.log;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The readers training uses: the standard ones, with the DICOM window if one is set. */
    public ImageReaders readers() {
        return DicomImageReader.withWindow(ImageReaders.standard(), window);
    }

    /** Scans the data set (files that cannot be used are skipped and summarised in the log). */
    public Dataset scan() throws IOException {
        Dataset ds = scanner.apply(new DatasetScanner(readers()))
                .optProgress(progress)
                .scan(data);
        log.accept("Data: " + ds.report().summary(10));
        return ds;
    }

    /** The seeded, stratified, grouped split of {@code ds}, summarised in the log. */
    public Split split(Dataset ds) {
        Split split = Split.stratified(ds, ratios, recipe.seed());
        Map<Split.Part, Integer> c = split.counts();
        log.accept(String.format(
                "Split %s (seed %d): train %d, val %d, test %d; %d groups of byte-identical images"
                        + " (%d images) kept within one part%s",
                ratios,
                recipe.seed(),
                c.get(Split.Part.TRAIN),
                c.get(Split.Part.VAL),
                c.get(Split.Part.TEST),
                split.duplicateGroups(),
                split.duplicateImages(),
                split.patientGroups() > 0 ? "; " + split.patientGroups() + " patients kept within one part" : ""));
        if (split.labelConflicts() > 0) {
            log.accept(String.format(
                    "Warning: %d groups hold identical images under different labels", split.labelConflicts()));
        }
        return split;
    }

    /**
     * Refuses a split that leaves one of {@code parts} without images, naming what each part got:
     * training picks its best epoch by validation accuracy (NaN with no validation image), and
     * evaluation reports on the test part.
     */
    public static void requireImages(Split split, SplitRatios ratios, Split.Part... parts) throws MedsearchException {
        Map<Split.Part, Integer> c = split.counts();
        for (Split.Part p : parts) {
            if (c.getOrDefault(p, 0) < (p == Split.Part.TRAIN ? 2 : 1)) {
                throw new MedsearchException(String.format(
                        "the split %s gave train %d, val %d, test %d images,"
                                + " but %s; use more images or other split ratios",
                        ratios,
                        c.getOrDefault(Split.Part.TRAIN, 0),
                        c.getOrDefault(Split.Part.VAL, 0),
                        c.getOrDefault(Split.Part.TEST, 0),
                        switch (p) {
                            case TRAIN -> "training needs at least 2 training images";
                            case VAL -> "validation needs at least one image (it picks the best epoch)";
                            case TEST -> "evaluation needs at least one test image";
                        }));
            }
        }
    }

    /** Fine-tunes on {@code split} of {@code ds} and writes the bundle. */
    public ModelManifest train(Dataset ds, Split split) throws IOException {
        requireImages(split, ratios, Split.Part.TRAIN, Split.Part.VAL);
        // training decodes with the standard readers; the window is applied through the recipe's manifest
        Trainer trainer = new Trainer(ImageReaders.standard(), progress, log).optDicomWindow(window);
        if (workers != null) {
            trainer.optWorkers(workers);
        }
        trainer.train(ds, split, recipe, init.weights(), init.description(), output, resume);
        // the fp32 ONNX graph is part of a finished bundle, so the first search does not pay for it
        return OnnxGraphs.exportFp32(output).manifest();
    }

    /** Scan, split, train. */
    public ModelManifest run() throws IOException {
        Dataset ds = scan();
        return train(ds, split(ds));
    }

    /** Settings of a {@link TrainingJob}: {@code set} ones are required, {@code opt} ones have defaults. */
    public static final class Builder {
        private Path data;
        private Path output;
        private TrainingRecipe recipe;
        private SplitRatios ratios = SplitRatios.DEFAULT;
        private Pretrained.Init init = new Pretrained.Init(null, "scratch");
        private WindowPreset window;
        private UnaryOperator<DatasetScanner> scanner = s -> s;
        private Integer workers;
        private boolean resume;
        private Progress progress = Progress.NONE;
        private Consumer<String> log = line -> {};

        private Builder() {}

        /** A folder with one sub-folder per class, or a CSV manifest. */
        public Builder setData(Path d) {
            this.data = d;
            return this;
        }

        /** The model bundle's directory. */
        public Builder setOutput(Path o) {
            this.output = o;
            return this;
        }

        public Builder setRecipe(TrainingRecipe r) {
            this.recipe = r;
            return this;
        }

        /** The recipe set so far. */
        public TrainingRecipe recipe() {
            return recipe;
        }

        /** Train/validation/test ratios (default 70/15/15). */
        public Builder optSplit(SplitRatios r) {
            this.ratios = r;
            return this;
        }

        /** Initial weights (default: torchvision's random init, "scratch"). */
        public Builder optInit(Pretrained.Init i) {
            this.init = i;
            return this;
        }

        /** A DICOM window preset, recorded in the model (default: each file's own window). */
        public Builder optWindow(WindowPreset w) {
            this.window = w;
            return this;
        }

        /** Configures the scanner (volume slices, a per-class limit...). */
        public Builder optScanner(UnaryOperator<DatasetScanner> configure) {
            this.scanner = configure;
            return this;
        }

        /** Image decoding threads (default: one per core). */
        public Builder optWorkers(Integer n) {
            this.workers = n;
            return this;
        }

        /** Continue an interrupted run in the output directory. */
        public Builder optResume(boolean r) {
            this.resume = r;
            return this;
        }

        public Builder optProgress(Progress p) {
            this.progress = p;
            return this;
        }

        /** Where summaries and per-epoch lines go. */
        public Builder optLog(Consumer<String> l) {
            this.log = l;
            return this;
        }

        public TrainingJob build() {
            return new TrainingJob(this);
        }
    }
}

package org.medsearch.model;

import org.medsearch.image.Augmentation;

/**
 * Every knob of training. Two named recipes: {@link #paper()} (the default) is Ayyachamy et al.'s:
 * cross-entropy, SGD (momentum 0.9), learning rate 0.001 divided by 10 every 3 epochs, 25 epochs,
 * 256x256 inputs, batches of 32, the whole network fine-tuned, the epoch of best validation accuracy
 * kept. {@link #strong()} fixes what the paper's schedule lacks on small pathology-level data: a
 * cosine schedule with warm-up, weight decay, label smoothing, a class-balanced loss, augmentation
 * and early stopping on validation mAP@10. Its values are the same on every data set.
 *
 * <pre>{@code
 * TrainingRecipe quick = TrainingRecipe.paper().withImageSize(64).withEpochs(3);
 * TrainingRecipe probe = quick.withFineTune(FineTune.HEAD);
 * TrainingRecipe busi = TrainingRecipe.strong().toBuilder().optImageSize(128).optFlip(true).build();
 * }</pre>
 *
 * @param imageSize input side in pixels, 32 to 1024
 * @param epochs passes over the training split (the most, with early stopping)
 * @param learningRate initial SGD learning rate (of the head, when the backbone has its own)
 * @param lrStep epochs between learning-rate decays ({@link Schedule#STEP})
 * @param lrGamma decay factor ({@link Schedule#STEP})
 * @param batchSize images per step
 * @param momentum SGD momentum (PyTorch's convention)
 * @param weightDecay L2 penalty
 * @param seed seeds the split, the initialisation, the shuffling and the augmentation
 * @param fineTune which modules train ({@link FineTune#FULL} when absent)
 * @param backboneLrFactor the backbone's learning rate relative to the head's (discriminative
 *     learning rates; 1 when absent)
 * @param warmupEpochs epochs over which the learning rate ramps up linearly from 0, per step (0: none)
 * @param name "paper" or "strong": the recipe the other values started from
 * @param schedule how the learning rate falls ({@link Schedule#STEP} when absent)
 * @param labelSmoothing the share of the target spread evenly over all classes (0: none)
 * @param classBalanced weigh each image's loss by {@code n / (classes * n_class)}, so that every
 *     class counts as much as the others on imbalanced data
 * @param augmentation what random changes training images go through (null: none)
 * @param earlyStopPatience stop after this many epochs without a better validation mAP@10 and keep
 *     the best one (0: no early stopping; the epoch of best validation accuracy is kept)
 * @param metricLossWeight weight of a supervised contrastive loss on the 512-d features, added to
 *     the cross-entropy so that retrieval over all classes improves (0: none)
 * @param metricTemperature that loss's temperature (0.1 when absent)
 */
public record TrainingRecipe(
        int imageSize,
        int epochs,
        double learningRate,
        int lrStep,
        double lrGamma,
        int batchSize,
        double momentum,
        double weightDecay,
        long seed,
        FineTune fineTune,
        double backboneLrFactor,
        double warmupEpochs,
        String name,
        Schedule schedule,
        double labelSmoothing,
        boolean classBalanced,
        Augmentation augmentation,
        int earlyStopPatience,
        double metricLossWeight,
        double metricTemperature) {

    /** How the learning rate falls over the epochs. */
    public enum Schedule {
        /** Divided by {@code lrGamma} every {@code lrStep} epochs (the paper). */
        STEP,
        /** Half a cosine from the initial rate to 0 over all epochs, after the warm-up. */
        COSINE;

        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** "step" or "cosine". */
        public static Schedule parse(String s) {
            for (Schedule v : values()) {
                if (v.key().equals(s.strip().toLowerCase(java.util.Locale.ROOT))) {
                    return v;
                }
            }
            throw new IllegalArgumentException("unknown schedule '" + s + "': expected step or cosine");
        }
    }

    public static final String PAPER = "paper";
    public static final String STRONG = "strong";

    public TrainingRecipe {
        if (fineTune == null) {
            fineTune = FineTune.FULL;
        }
        if (backboneLrFactor == 0) {
            backboneLrFactor = 1;
        }
        // bundles written before the strong recipe existed read as the paper's
        if (name == null) {
            name = PAPER;
        }
        if (schedule == null) {
            schedule = Schedule.STEP;
        }
        if (metricTemperature == 0) {
            metricTemperature = 0.1;
        }
        validate(
                imageSize,
                epochs,
                learningRate,
                lrStep,
                lrGamma,
                batchSize,
                momentum,
                weightDecay,
                backboneLrFactor,
                warmupEpochs,
                java.util.function.UnaryOperator.identity());
        require(
                labelSmoothing >= 0 && labelSmoothing < 1,
                "labelSmoothing",
                "be at least 0 and below 1",
                labelSmoothing);
        require(earlyStopPatience >= 0, "earlyStopPatience", "be at least 0", earlyStopPatience);
        require(
                metricLossWeight >= 0 && Double.isFinite(metricLossWeight),
                "metricLossWeight",
                "be a number of at least 0",
                metricLossWeight);
        require(
                metricTemperature > 0 && Double.isFinite(metricTemperature),
                "metricTemperature",
                "be a positive number",
                metricTemperature);
    }

    /**
     * Checks the numeric knobs in the order of the record's components and throws an
     * {@link IllegalArgumentException} for the first bad one: "{@code <name> must be ..., got <value>}",
     * where {@code name} maps a component's name ("epochs", "learningRate", ...) to what the caller's
     * user typed (the CLI passes its option names). NaN and infinities are bad values everywhere.
     */
    public static void validate(
            int imageSize,
            int epochs,
            double learningRate,
            int lrStep,
            double lrGamma,
            int batchSize,
            double momentum,
            double weightDecay,
            double backboneLrFactor,
            double warmupEpochs,
            java.util.function.UnaryOperator<String> name) {
        require(imageSize >= 32 && imageSize <= 1024, name.apply("imageSize"), "be between 32 and 1024", imageSize);
        require(epochs >= 1, name.apply("epochs"), "be at least 1", epochs);
        require(
                learningRate > 0 && Double.isFinite(learningRate),
                name.apply("learningRate"),
                "be a positive number",
                learningRate);
        require(lrStep >= 1, name.apply("lrStep"), "be at least 1", lrStep);
        require(lrGamma > 0 && Double.isFinite(lrGamma), name.apply("lrGamma"), "be a positive number", lrGamma);
        // batch norm cannot normalise a batch of one image in training mode
        require(batchSize >= 2, name.apply("batchSize"), "be at least 2", batchSize);
        require(momentum >= 0 && momentum < 1, name.apply("momentum"), "be at least 0 and below 1", momentum);
        require(
                weightDecay >= 0 && Double.isFinite(weightDecay),
                name.apply("weightDecay"),
                "be a number of at least 0",
                weightDecay);
        require(
                backboneLrFactor > 0 && Double.isFinite(backboneLrFactor),
                name.apply("backboneLrFactor"),
                "be a positive number",
                backboneLrFactor);
        require(
                warmupEpochs >= 0 && Double.isFinite(warmupEpochs),
                name.apply("warmupEpochs"),
                "be a number of at least 0",
                warmupEpochs);
    }

    private static void require(boolean ok, String name, String rule, Object got) {
        if (!ok) {
            throw new IllegalArgumentException(name + " must " + rule + ", got " + got);
        }
    }

    /** The paper's knobs, with the others off. */
    public TrainingRecipe(
            int imageSize,
            int epochs,
            double learningRate,
            int lrStep,
            double lrGamma,
            int batchSize,
            double momentum,
            double weightDecay,
            long seed) {
        this(
                imageSize,
                epochs,
                learningRate,
                lrStep,
                lrGamma,
                batchSize,
                momentum,
                weightDecay,
                seed,
                FineTune.FULL,
                1,
                0);
    }

    /** The paper's knobs with fine-tuning choices and a warm-up, the others off. */
    public TrainingRecipe(
            int imageSize,
            int epochs,
            double learningRate,
            int lrStep,
            double lrGamma,
            int batchSize,
            double momentum,
            double weightDecay,
            long seed,
            FineTune fineTune,
            double backboneLrFactor,
            double warmupEpochs) {
        this(
                imageSize,
                epochs,
                learningRate,
                lrStep,
                lrGamma,
                batchSize,
                momentum,
                weightDecay,
                seed,
                fineTune,
                backboneLrFactor,
                warmupEpochs,
                PAPER,
                Schedule.STEP,
                0,
                false,
                null,
                0,
                0,
                0.1);
    }

    /** Ayyachamy et al., 2019. */
    public static TrainingRecipe paper() {
        return new TrainingRecipe(256, 25, 0.001, 3, 0.1, 32, 0.9, 0.0, 1);
    }

    /**
     * The stronger recipe, one set of values for every data set: SGD at 0.01 with a one-epoch linear
     * warm-up and a cosine decay over at most 20 epochs, weight decay 5e-4, label smoothing 0.1, a
     * class-balanced loss, {@link Augmentation#standard standard augmentation} without flips, and
     * early stopping after 8 epochs without a better validation mAP@10.
     */
    public static TrainingRecipe strong() {
        return new TrainingRecipe(
                256,
                20,
                0.01,
                3,
                0.1,
                32,
                0.9,
                5e-4,
                1,
                FineTune.FULL,
                1,
                1,
                STRONG,
                Schedule.COSINE,
                0.1,
                true,
                Augmentation.standard(false),
                8,
                0,
                0.1);
    }

    /** {@link #paper()} or {@link #strong()} by name. */
    public static TrainingRecipe named(String name) {
        return switch (name) {
            case PAPER -> paper();
            case STRONG -> strong();
            default -> throw new IllegalArgumentException("unknown recipe '" + name + "': expected paper or strong");
        };
    }

    public TrainingRecipe withImageSize(int s) {
        return toBuilder().optImageSize(s).build();
    }

    public TrainingRecipe withEpochs(int e) {
        return toBuilder().optEpochs(e).build();
    }

    public TrainingRecipe withSeed(long s) {
        return toBuilder().optSeed(s).build();
    }

    public TrainingRecipe withFineTune(FineTune f) {
        return toBuilder().optFineTune(f).build();
    }

    /** Whether the kept epoch is chosen by validation mAP@10 (and training may stop early). */
    public boolean earlyStopping() {
        return earlyStopPatience > 0;
    }

    /** A builder that starts from this recipe's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Changes some of a recipe's values; every setting is optional and starts from the recipe's. */
    public static final class Builder {
        private int imageSize;
        private int epochs;
        private double learningRate;
        private int lrStep;
        private double lrGamma;
        private int batchSize;
        private double momentum;
        private double weightDecay;
        private long seed;
        private FineTune fineTune;
        private double backboneLrFactor;
        private double warmupEpochs;
        private final String name;
        private Schedule schedule;
        private double labelSmoothing;
        private boolean classBalanced;
        private Augmentation augmentation;
        private int earlyStopPatience;
        private double metricLossWeight;
        private double metricTemperature;

        private Builder(TrainingRecipe r) {
            imageSize = r.imageSize;
            epochs = r.epochs;
            learningRate = r.learningRate;
            lrStep = r.lrStep;
            lrGamma = r.lrGamma;
            batchSize = r.batchSize;
            momentum = r.momentum;
            weightDecay = r.weightDecay;
            seed = r.seed;
            fineTune = r.fineTune;
            backboneLrFactor = r.backboneLrFactor;
            warmupEpochs = r.warmupEpochs;
            name = r.name;
            schedule = r.schedule;
            labelSmoothing = r.labelSmoothing;
            classBalanced = r.classBalanced;
            augmentation = r.augmentation;
            earlyStopPatience = r.earlyStopPatience;
            metricLossWeight = r.metricLossWeight;
            metricTemperature = r.metricTemperature;
        }

        public Builder optImageSize(int v) {
            imageSize = v;
            return this;
        }

        public Builder optEpochs(int v) {
            epochs = v;
            return this;
        }

        public Builder optLearningRate(double v) {
            learningRate = v;
            return this;
        }

        public Builder optLrStep(int v) {
            lrStep = v;
            return this;
        }

        public Builder optLrGamma(double v) {
            lrGamma = v;
            return this;
        }

        public Builder optBatchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder optMomentum(double v) {
            momentum = v;
            return this;
        }

        public Builder optWeightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder optSeed(long v) {
            seed = v;
            return this;
        }

        public Builder optFineTune(FineTune v) {
            fineTune = v;
            return this;
        }

        public Builder optBackboneLrFactor(double v) {
            backboneLrFactor = v;
            return this;
        }

        public Builder optWarmupEpochs(double v) {
            warmupEpochs = v;
            return this;
        }

        public Builder optSchedule(Schedule v) {
            schedule = v;
            return this;
        }

        public Builder optLabelSmoothing(double v) {
            labelSmoothing = v;
            return this;
        }

        public Builder optClassBalanced(boolean v) {
            classBalanced = v;
            return this;
        }

        /** Augmentation on or off ({@link Augmentation#standard} when turned on). */
        public Builder optAugment(boolean on) {
            augmentation = on ? (augmentation == null ? Augmentation.standard(false) : augmentation) : null;
            return this;
        }

        /** Mirrored training images (turns augmentation on). */
        public Builder optFlip(boolean on) {
            augmentation = (augmentation == null ? Augmentation.standard(false) : augmentation).withFlip(on);
            return this;
        }

        public Builder optEarlyStopPatience(int v) {
            earlyStopPatience = v;
            return this;
        }

        public Builder optMetricLossWeight(double v) {
            metricLossWeight = v;
            return this;
        }

        public Builder optMetricTemperature(double v) {
            metricTemperature = v;
            return this;
        }

        /** @throws IllegalArgumentException naming the first bad value */
        public TrainingRecipe build() {
            // the record reads a missing factor or temperature (0, in older JSON) as its default; a
            // value given here must be valid as it is (the record checks the others)
            require(
                    backboneLrFactor > 0 && Double.isFinite(backboneLrFactor),
                    "backboneLrFactor",
                    "be a positive number",
                    backboneLrFactor);
            require(
                    metricTemperature > 0 && Double.isFinite(metricTemperature),
                    "metricTemperature",
                    "be a positive number",
                    metricTemperature);
            return new TrainingRecipe(
                    imageSize,
                    epochs,
                    learningRate,
                    lrStep,
                    lrGamma,
                    batchSize,
                    momentum,
                    weightDecay,
                    seed,
                    fineTune,
                    backboneLrFactor,
                    warmupEpochs,
                    name,
                    schedule,
                    labelSmoothing,
                    classBalanced,
                    augmentation,
                    earlyStopPatience,
                    metricLossWeight,
                    metricTemperature);
        }
    }

    /**
     * The learning rate at a step: step decay by epoch, or a cosine over the epochs after the
     * warm-up, times a linear warm-up over the first {@link #warmupEpochs} epochs.
     *
     * @param epoch 0-based
     * @param progress fraction of the epoch done, in [0, 1)
     */
    public double learningRateAt(int epoch, double progress) {
        double t = epoch + progress;
        double lr = schedule == Schedule.COSINE
                ? learningRate
                        * 0.5
                        * (1
                                + Math.cos(Math.PI
                                        * Math.min(
                                                1,
                                                Math.max(0, t - warmupEpochs) / Math.max(1e-9, epochs - warmupEpochs))))
                : learningRate * Math.pow(lrGamma, epoch / lrStep);
        if (warmupEpochs > 0 && t < warmupEpochs) {
            lr *= Math.max(1e-3, t / warmupEpochs);
        }
        return lr;
    }

    /** The learning rate at the start of an epoch. */
    public double learningRateAt(int epoch) {
        return learningRateAt(epoch, 0);
    }
}

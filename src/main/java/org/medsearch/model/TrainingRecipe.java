package org.medsearch.model;

/**
 * Every knob of training, with the paper's recipe as the default: cross-entropy, SGD (momentum 0.9),
 * learning rate 0.001 divided by 10 every 3 epochs, 25 epochs, 256x256 inputs, batches of 32, the
 * whole network fine-tuned.
 *
 * <pre>{@code
 * TrainingRecipe quick = TrainingRecipe.paper().withImageSize(64).withEpochs(3);
 * TrainingRecipe probe = quick.withFineTune(FineTune.HEAD);
 * }</pre>
 *
 * @param imageSize input side in pixels, 32 to 1024
 * @param epochs passes over the training split
 * @param learningRate initial SGD learning rate (of the head, when the backbone has its own)
 * @param lrStep epochs between learning-rate decays
 * @param lrGamma decay factor
 * @param batchSize images per step
 * @param momentum SGD momentum (PyTorch's convention)
 * @param weightDecay L2 penalty
 * @param seed seeds the split, the initialisation and the shuffling
 * @param fineTune which modules train ({@link FineTune#FULL} when absent)
 * @param backboneLrFactor the backbone's learning rate relative to the head's (discriminative
 *     learning rates; 1 when absent)
 * @param warmupEpochs epochs over which the learning rate ramps up linearly from 0, per step (0: none)
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
        double warmupEpochs) {

    public TrainingRecipe {
        if (fineTune == null) {
            fineTune = FineTune.FULL;
        }
        if (backboneLrFactor == 0) {
            backboneLrFactor = 1;
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

    /** Ayyachamy et al., 2019. */
    public static TrainingRecipe paper() {
        return new TrainingRecipe(256, 25, 0.001, 3, 0.1, 32, 0.9, 0.0, 1);
    }

    public TrainingRecipe withImageSize(int s) {
        return new TrainingRecipe(
                s,
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
                warmupEpochs);
    }

    public TrainingRecipe withEpochs(int e) {
        return new TrainingRecipe(
                imageSize,
                e,
                learningRate,
                lrStep,
                lrGamma,
                batchSize,
                momentum,
                weightDecay,
                seed,
                fineTune,
                backboneLrFactor,
                warmupEpochs);
    }

    public TrainingRecipe withSeed(long s) {
        return new TrainingRecipe(
                imageSize,
                epochs,
                learningRate,
                lrStep,
                lrGamma,
                batchSize,
                momentum,
                weightDecay,
                s,
                fineTune,
                backboneLrFactor,
                warmupEpochs);
    }

    public TrainingRecipe withFineTune(FineTune f) {
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
                f,
                backboneLrFactor,
                warmupEpochs);
    }

    /**
     * The learning rate at a step: step decay by epoch, times a linear warm-up over the first
     * {@link #warmupEpochs} epochs.
     *
     * @param epoch 0-based
     * @param progress fraction of the epoch done, in [0, 1)
     */
    public double learningRateAt(int epoch, double progress) {
        double lr = learningRate * Math.pow(lrGamma, epoch / lrStep);
        double t = epoch + progress;
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

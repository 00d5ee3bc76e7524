package org.medsearch.model;

/**
 * Every knob of training, with the paper's recipe as the default: cross-entropy, SGD (momentum 0.9),
 * learning rate 0.001 divided by 10 every 3 epochs, 25 epochs, 256x256 inputs, batches of 32.
 *
 * <pre>{@code
 * TrainingRecipe quick = TrainingRecipe.paper().withImageSize(64).withEpochs(3);
 * }</pre>
 *
 * @param imageSize input side in pixels
 * @param epochs passes over the training split
 * @param learningRate initial SGD learning rate
 * @param lrStep epochs between learning-rate decays
 * @param lrGamma decay factor
 * @param batchSize images per step
 * @param momentum SGD momentum (PyTorch's convention)
 * @param weightDecay L2 penalty
 * @param seed seeds the split, the initialisation and the shuffling
 */
public record TrainingRecipe(int imageSize, int epochs, double learningRate, int lrStep, double lrGamma,
        int batchSize, double momentum, double weightDecay, long seed) {

    public TrainingRecipe {
        if (epochs < 1 || learningRate <= 0 || lrStep < 1 || lrGamma <= 0 || batchSize < 2 || momentum < 0
                || momentum >= 1 || weightDecay < 0) {
            throw new IllegalArgumentException("invalid training recipe: " + this);
        }
    }

    /** Ayyachamy et al., 2019. */
    public static TrainingRecipe paper() {
        return new TrainingRecipe(256, 25, 0.001, 3, 0.1, 32, 0.9, 0.0, 1);
    }

    public TrainingRecipe withImageSize(int s) {
        return new TrainingRecipe(s, epochs, learningRate, lrStep, lrGamma, batchSize, momentum, weightDecay, seed);
    }

    public TrainingRecipe withEpochs(int e) {
        return new TrainingRecipe(imageSize, e, learningRate, lrStep, lrGamma, batchSize, momentum, weightDecay, seed);
    }

    public TrainingRecipe withSeed(long s) {
        return new TrainingRecipe(imageSize, epochs, learningRate, lrStep, lrGamma, batchSize, momentum, weightDecay, s);
    }

    /** The learning rate of a (0-based) epoch: step decay. */
    public double learningRateAt(int epoch) {
        return learningRate * Math.pow(lrGamma, epoch / lrStep);
    }
}

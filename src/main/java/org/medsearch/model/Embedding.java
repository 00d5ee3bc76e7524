package org.medsearch.model;

/**
 * What one forward pass says about one image: its 512-d feature vector (the global-average-pool
 * output) and the class probabilities (softmax of the head).
 *
 * @param vector 512 floats
 * @param probabilities one per class, summing to 1; empty for a backbone without a head
 */
public record Embedding(float[] vector, float[] probabilities) {

    /** The most probable class index (ties: the lowest index), or -1 without a head. */
    public int predictedClass() {
        int best = -1;
        for (int i = 0; i < probabilities.length; i++) {
            if (best < 0 || probabilities[i] > probabilities[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The most probable class's name among {@code classes} (the model's, in head order), or null without a head. */
    public String predictedName(java.util.List<String> classes) {
        int c = predictedClass();
        return c < 0 ? null : classes.get(c);
    }

    public float confidence() {
        int c = predictedClass();
        return c < 0 ? Float.NaN : probabilities[c];
    }
}

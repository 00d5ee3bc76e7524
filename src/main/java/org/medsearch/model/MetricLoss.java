package org.medsearch.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * A metric-learning loss on the 512-d features, added to the cross-entropy so that images of one
 * class gather in the space the index searches: the supervised contrastive loss of Khosla et al.
 * (2020). Each image of the batch is an anchor; the other images of its class are its positives,
 * every other image of the batch its contrast. Features are L2-normalised first, so the loss sees
 * directions, and the temperature sets how hard the nearest negatives push.
 *
 * <p>Contract: differentiable in {@code features}; anchors without a positive in the batch add
 * nothing; the result is a scalar, the mean over the anchors that have one (0 when none has).
 *
 * <pre>{@code
 * NDArray loss = ce.add(MetricLoss.supervisedContrastive(out.features(), labels, 0.1).mul(0.5f));
 * }</pre>
 */
public final class MetricLoss {
    private MetricLoss() {}

    /**
     * @param features (n, d) features of a batch, in the graph of the loss
     * @param labels the n class indices
     * @param temperature a positive temperature (0.1 is usual)
     */
    public static NDArray supervisedContrastive(NDArray features, int[] labels, double temperature) {
        int n = labels.length;
        NDManager m = features.getManager();
        float[] others = new float[n * n];
        float[] positives = new float[n * n];
        int anchors = 0;
        for (int i = 0; i < n; i++) {
            boolean any = false;
            for (int j = 0; j < n; j++) {
                if (i != j) {
                    others[i * n + j] = 1;
                    if (labels[i] == labels[j]) {
                        positives[i * n + j] = 1;
                        any = true;
                    }
                }
            }
            anchors += any ? 1 : 0;
        }
        if (anchors == 0) {
            return features.sum().mul(0f);
        }
        float inv = (float) (1 / temperature);
        NDArray f = features.reshape(n, -1);
        NDArray z = f.div(f.square().sum(new int[] {1}, true).add(1e-12f).sqrt());
        NDArray sim = z.matMul(z.transpose()).mul(inv); // cosine / t, at most 1/t
        NDArray otherMask = m.create(others, new Shape(n, n));
        NDArray posMask = m.create(positives, new Shape(n, n));
        // log of the sum over j != i of exp(sim), shifted by the largest possible value for stability
        NDArray logDen =
                sim.sub(inv).exp().mul(otherMask).sum(new int[] {1}, true).log().add(inv);
        NDArray logProb = sim.sub(logDen);
        NDArray count = posMask.sum(new int[] {1}).maximum(1f);
        NDArray perAnchor = logProb.mul(posMask).sum(new int[] {1}).div(count);
        return perAnchor.sum().neg().div((float) anchors);
    }
}

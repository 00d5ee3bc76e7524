package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The trainer's SGD (learning rate folded into the loss, gradient buffers reused as momentum) against
 * PyTorch's rule written out plainly: buf = m*buf + g + wd*w; w -= lr_group*buf, over steps with a
 * changing learning rate and a smaller backbone rate.
 */
class SgdTest {

    @Test
    void matchesPyTorchsRule() {
        float m = 0.9f;
        double wd = 0.05;
        double[] lrs = {0.01, 0.01, 0.005, 0.005, 0.002};
        double backbone = 0.5;
        TrainingRecipe recipe = new TrainingRecipe(64, 1, lrs[0], 3, 0.1, 8, m, wd, 1, FineTune.FULL, backbone, 0);
        Random r = new Random(3);
        float[] x = new float[8 * 64 * 64 * 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        int[] y = {0, 1, 1, 0, 1, 0, 0, 1};
        List<String> check =
                List.of("conv1.weight", "layer3.1.conv2.weight", "layer4.0.bn1.weight", "fc.weight", "fc.bias");
        try (NDManager mgr = Engines.newManager();
                ResNet18 ours = ResNet18.create(mgr, 2, 9);
                ResNet18 plain = ResNet18.create(mgr, 2, 9)) {
            Trainer.Sgd sgd = new Trainer.Sgd(ours, recipe, lrs[0]);
            Map<String, float[]> initial = new HashMap<>();
            for (String n : check) {
                initial.put(n, ours.parameters().get(n).toFloatArray());
            }
            Map<String, float[]> buf = new HashMap<>();
            for (String n : plain.trainableNames()) {
                plain.parameters().get(n).setRequiresGradient(true);
            }
            for (double lr : lrs) {
                // ours: backward of lr * loss, then the step
                sgd.setLearningRate(lr);
                try (NDManager step = Engines.newManager()) {
                    NDArray in = step.create(x, new Shape(8, 64, 64, 3)).transpose(0, 3, 1, 2);
                    NDArray target = step.create(y).oneHot(2);
                    try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                        NDArray l = ours.forward(in, true)
                                .logits()
                                .logSoftmax(1)
                                .mul(target)
                                .sum(new int[] {1})
                                .neg()
                                .mean();
                        gc.backward(l.mul((float) lr));
                    }
                    sgd.step();
                }
                // plain: backward of the loss, then buf = m*buf + g + wd*w; w -= lr_group*buf on the host
                try (NDManager step = Engines.newManager()) {
                    NDArray in = step.create(x, new Shape(8, 64, 64, 3)).transpose(0, 3, 1, 2);
                    NDArray target = step.create(y).oneHot(2);
                    try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                        gc.backward(plain.forward(in, true)
                                .logits()
                                .logSoftmax(1)
                                .mul(target)
                                .sum(new int[] {1})
                                .neg()
                                .mean());
                    }
                    JniUtils.setGradMode(false);
                    for (String n : plain.trainableNames()) {
                        NDArray w = plain.parameters().get(n);
                        float[] g;
                        try (NDArray gr = w.getGradient()) {
                            g = gr.toFloatArray();
                            gr.subi(gr);
                        }
                        float[] wv = w.toFloatArray();
                        float[] b = buf.computeIfAbsent(n, k -> new float[g.length]);
                        double lrg = n.startsWith("fc.") ? lr : lr * backbone;
                        float[] delta = new float[g.length];
                        for (int i = 0; i < g.length; i++) {
                            b[i] = m * b[i] + g[i] + (float) (wd * wv[i]);
                            delta[i] = (float) (lrg * b[i]);
                        }
                        long[] shape = w.getShape().getShape();
                        try (NDArray d = shape.length == 4
                                ? ResNet18.channelsLast(step, delta, shape)
                                : step.create(delta, w.getShape())) {
                            w.subi(d);
                        }
                    }
                }
            }
            // compare what training changed: a wrong rule (momentum, decay, rates) is off by a large
            // fraction of the update; float rounding, amplified by batch statistics, by a tiny one
            for (String n : check) {
                float[] w0 = initial.get(n);
                float[] a = ours.parameters().get(n).toFloatArray();
                float[] b = plain.parameters().get(n).toFloatArray();
                double diff = 0;
                double update = 0;
                for (int i = 0; i < a.length; i++) {
                    diff += Math.abs(a[i] - b[i]);
                    update += Math.abs(b[i] - w0[i]);
                }
                assertTrue(update > 0, n + " did not train");
                assertTrue(diff <= 1e-2 * update, n + ": differs by " + diff / update + " of the update");
            }
        }
    }
}

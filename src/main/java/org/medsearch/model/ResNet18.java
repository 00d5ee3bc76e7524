package org.medsearch.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * torchvision's ResNet-18, written out layer by layer on DJL's PyTorch engine, with torchvision's
 * parameter names ({@code conv1.weight}, {@code layer2.0.downsample.1.running_var}, {@code fc.bias},
 * ...). A torchvision state dict loads into it unchanged, and {@link #stateDict()} loads unchanged
 * into {@code torchvision.models.resnet18(num_classes=N)}.
 *
 * <p>Topology: 7x7/2 stem, 3x3/2 max-pool, four stages of two {@code BasicBlock}s (64, 128, 256, 512
 * channels; stride 2 and a 1x1 projection at the first block of stages 2-4), global average pool (the
 * 512-d feature), and a linear head. BatchNorm uses eps 1e-5 and PyTorch's momentum 0.1. With 1000
 * classes it has 11,689,512 trainable parameters, as torchvision's has.
 *
 * <p>Threading: {@link #forward} in inference mode may be called from several threads at once;
 * training and weight changes must not overlap with anything else.
 *
 * <pre>{@code
 * try (NDManager m = Engines.newManager();
 *      ResNet18 net = ResNet18.fromStateDict(m, SafeTensors.read(path), 1000, 0)) {
 *     ResNet18.Output out = net.forward(batch, false); // batch: (N, 3, H, W), ImageNet-normalised
 *     float[] features = out.features().toFloatArray(); // N x 512
 * }
 * }</pre>
 */
public final class ResNet18 implements AutoCloseable {

    public static final int FEATURE_DIM = 512;
    public static final float BN_EPS = 1e-5f;
    /** PyTorch's convention: running = (1 - momentum) * running + momentum * batch. */
    public static final float BN_MOMENTUM = 0.1f;

    private static final int[] WIDTHS = {64, 128, 256, 512};

    private final NDManager manager;
    /** Every float tensor of the state dict, torchvision names, torchvision order. */
    private final Map<String, NDArray> params = new LinkedHashMap<>();
    /** {@code num_batches_tracked} per BatchNorm prefix. */
    private final Map<String, Long> batchesTracked = new LinkedHashMap<>();

    private final int numClasses;
    private volatile Map<String, NDArray[]> folded;
    private NDManager foldManager;

    /** The output of one forward pass. */
    public record Output(NDArray features, NDArray logits) {}

    private ResNet18(NDManager manager, int numClasses) {
        if (numClasses < 1) {
            throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        }
        this.manager = manager.newSubManager();
        this.numClasses = numClasses;
    }

    /**
     * torchvision's state-dict layout for {@code numClasses} outputs: name to shape, in order;
     * {@code num_batches_tracked} entries have an empty shape.
     */
    public static Map<String, long[]> layout(int numClasses) {
        Map<String, long[]> l = new LinkedHashMap<>();
        l.put("conv1.weight", new long[] {64, 3, 7, 7});
        putBn(l, "bn1", 64);
        int in = 64;
        for (int s = 0; s < 4; s++) {
            int w = WIDTHS[s];
            for (int b = 0; b < 2; b++) {
                String p = "layer" + (s + 1) + "." + b + ".";
                int blockIn = b == 0 ? in : w;
                l.put(p + "conv1.weight", new long[] {w, blockIn, 3, 3});
                putBn(l, p + "bn1", w);
                l.put(p + "conv2.weight", new long[] {w, w, 3, 3});
                putBn(l, p + "bn2", w);
                if (b == 0 && s > 0) {
                    l.put(p + "downsample.0.weight", new long[] {w, blockIn, 1, 1});
                    putBn(l, p + "downsample.1", w);
                }
            }
            in = w;
        }
        l.put("fc.weight", new long[] {numClasses, FEATURE_DIM});
        l.put("fc.bias", new long[] {numClasses});
        return l;
    }

    private static void putBn(Map<String, long[]> l, String p, int c) {
        l.put(p + ".weight", new long[] {c});
        l.put(p + ".bias", new long[] {c});
        l.put(p + ".running_mean", new long[] {c});
        l.put(p + ".running_var", new long[] {c});
        l.put(p + ".num_batches_tracked", new long[0]);
    }

    /** A freshly initialised network, exactly as torchvision initialises one, from {@code seed}. */
    public static ResNet18 create(NDManager manager, int numClasses, long seed) {
        ResNet18 net = new ResNet18(manager, numClasses);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Map.Entry<String, long[]> e : layout(numClasses).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            if (name.endsWith("num_batches_tracked")) {
                net.batchesTracked.put(bnPrefix(name), 0L);
                continue;
            }
            net.params.put(name, net.tensor(initialValues(name, shape, rnd), shape));
        }
        return net;
    }

    /**
     * Loads a torchvision state dict. Every name must be present with its exact shape, except the
     * head: a {@code fc} of another size is replaced by a fresh head of {@code numClasses} outputs
     * (seeded by {@code headSeed}), which is how a pretrained backbone is fine-tuned to new classes.
     *
     * @throws WeightsFormatException naming the first missing, misshapen or unexpected tensor
     */
    public static ResNet18 fromStateDict(
            NDManager manager, Map<String, Tensor> stateDict, int numClasses, long headSeed)
            throws WeightsFormatException {
        Map<String, long[]> layout = layout(numClasses);
        for (String name : stateDict.keySet()) {
            if (!layout.containsKey(name)) {
                throw new WeightsFormatException(
                        "not a torchvision ResNet-18 state dict: unexpected tensor '" + name + "'");
            }
        }
        boolean resizeHead = false;
        Tensor fcw = stateDict.get("fc.weight");
        if (fcw != null && fcw.shape().length == 2 && fcw.shape()[0] != numClasses && fcw.shape()[1] == FEATURE_DIM) {
            resizeHead = true;
        }
        ResNet18 net = new ResNet18(manager, numClasses);
        SplittableRandom rnd = new SplittableRandom(headSeed);
        try {
            for (Map.Entry<String, long[]> e : layout.entrySet()) {
                String name = e.getKey();
                long[] shape = e.getValue();
                Tensor t = stateDict.get(name);
                if (name.endsWith("num_batches_tracked")) {
                    net.batchesTracked.put(bnPrefix(name), t == null ? 0L : t.toLong());
                    continue;
                }
                if (resizeHead && name.startsWith("fc.")) {
                    net.params.put(name, net.tensor(initialValues(name, shape, rnd), shape));
                    continue;
                }
                if (t == null) {
                    throw new WeightsFormatException("not a torchvision ResNet-18 state dict: missing '" + name + "'");
                }
                if (!Tensor.F32.equals(t.dtype()) || !java.util.Arrays.equals(t.shape(), shape)) {
                    throw new WeightsFormatException(
                            "tensor '" + name + "' is " + t + ", expected F32" + java.util.Arrays.toString(shape));
                }
                net.params.put(name, net.tensor(t.toFloatArray(), shape));
            }
        } catch (WeightsFormatException | RuntimeException e) {
            net.close();
            throw e;
        }
        return net;
    }

    private NDArray tensor(float[] values, long[] shape) {
        return shape.length == 4 ? channelsLast(manager, values, shape) : manager.create(values, new Shape(shape));
    }

    /**
     * A (N, C, H, W) array whose memory is laid out as (N, H, W, C). oneDNN's convolutions work in
     * that layout natively; with NCHW weights or activations PyTorch reorders every tensor at every
     * convolution, forward and backward, which costs about a quarter of a training step on CPU. The
     * array is a permuted view of an NHWC array, so shapes and semantics stay NCHW.
     *
     * @param nchw values in the usual C order of shape (N, C, H, W)
     */
    static NDArray channelsLast(NDManager manager, float[] nchw, long[] shape) {
        int n = (int) shape[0];
        int c = (int) shape[1];
        int hw = (int) (shape[2] * shape[3]);
        float[] nhwc = new float[nchw.length];
        for (int i = 0; i < n; i++) {
            int base = i * c * hw;
            for (int ch = 0; ch < c; ch++) {
                int src = base + ch * hw;
                for (int p = 0; p < hw; p++) {
                    nhwc[base + p * c + ch] = nchw[src + p];
                }
            }
        }
        return manager.create(nhwc, new Shape(shape[0], shape[2], shape[3], shape[1]))
                .transpose(0, 3, 1, 2);
    }

    private static String bnPrefix(String name) {
        return name.substring(0, name.lastIndexOf('.'));
    }

    private static float[] initialValues(String name, long[] shape, SplittableRandom rnd) {
        int n = Math.toIntExact(Tensor.elementCount(shape));
        float[] v = new float[n];
        if (name.startsWith("fc.")) {
            // nn.Linear's default: kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            double bound = 1.0 / Math.sqrt(FEATURE_DIM);
            for (int i = 0; i < n; i++) {
                v[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            }
        } else if (shape.length == 4) {
            // kaiming_normal_(mode="fan_out", nonlinearity="relu")
            double std = Math.sqrt(2.0 / (shape[0] * shape[2] * shape[3]));
            for (int i = 0; i < n; i++) {
                v[i] = (float) (rnd.nextGaussian() * std);
            }
        } else if (name.endsWith(".weight") || name.endsWith("running_var")) {
            java.util.Arrays.fill(v, 1f);
        }
        return v;
    }

    public int numClasses() {
        return numClasses;
    }

    /** The float tensors, by torchvision name (live arrays: do not close them). */
    public Map<String, NDArray> parameters() {
        return Collections.unmodifiableMap(params);
    }

    /** Names of the tensors an optimiser updates: weights and biases, not running statistics. */
    public List<String> trainableNames() {
        List<String> out = new ArrayList<>();
        for (String n : params.keySet()) {
            if (!n.endsWith("running_mean") && !n.endsWith("running_var")) {
                out.add(n);
            }
        }
        return out;
    }

    /** The number of trainable parameters (11,689,512 for 1000 classes, as torchvision). */
    public long trainableParameterCount() {
        long n = 0;
        for (String name : trainableNames()) {
            n += params.get(name).size();
        }
        return n;
    }

    /** A host copy of the whole state dict, torchvision names and order. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : layout(numClasses).entrySet()) {
            String name = e.getKey();
            if (name.endsWith("num_batches_tracked")) {
                out.put(name, Tensor.ofLong(batchesTracked.get(bnPrefix(name))));
            } else {
                out.put(name, Tensor.ofFloats(e.getValue(), params.get(name).toFloatArray()));
            }
        }
        return out;
    }

    /** Must be called after anything changes the weights, so that inference drops its folded copy. */
    public void weightsChanged() {
        NDManager f = foldManager;
        folded = null;
        foldManager = null;
        if (f != null) {
            f.close();
        }
    }

    /**
     * One forward pass. In inference mode ({@code training == false}) BatchNorm uses its running
     * statistics, folded into the preceding convolution (the same function, one pass fewer over
     * memory); in training mode it uses batch statistics and updates the running ones.
     *
     * @param x a float32 batch (N, 3, H, W) on this model's device; H and W at least 32
     */
    public Output forward(NDArray x, boolean training) {
        if (training) {
            return forwardTraining(x, Set.of());
        }
        Map<String, NDArray[]> f = foldedWeights();
        NDArray h = convBias(x, f.get("conv1"), 2, 3);
        h = Activation.relu(h);
        h = Pool.maxPool2d(h, new Shape(3, 3), new Shape(2, 2), new Shape(1, 1), false);
        for (int s = 0; s < 4; s++) {
            for (int b = 0; b < 2; b++) {
                String p = "layer" + (s + 1) + "." + b + ".";
                int stride = (s > 0 && b == 0) ? 2 : 1;
                NDArray out = Activation.relu(convBias(h, f.get(p + "conv1"), stride, 1));
                out = convBias(out, f.get(p + "conv2"), 1, 1);
                NDArray identity = (s > 0 && b == 0) ? convBias(h, f.get(p + "downsample.0"), stride, 0) : h;
                h = Activation.relu(out.addi(identity));
            }
        }
        NDArray features = Pool.globalAvgPool2d(h);
        NDArray logits = Linear.linear(features, params.get("fc.weight"), params.get("fc.bias"))
                .singletonOrThrow();
        return new Output(features, logits);
    }

    /**
     * A training-mode pass in which the listed top-level modules ({@code conv1, bn1, layer1 .. layer4,
     * fc}) are frozen: their BatchNorms use and keep their running statistics, as in inference, so a
     * frozen layer computes exactly what it computed before training. (Their weights must not require
     * gradients; the trainer takes care of that.)
     */
    public Output forward(NDArray x, Set<String> frozen) {
        return forwardTraining(x, frozen);
    }

    /** The top-level module of a parameter or layer name: "layer3.1.bn2.weight" belongs to "layer3". */
    public static String module(String name) {
        int dot = name.indexOf('.');
        return dot < 0 ? name : name.substring(0, dot);
    }

    private Output forwardTraining(NDArray x, Set<String> frozen) {
        NDArray h = conv(x, "conv1.weight", 2, 3);
        h = Activation.relu(bn(h, "bn1", frozen));
        h = Pool.maxPool2d(h, new Shape(3, 3), new Shape(2, 2), new Shape(1, 1), false);
        for (int s = 0; s < 4; s++) {
            for (int b = 0; b < 2; b++) {
                String p = "layer" + (s + 1) + "." + b + ".";
                int stride = (s > 0 && b == 0) ? 2 : 1;
                NDArray out = Activation.relu(bn(conv(h, p + "conv1.weight", stride, 1), p + "bn1", frozen));
                out = bn(conv(out, p + "conv2.weight", 1, 1), p + "bn2", frozen);
                NDArray identity = h;
                if (s > 0 && b == 0) {
                    identity = bn(conv(h, p + "downsample.0.weight", stride, 0), p + "downsample.1", frozen);
                }
                h = Activation.relu(out.add(identity));
            }
        }
        weightsChanged();
        NDArray features = Pool.globalAvgPool2d(h);
        NDArray logits = Linear.linear(features, params.get("fc.weight"), params.get("fc.bias"))
                .singletonOrThrow();
        return new Output(features, logits);
    }

    private NDArray conv(NDArray x, String weight, int stride, int pad) {
        NDList out = Conv2d.conv2d(
                x, params.get(weight), null, new Shape(stride, stride), new Shape(pad, pad), new Shape(1, 1), 1);
        return out.singletonOrThrow();
    }

    private static NDArray convBias(NDArray x, NDArray[] wb, int stride, int pad) {
        return Conv2d.conv2d(x, wb[0], wb[1], new Shape(stride, stride), new Shape(pad, pad), new Shape(1, 1), 1)
                .singletonOrThrow();
    }

    private NDArray bn(NDArray x, String prefix, Set<String> frozen) {
        boolean train = !frozen.contains(module(prefix));
        NDArray out = TorchOps.batchNorm(
                x,
                params.get(prefix + ".running_mean"),
                params.get(prefix + ".running_var"),
                params.get(prefix + ".weight"),
                params.get(prefix + ".bias"),
                train,
                BN_MOMENTUM,
                BN_EPS);
        if (train) {
            batchesTracked.merge(prefix, 1L, Long::sum);
        }
        return out;
    }

    private Map<String, NDArray[]> foldedWeights() {
        Map<String, NDArray[]> f = folded;
        if (f != null) {
            return f;
        }
        synchronized (this) {
            if (folded == null) {
                NDManager fm = manager.newSubManager();
                Map<String, NDArray[]> m = new LinkedHashMap<>();
                for (String name : params.keySet()) {
                    if (name.endsWith("conv1.weight")
                            || name.endsWith("conv2.weight")
                            || name.endsWith("downsample.0.weight")) {
                        String conv = name.substring(0, name.length() - ".weight".length());
                        String bnName = conv.endsWith("downsample.0")
                                ? conv.substring(0, conv.length() - 1) + "1"
                                : conv.replace("conv", "bn");
                        m.put(conv, fold(fm, params.get(name), bnName));
                    }
                }
                foldManager = fm;
                folded = m;
            }
            return folded;
        }
    }

    /** Folds BatchNorm (running statistics) into the convolution before it, in double precision. */
    private NDArray[] fold(NDManager fm, NDArray weight, String bn) {
        Folded f = foldBatchNorm(
                weight.toFloatArray(),
                params.get(bn + ".weight").toFloatArray(),
                params.get(bn + ".bias").toFloatArray(),
                params.get(bn + ".running_mean").toFloatArray(),
                params.get(bn + ".running_var").toFloatArray());
        return new NDArray[] {
            channelsLast(fm, f.weight(), weight.getShape().getShape()), fm.create(f.bias(), new Shape(f.bias().length))
        };
    }

    /** A convolution with the BatchNorm after it folded in: weight {@code w * s}, bias {@code beta - mean * s}. */
    public record Folded(float[] weight, float[] bias) {}

    /**
     * Folds a BatchNorm's running statistics into the convolution before it, in double precision:
     * {@code s = gamma / sqrt(var + eps)} per output channel. The inference path here and the ONNX
     * export both fold through this, so they compute the same weights.
     *
     * @param w the convolution's weight, output channel first
     */
    public static Folded foldBatchNorm(float[] w, float[] gamma, float[] beta, float[] mean, float[] var) {
        int out = gamma.length;
        int per = w.length / out;
        float[] w2 = new float[w.length];
        float[] b2 = new float[out];
        for (int o = 0; o < out; o++) {
            double scale = gamma[o] / Math.sqrt(var[o] + (double) BN_EPS);
            for (int i = o * per; i < (o + 1) * per; i++) {
                w2[i] = (float) (w[i] * scale);
            }
            b2[o] = (float) (beta[o] - mean[o] * scale);
        }
        return new Folded(w2, b2);
    }

    @Override
    public void close() {
        weightsChanged();
        manager.close();
    }
}

package org.medsearch.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.model.ResNet18;
import org.medsearch.model.SafeTensors;
import org.medsearch.model.Tensor;
import org.medsearch.testutil.Npy;
import org.medsearch.testutil.Shared;

/**
 * The exported graph against torchvision (the shared fixture) and against DJL's forward pass on the
 * same weights: features and logits within 1e-4 at 64 and 224, any batch size.
 */
class OnnxConformanceTest {

    static final double TOLERANCE = 1e-4;

    @Test
    void theExportReadsBackAsWrittenWithBatchNormFoldedAndADynamicBatch() throws Exception {
        Path dir = Shared.require("conformance/resnet18");
        Map<String, Tensor> sd = SafeTensors.read(dir.resolve("resnet18.safetensors"));
        OnnxModel m = ResNet18Onnx.build(sd, 1000, 64);
        byte[] bytes = OnnxCodec.write(m);
        OnnxModel back = OnnxCodec.read(bytes);

        assertEquals(ResNet18Onnx.OPSET, back.opset());
        assertEquals(m.nodes().size(), back.nodes().size());
        for (int i = 0; i < m.nodes().size(); i++) {
            OnnxModel.Node a = m.nodes().get(i);
            OnnxModel.Node b = back.nodes().get(i);
            assertEquals(a.opType(), b.opType());
            assertEquals(a.inputs(), b.inputs());
            assertEquals(a.outputs(), b.outputs());
            assertEquals(a.attributes().size(), b.attributes().size());
            for (int j = 0; j < a.attributes().size(); j++) {
                assertEquals(a.attributes().get(j).name(), b.attributes().get(j).name());
                assertArrayEquals(
                        a.attributes().get(j).ints(), b.attributes().get(j).ints());
                assertEquals(a.attributes().get(j).i(), b.attributes().get(j).i());
            }
        }
        assertEquals(m.initializers().keySet(), back.initializers().keySet());
        for (OnnxModel.Initializer t : m.initializers().values()) {
            OnnxModel.Initializer u = back.initializers().get(t.name());
            assertArrayEquals(t.dims(), u.dims(), t.name());
            assertArrayEquals(t.raw(), u.raw(), t.name());
        }
        assertEquals(m.inputs(), back.inputs());
        assertEquals(m.outputs(), back.outputs());
        // 20 convolutions with their BatchNorms folded in, and no BatchNorm left
        assertEquals(
                20, back.nodes().stream().filter(n -> n.opType().equals("Conv")).count());
        assertTrue(back.nodes().stream().noneMatch(n -> n.opType().startsWith("BatchNorm")));
        assertEquals(
                List.of(ResNet18Onnx.BATCH, 64L, 64L, 3L), back.inputs().get(0).dims());
        assertEquals(
                List.of(ResNet18Onnx.FEATURES, ResNet18Onnx.LOGITS),
                back.outputs().stream().map(OnnxModel.ValueInfo::name).toList());
        // the weights are folded: 20 conv weights + 20 biases + fc weight and bias
        assertEquals(42, back.initializers().size());
    }

    @ParameterizedTest
    @ValueSource(ints = {64, 224})
    void featuresAndLogitsMatchTorchvisionAndDjl(int size) throws Exception {
        Path dir = Shared.require("conformance/resnet18");
        Map<String, Tensor> sd = SafeTensors.read(dir.resolve("resnet18.safetensors"));
        Npy input = Npy.read(dir.resolve("input_" + size + ".npy"));
        Npy features = Npy.read(dir.resolve("features_" + size + ".npy"));
        Npy logits = Npy.read(dir.resolve("logits_" + size + ".npy"));
        int n = (int) input.shape()[0];
        float[] nhwc = nhwc(input.data(), n, size);

        float[][] onnx = run(OnnxCodec.write(ResNet18Onnx.build(sd, 1000, size)), nhwc, n, size);
        float[] djlFeatures;
        float[] djlLogits;
        try (NDManager m = NDManager.newBaseManager();
                ResNet18 net = ResNet18.fromStateDict(m, sd, 1000, 0)) {
            NDArray x = m.create(input.data(), new Shape(input.shape()));
            ResNet18.Output out = net.forward(x, false);
            djlFeatures = out.features().toFloatArray();
            djlLogits = out.logits().toFloatArray();
        }
        double f1 = assertClose(features.data(), onnx[0], "features vs torchvision, " + size);
        double l1 = assertClose(logits.data(), onnx[1], "logits vs torchvision, " + size);
        double f2 = assertClose(djlFeatures, onnx[0], "features vs DJL, " + size);
        double l2 = assertClose(djlLogits, onnx[1], "logits vs DJL, " + size);
        System.out.printf(
                "onnx conformance at %d: max |diff| features %.2e / logits %.2e vs torchvision, %.2e / %.2e vs DJL%n",
                size, f1, l1, f2, l2);
    }

    @Test
    void anImagesOutputDoesNotDependOnItsBatch() throws Exception {
        Path dir = Shared.require("conformance/resnet18");
        Map<String, Tensor> sd = SafeTensors.read(dir.resolve("resnet18.safetensors"));
        Npy input = Npy.read(dir.resolve("input_64.npy"));
        float[] nhwc = nhwc(input.data(), 2, 64);
        byte[] graph = OnnxCodec.write(ResNet18Onnx.build(sd, 1000, 64));
        float[] three = new float[3 * nhwc.length / 2];
        System.arraycopy(nhwc, 0, three, 0, nhwc.length);
        System.arraycopy(nhwc, 0, three, nhwc.length, nhwc.length / 2);
        float[][] pair = run(graph, nhwc, 2, 64);
        float[][] triple = run(graph, three, 3, 64);
        float[] first = java.util.Arrays.copyOf(pair[0], 512);
        assertClose(first, java.util.Arrays.copyOfRange(triple[0], 2 * 512, 3 * 512), "batch of 3 vs batch of 2");
        assertClose(pair[0], java.util.Arrays.copyOf(triple[0], 1024), "the same two images");
    }

    static float[][] run(byte[] graph, float[] nhwc, int n, int size) throws Exception {
        try (OrtSession s = Ort.session(graph);
                OnnxTensor x = OnnxTensor.createTensor(
                        Ort.environment(), FloatBuffer.wrap(nhwc), new long[] {n, size, size, 3});
                OrtSession.Result r = s.run(Map.of(ResNet18Onnx.INPUT, x))) {
            List<float[]> out = new ArrayList<>();
            for (String name : List.of(ResNet18Onnx.FEATURES, ResNet18Onnx.LOGITS)) {
                FloatBuffer b = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
                float[] a = new float[b.remaining()];
                b.get(a);
                out.add(a);
            }
            return out.toArray(new float[0][]);
        }
    }

    static float[] nhwc(float[] nchw, int n, int size) {
        float[] out = new float[nchw.length];
        int plane = size * size;
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                for (int p = 0; p < plane; p++) {
                    out[(i * plane + p) * 3 + c] = nchw[(i * 3 + c) * plane + p];
                }
            }
        }
        return out;
    }

    static double assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= TOLERANCE, what + ": max abs difference " + worst + " > " + TOLERANCE);
        return worst;
    }
}

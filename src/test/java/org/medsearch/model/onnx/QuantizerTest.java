package org.medsearch.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.model.SafeTensors;
import org.medsearch.model.Tensor;
import org.medsearch.testutil.Npy;
import org.medsearch.testutil.Shared;
import org.medsearch.util.MedsearchException;

/** The int8 graph: its form, that ONNX Runtime turns it into integer kernels, and how close it stays to fp32. */
class QuantizerTest {

    @Test
    void everyConvolutionIsQuantizedAndTheFeaturesStayFloat() throws Exception {
        OnnxModel fp32 = fixtureGraph(64);
        OnnxModel q = Quantizer.quantize(fp32, calibration(64, 8, 1));
        assertEquals(fp32.inputs(), q.inputs());
        assertEquals(fp32.outputs(), q.outputs());
        List<OnnxModel.Node> convs =
                q.nodes().stream().filter(n -> n.opType().equals("Conv")).toList();
        assertEquals(20, convs.size());
        Map<String, String> producer = new java.util.HashMap<>();
        q.nodes().forEach(n -> n.outputs().forEach(o -> producer.put(o, n.opType())));
        for (OnnxModel.Node c : convs) {
            for (String in : c.inputs()) {
                assertEquals("DequantizeLinear", producer.get(in), c.name() + " reads " + in);
            }
        }
        // weights int8 per output channel, biases int32, and no float convolution weight left
        long int8 = q.initializers().values().stream()
                .filter(t -> t.dataType() == OnnxModel.INT8 && t.dims().length == 4)
                .count();
        assertEquals(20, int8);
        assertTrue(q.initializers().values().stream()
                .noneMatch(t -> t.dataType() == OnnxModel.FLOAT && t.dims().length == 4));
        // the pool reads a float tensor: the features are not rounded to 8 bits
        OnnxModel.Node pool = q.nodes().stream()
                .filter(n -> n.opType().equals("GlobalAveragePool"))
                .findFirst()
                .orElseThrow();
        assertEquals("Relu", producer.get(pool.inputs().get(0)));
    }

    @Test
    void onnxRuntimeRunsItOnIntegerConvolutions(@TempDir Path tmp) throws Exception {
        byte[] graph = OnnxCodec.write(Quantizer.quantize(fixtureGraph(64), calibration(64, 8, 2)));
        Path optimized = tmp.resolve("optimized.onnx");
        Ort.environment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
            o.setOptimizedModelFilePath(optimized.toString());
            Ort.environment().createSession(graph, o).close();
        }
        OnnxModel after = OnnxCodec.read(Files.readAllBytes(optimized));
        long qconv = after.nodes().stream()
                .filter(n -> n.opType().equals("QLinearConv"))
                .count();
        long floatConv =
                after.nodes().stream().filter(n -> n.opType().equals("Conv")).count();
        assertEquals(20, qconv, "fused integer convolutions");
        assertEquals(0, floatConv, "float convolutions left after fusion");
    }

    @Test
    void itStaysCloseToFp32AndIsDeterministic() throws Exception {
        OnnxModel fp32 = fixtureGraph(64);
        Path dir = Shared.require("conformance/resnet18");
        Npy input = Npy.read(dir.resolve("input_64.npy"));
        float[] x = OnnxConformanceTest.nhwc(input.data(), 2, 64);
        // calibrated on the images it is then run on: what is left is the rounding to 8 bits
        List<float[]> cal = List.of(x);
        byte[] a = OnnxCodec.write(Quantizer.quantize(fp32, cal));
        byte[] b = OnnxCodec.write(Quantizer.quantize(fp32, cal));
        assertArrayEquals(a, b, "same graph and images, same bytes");

        float[] f = OnnxConformanceTest.run(OnnxCodec.write(fp32), x, 2, 64)[0];
        float[] g = OnnxConformanceTest.run(a, x, 2, 64)[0];
        double d2 = 0;
        double n2 = 0;
        for (int i = 0; i < f.length; i++) {
            d2 += (f[i] - g[i]) * (double) (f[i] - g[i]);
            n2 += f[i] * (double) f[i];
        }
        double rel = Math.sqrt(d2 / n2);
        System.out.printf("int8 vs fp32 on the conformance fixture: relative feature error %.4f%n", rel);
        assertTrue(rel < 0.05, "relative feature error " + rel);
    }

    @Test
    void thePercentileClipsOnlyTheTails() {
        long[] h = new long[100];
        java.util.Arrays.fill(h, 10); // 1000 values spread evenly over [-1, 1]
        h[99] = 10;
        float[] all = Quantizer.clip(h, -1f, 1f, 100);
        assertEquals(-1f, all[0], 1e-6);
        assertEquals(1f, all[1], 1e-6);
        float[] cut = Quantizer.clip(h, -1f, 1f, 98); // 2% = 20 values each side: two bins
        assertEquals(-0.96f, cut[0], 1e-5);
        assertEquals(0.96f, cut[1], 1e-5);
        long[] relu = new long[10];
        relu[0] = 1000;
        relu[9] = 1; // one outlier far out
        float[] r = Quantizer.clip(relu, 0f, 10f, 99.9);
        assertEquals(0f, r[0]);
        assertEquals(1f, r[1], 1e-6, "the lone outlier is cut, zero stays in");
    }

    @Test
    void noCalibrationImagesIsAnError() throws Exception {
        // a graph of its own: this needs no shared data
        OnnxModel graph = ResNet18Onnx.build(org.medsearch.testutil.Bundles.stateDict(3, 1), 3, 32);
        assertThrows(MedsearchException.class, () -> Quantizer.quantize(graph, List.of()));
    }

    static OnnxModel fixtureGraph(int size) throws Exception {
        Path dir = Shared.require("conformance/resnet18");
        Map<String, Tensor> sd = SafeTensors.read(dir.resolve("resnet18.safetensors"));
        return ResNet18Onnx.build(sd, 1000, size);
    }

    /** Smooth random images in ImageNet-normalised range, NHWC. */
    static List<float[]> calibration(int size, int images, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<float[]> out = new ArrayList<>();
        float[] batch = new float[images * size * size * 3];
        for (int i = 0; i < images; i++) {
            double fx = rnd.nextDouble(0.02, 0.3);
            double fy = rnd.nextDouble(0.02, 0.3);
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    float v = (float) (0.5 + 0.5 * Math.sin(x * fx) * Math.cos(y * fy) + rnd.nextDouble(-0.05, 0.05));
                    for (int c = 0; c < 3; c++) {
                        batch[((i * size + y) * size + x) * 3 + c] = (v - 0.45f) / 0.225f;
                    }
                }
            }
        }
        out.add(batch);
        return out;
    }
}

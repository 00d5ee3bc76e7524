package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.testutil.Npy;
import org.medsearch.testutil.Shared;

/** The port against torchvision itself: features and logits of the shared fixture to 1e-4. */
class ResNet18ConformanceTest {

    static final double TOLERANCE = 1e-4;

    @Test
    void parameterCountIsTorchvisions() {
        try (NDManager m = NDManager.newBaseManager();
                ResNet18 net = ResNet18.create(m, 1000, 1)) {
            assertEquals(11_689_512L, net.trainableParameterCount());
            assertEquals(122, net.stateDict().size());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {64, 224})
    void safetensorsMatchesTorchvision(int size) throws Exception {
        Path dir = Shared.require("conformance/resnet18");
        Map<String, Tensor> sd = SafeTensors.read(dir.resolve("resnet18.safetensors"));
        assertEquals(122, sd.size());
        checkAgainstFixture(dir, sd, size);
    }

    static void checkAgainstFixture(Path dir, Map<String, Tensor> sd, int size) throws Exception {
        Npy input = Npy.read(dir.resolve("input_" + size + ".npy"));
        Npy features = Npy.read(dir.resolve("features_" + size + ".npy"));
        Npy logits = Npy.read(dir.resolve("logits_" + size + ".npy"));
        try (NDManager m = NDManager.newBaseManager();
                ResNet18 net = ResNet18.fromStateDict(m, sd, 1000, 0)) {
            NDArray x = m.create(input.data(), new Shape(input.shape()));
            ResNet18.Output out = net.forward(x, false);
            assertArrayEquals(new long[] {2, 512}, out.features().getShape().getShape());
            assertClose(features.data(), out.features().toFloatArray(), "features_" + size);
            assertClose(logits.data(), out.logits().toFloatArray(), "logits_" + size);
        }
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= TOLERANCE, what + ": max abs difference " + worst + " > " + TOLERANCE);
    }
}

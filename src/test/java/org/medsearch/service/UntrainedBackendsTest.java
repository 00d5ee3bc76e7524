package org.medsearch.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.Preprocessing;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.InferenceRuntime;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.MedsearchException;

/** {@link Models#untrained}: the benchmark's backends, one per runtime, on the same random weights. */
class UntrainedBackendsTest {

    static final List<String> CLASSES = List.of("a", "b", "c");
    static final int SIZE = 32;

    @TempDir
    Path tmp;

    @Test
    void everyRuntimeRunsTheSameRandomNetwork() throws Exception {
        List<Path> calibration = new ArrayList<>();
        Random rnd = new Random(3);
        for (int i = 0; i < 5; i++) {
            Path f = tmp.resolve(i + ".png");
            Files.write(f, TestImages.png(TestImages.pattern(TestImages.PATTERNS[i % 3], SIZE, rnd)));
            calibration.add(f);
        }
        float[] x = new float[2 * Preprocessing.imagenet(SIZE).inputLength()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        List<List<Embedding>> out = new ArrayList<>();
        for (InferenceRuntime rt : InferenceRuntime.values()) {
            try (EmbeddingBackend b = Models.untrained(rt, CLASSES, SIZE, calibration)) {
                assertEquals(rt.label(), b.name());
                assertEquals(CLASSES, b.classes());
                assertEquals(SIZE, b.preprocessing().imageSize());
                List<Embedding> e = b.embed(x, 2);
                assertEquals(2, e.size());
                if (rt != InferenceRuntime.ONNX_INT8) {
                    out.add(e);
                }
            }
        }
        // torch and onnx (fp32) agree: the same seeded weights on both
        for (int i = 0; i < 2; i++) {
            float[] a = out.get(0).get(i).vector();
            float[] b = out.get(1).get(i).vector();
            for (int j = 0; j < a.length; j++) {
                assertTrue(Math.abs(a[j] - b[j]) < 1e-3 * Math.max(1, Math.abs(a[j])), "feature " + j);
            }
        }
    }

    @Test
    void int8NeedsACalibrationImageThatDecodes() throws Exception {
        Path junk = Files.writeString(tmp.resolve("junk.png"), "not an image");
        assertThrows(
                MedsearchException.class,
                () -> Models.untrained(InferenceRuntime.ONNX_INT8, CLASSES, SIZE, List.of(junk)));
    }
}

package org.medsearch.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PreprocessingTest {

    @Test
    void writesChannelsLastNormalisedInput() {
        float[] px = new float[32 * 32];
        px[0] = 1f;
        px[1] = 0.5f;
        Preprocessing p = Preprocessing.imagenet(32);
        float[] in = p.apply(new MedicalImage(32, 32, px));
        assertEquals(32 * 32 * 3, in.length);
        for (int c = 0; c < 3; c++) {
            float mean = Preprocessing.IMAGENET_MEAN[c];
            float std = Preprocessing.IMAGENET_STD[c];
            assertEquals((1f - mean) / std, in[c], 1e-6f);
            assertEquals((0.5f - mean) / std, in[3 + c], 1e-6f);
            assertEquals((0f - mean) / std, in[6 + c], 1e-6f);
        }
    }

    @Test
    void resizesToTheSquareSize() {
        MedicalImage img = new MedicalImage(100, 50, new float[5000]);
        assertEquals(64 * 64 * 3, Preprocessing.imagenet(64).apply(img).length);
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.imagenet(8));
        assertThrows(
                IllegalArgumentException.class,
                () -> new Preprocessing(64, new float[] {0, 0, 0}, new float[] {1, 0, 1}));
    }
}

package org.medsearch.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The resampler against Pillow's float ('F' mode) BILINEAR resize, an independent implementation. */
class ResamplerTest {

    static float[] source() {
        // the same 6x5 image the Pillow references below were computed from:
        // a = [[((x*7+y*3)%11)/10 for x in range(6)] for y in range(5)]
        float[] a = new float[30];
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 6; x++) {
                a[y * 6 + x] = ((x * 7 + y * 3) % 11) / 10f;
            }
        }
        return a;
    }

    // /usr/bin/python3 -c "from PIL import Image; import numpy as np; ...
    //   np.asarray(Image.fromarray(a, mode='F').resize((W, H), Image.BILINEAR))" (Pillow 9.4)
    static final float[] PIL_4x3 = {
        0.391071f, 0.587302f, 0.655556f, 0.478571f, 0.541667f, 0.567901f, 0.465432f, 0.476389f, 0.528571f, 0.412698f,
        0.411111f, 0.321429f
    };
    static final float[] PIL_3x5 = {
        0.342857f, 0.650000f, 0.485714f, 0.642857f, 0.537500f, 0.628571f, 0.471429f, 0.562500f, 0.457143f, 0.614286f,
        0.450000f, 0.285714f, 0.442857f, 0.337500f, 0.428571f
    };
    static final float[] PIL_9x8_FIRST_ROWS = {
        0.000000f, 0.350000f, 0.633333f, 0.366667f, 0.650000f, 0.933333f, 0.666667f, 0.400000f, 0.200000f, 0.131250f,
        0.481250f, 0.764583f, 0.497917f, 0.540625f, 0.663542f, 0.717708f, 0.531250f, 0.331250f
    };

    @Test
    void shrinkMatchesPillowIncludingAntialiasing() {
        assertArrayEquals(PIL_4x3, Resampler.resize(source(), 6, 5, 4, 3), 1e-5f);
        assertArrayEquals(PIL_3x5, Resampler.resize(source(), 6, 5, 3, 5), 1e-5f);
    }

    @Test
    void enlargeMatchesPillow() {
        float[] r = Resampler.resize(source(), 6, 5, 9, 8);
        float[] firstRows = java.util.Arrays.copyOf(r, 18);
        assertArrayEquals(PIL_9x8_FIRST_ROWS, firstRows, 1e-5f);
    }

    @Test
    void sameSizeIsACopy() {
        float[] a = source();
        float[] b = Resampler.resize(a, 6, 5, 6, 5);
        assertArrayEquals(a, b);
        b[0] = 42;
        assertEquals(0f, a[0]);
    }

    @Test
    void shrinkingAveragesInsteadOfAliasing() {
        // a one-pixel checkerboard shrunk 4x must come out flat grey, not black or white
        int n = 64;
        float[] board = new float[n * n];
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                board[y * n + x] = (x + y) % 2;
            }
        }
        for (float v : Resampler.resize(board, n, n, 16, 16)) {
            assertEquals(0.5f, v, 0.02f);
        }
    }
}

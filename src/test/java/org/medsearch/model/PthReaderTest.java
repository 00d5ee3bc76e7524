package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Well-formed state dicts: views, shared storages, scalars and Parameters, against torch's own copies. */
class PthReaderTest {

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        try {
            return Path.of(PthReaderTest.class.getResource("pth/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Same names in the same order, same dtypes and shapes, same bytes. */
    static void assertSameTensors(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()), "names and order");
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor want = e.getValue();
            Tensor got = actual.get(e.getKey());
            assertEquals(want.dtype(), got.dtype(), e.getKey() + " dtype");
            assertArrayEquals(want.shape(), got.shape(), e.getKey() + " shape");
            assertEquals(want.data(), got.data(), e.getKey() + " data");
        }
    }

    /** views.pth holds strided, offset and stride-0 views of shared storages; torch made them contiguous. */
    @ParameterizedTest
    @ValueSource(strings = {"views.pth", "views_p4.pth"})
    void viewsMatchTorchsContiguousCopies(String file) throws Exception {
        Map<String, Tensor> expected = SafeTensors.read(fixture("views.safetensors"));
        assertSameTensors(expected, PthReader.read(fixture(file)));
    }

    @Test
    void transposedViewOfSharedStorageIsCopiedInCOrder() throws Exception {
        Map<String, Tensor> sd = PthReader.read(fixture("views.pth"));
        float[] base = sd.get("base").toFloatArray();
        float[] t = sd.get("transposed").toFloatArray();
        assertArrayEquals(new long[] {6, 4}, sd.get("transposed").shape());
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 4; j++) {
                assertEquals(base[j * 6 + i], t[i * 4 + j]);
            }
        }
        // base[1:3, 1::2]: offset 7, strides (6, 2)
        assertArrayEquals(
                new float[] {base[7], base[9], base[11], base[13], base[15], base[17]},
                sd.get("slice").toFloatArray());
        assertArrayEquals(
                new float[] {1.5f, -2.5f, 1.5f, -2.5f, 1.5f, -2.5f},
                sd.get("expanded").toFloatArray());
    }

    @Test
    void int64ScalarsParametersAndEmptyTensors() throws Exception {
        Map<String, Tensor> sd = PthReader.read(fixture("views.pth"));
        Tensor nbt = sd.get("bn.num_batches_tracked");
        assertEquals(Tensor.I64, nbt.dtype());
        assertArrayEquals(new long[0], nbt.shape());
        assertEquals(1000L, nbt.toLong());
        Tensor longs = sd.get("longs"); // [-1, 2**40, -2**62, 7][::2]
        assertEquals(-1L, longs.data().getLong(0));
        assertEquals(-(1L << 62), longs.data().getLong(8));
        assertArrayEquals(new long[] {3, 2}, sd.get("fc.weight").shape()); // an nn.Parameter in the file
        assertEquals(Tensor.F32, sd.get("fc.bias").dtype());
        assertArrayEquals(new long[] {0, 3}, sd.get("empty").shape());
        assertEquals(0.125f, sd.get("scalar").toFloatArray()[0]);
    }

    @Test
    void tensorsSharingAStorageGetBuffersOfTheirOwn() throws Exception {
        byte[] pkl = new TorchZip.P()
                .proto()
                .orderedDict()
                .mark()
                .str("a")
                .tensor("FloatStorage", "0", 6, 0, new long[] {6}, new long[] {1})
                .str("b")
                .tensor("FloatStorage", "0", 6, 2, new long[] {2, 2}, new long[] {1, 2})
                .op(TorchZip.SETITEMS, TorchZip.STOP)
                .bytes();
        Path f = TorchZip.write(tmp.resolve("shared.pth"), pkl, Map.of("0", TorchZip.floats(6)));
        Map<String, Tensor> sd = PthReader.read(f);
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, sd.get("a").toFloatArray());
        assertArrayEquals(new float[] {2, 4, 3, 5}, sd.get("b").toFloatArray());
        sd.get("a").data().putFloat(8, 99f);
        assertEquals(2f, sd.get("b").toFloatArray()[0]);
    }

    @Test
    void aPlainDictWorksAsWellAsAnOrderedDict() throws Exception {
        byte[] pkl = new TorchZip.P()
                .proto()
                .op(TorchZip.EMPTY_DICT)
                .str("w")
                .tensor("LongStorage", "k", 1, 0, new long[0], new long[0])
                .op(TorchZip.SETITEM, TorchZip.STOP)
                .bytes();
        Path f = TorchZip.write(
                tmp.resolve("dict.pth"),
                pkl,
                Map.of(
                        "k",
                        ByteBuffer.allocate(8)
                                .order(ByteOrder.LITTLE_ENDIAN)
                                .putLong(0, 1)
                                .array()));
        assertEquals(1L, PthReader.read(f).get("w").toLong());
    }
}

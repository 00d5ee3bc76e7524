package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @Test
    void roundTripKeepsOrderShapesAndBytes(@TempDir Path dir) throws Exception {
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("b.weight", Tensor.ofFloats(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}));
        sd.put("a.empty", Tensor.ofFloats(new long[] {0}, new float[0]));
        sd.put("a.count", Tensor.ofLong(1000));
        Path f = dir.resolve("x.safetensors");
        SafeTensors.write(f, sd, Map.of("format", "pt"));
        Map<String, Tensor> back = SafeTensors.read(f);
        assertEquals(sd.keySet().stream().toList(), back.keySet().stream().toList());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, back.get("b.weight").toFloatArray());
        assertArrayEquals(new long[] {2, 3}, back.get("b.weight").shape());
        assertEquals(1000, back.get("a.count").toLong());
        assertEquals(0, back.get("a.empty").elementCount());
    }

    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    @Test
    void hostileFilesGiveFormatErrors(@TempDir Path dir) throws Exception {
        String[][] cases = {
            {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "8", ""},
            {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", "8", "lies outside the file"},
            {"{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "8", "shape needs 12 bytes"},
            {"{\"t\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", "8", "only F32 and I64"},
            {
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                "8",
                "overlaps"
            },
            {"{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", "8", "invalid shape"},
            {
                "{\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}",
                "8",
                "invalid shape"
            },
            {"[1,2,3]", "0", "not a JSON object"},
            {"{not json", "0", "not JSON"},
        };
        for (String[] c : cases) {
            Path f = dir.resolve("t.safetensors");
            Files.write(f, file(c[0], Integer.parseInt(c[1])));
            if (c[2].isEmpty()) {
                assertEquals(2, SafeTensors.read(f).get("t").elementCount());
                continue;
            }
            WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> SafeTensors.read(f), c[0]);
            assertTrue(e.getMessage().contains(c[2]), c[0] + " -> " + e.getMessage());
        }
        // a header length far beyond the file
        Path f = dir.resolve("len.safetensors");
        Files.write(
                f,
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(Long.MAX_VALUE / 2)
                        .array());
        assertTrue(assertThrows(WeightsFormatException.class, () -> SafeTensors.read(f))
                .getMessage()
                .contains("not a safetensors file"));
        Files.write(f, new byte[3]);
        assertThrows(WeightsFormatException.class, () -> SafeTensors.read(f));
    }

    @Test
    void emptyTensorsMayShareAnOffset(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("e.safetensors");
        Files.write(
                f,
                file(
                        "{\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                                + "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                        8));
        assertEquals(2, SafeTensors.read(f).size());
    }
}

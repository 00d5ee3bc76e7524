package org.medsearch.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.medsearch.util.FileUtil;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format:
 * an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
 * range, then the raw bytes. medsearch stores its own weights this way, with torchvision's
 * parameter names, so a bundle's weights load unchanged into PyTorch.
 *
 * <p>Contract: reading never allocates more than the file's size; a header that is too long,
 * overlapping or out-of-range offsets, unknown dtypes or shapes that disagree with their byte
 * ranges raise {@link WeightsFormatException}, naming the file and the tensor.
 *
 * <pre>{@code
 * Map<String, Tensor> sd = SafeTensors.read(Path.of("resnet18.safetensors"));
 * SafeTensors.write(Path.of("copy.safetensors"), sd, Map.of("format", "pt"));
 * }</pre>
 */
public final class SafeTensors {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The format's own limit on the header, and our guard against a hostile length field. */
    private static final long MAX_HEADER = 100L * 1024 * 1024;

    private SafeTensors() {}

    /** Reads every tensor, in the file's header order. */
    public static Map<String, Tensor> read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new WeightsFormatException(file + ": not a safetensors file (" + size + " bytes)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || headerLen > size - 8) {
                throw new WeightsFormatException(
                        file + ": not a safetensors file (header length " + headerLen + ", file size " + size + ")");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            JsonNode root;
            try {
                root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
            } catch (JsonProcessingException e) {
                throw new WeightsFormatException(file + ": safetensors header is not JSON");
            }
            if (root == null || !root.isObject()) {
                throw new WeightsFormatException(file + ": safetensors header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, Tensor> out = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator();
            Map<String, long[]> ranges = new LinkedHashMap<>();
            Map<String, JsonNode> specs = new LinkedHashMap<>();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode spec = e.getValue();
                JsonNode offs = spec.get("data_offsets");
                if (offs == null
                        || !offs.isArray()
                        || offs.size() != 2
                        || !offs.get(0).canConvertToLong()
                        || !offs.get(1).canConvertToLong()) {
                    throw new WeightsFormatException(file + ": tensor " + e.getKey() + " has no valid data_offsets");
                }
                long begin = offs.get(0).asLong();
                long end = offs.get(1).asLong();
                if (begin < 0 || end < begin || end > dataLen) {
                    throw new WeightsFormatException(
                            file + ": tensor " + e.getKey() + " lies outside the file (" + begin + ".." + end + ")");
                }
                ranges.put(e.getKey(), new long[] {begin, end});
                specs.put(e.getKey(), spec);
            }
            // non-empty byte ranges must not overlap (empty tensors may share any offset)
            List<Map.Entry<String, long[]>> sorted = new ArrayList<>(ranges.entrySet());
            sorted.removeIf(e -> e.getValue()[1] == e.getValue()[0]);
            sorted.sort(Comparator.comparingLong(e -> e.getValue()[0]));
            for (int i = 1; i < sorted.size(); i++) {
                if (sorted.get(i).getValue()[0] < sorted.get(i - 1).getValue()[1]) {
                    throw new WeightsFormatException(
                            file + ": tensor " + sorted.get(i).getKey() + " overlaps "
                                    + sorted.get(i - 1).getKey());
                }
            }
            for (Map.Entry<String, JsonNode> e : specs.entrySet()) {
                String name = e.getKey();
                JsonNode spec = e.getValue();
                String dtype = spec.path("dtype").asText("");
                if (!dtype.equals(Tensor.F32) && !dtype.equals(Tensor.I64)) {
                    throw new WeightsFormatException(
                            file + ": tensor " + name + " has dtype '" + dtype + "'; only F32 and I64 are supported");
                }
                JsonNode shapeNode = spec.get("shape");
                if (shapeNode == null || !shapeNode.isArray() || shapeNode.size() > 8) {
                    throw new WeightsFormatException(file + ": tensor " + name + " has no valid shape");
                }
                long[] shape = new long[shapeNode.size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong(-1);
                }
                long[] r = ranges.get(name);
                long bytes;
                try {
                    bytes = Tensor.elementCount(shape) * Tensor.bytesPer(dtype);
                } catch (ArithmeticException | IllegalArgumentException ex) {
                    throw new WeightsFormatException(file + ": tensor " + name + " has an invalid shape");
                }
                if (bytes != r[1] - r[0]) {
                    throw new WeightsFormatException(file + ": tensor " + name + " shape needs " + bytes
                            + " bytes but its range holds " + (r[1] - r[0]));
                }
                if (bytes > Integer.MAX_VALUE) {
                    throw new WeightsFormatException(file + ": tensor " + name + " is larger than 2 GiB");
                }
                ByteBuffer buf = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, buf, dataStart + r[0]);
                out.put(name, new Tensor(dtype, shape, buf));
            }
            return out;
        }
    }

    /** Writes atomically: to a temporary file beside {@code file}, then a rename. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode spec = header.putObject(e.getKey());
            spec.put("dtype", t.dtype());
            var shape = spec.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            var offs = spec.putArray("data_offsets");
            offs.add(offset);
            offset += t.data().remaining();
            offs.add(offset);
        }
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        byte[] h = JSON.writeValueAsBytes(header);
        int pad = (8 - h.length % 8) % 8;
        FileUtil.writeAtomically(file, out -> {
            ByteBuffer len =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length + pad);
            out.write(len.array());
            out.write(h);
            for (int i = 0; i < pad; i++) {
                out.write(' ');
            }
            for (Tensor t : tensors.values()) {
                ByteBuffer d = t.data().duplicate();
                byte[] bytes = new byte[d.remaining()];
                d.get(bytes);
                out.write(bytes);
            }
        });
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new WeightsFormatException("unexpected end of file");
            }
            pos += n;
        }
        buf.flip();
    }
}

package org.medsearch.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes {@code torch.save}-style archives around hand-made pickles, for tests that need one exact
 * fault. {@link P} writes pickle opcodes; {@link #write} puts a pickle and its storages in a ZIP laid
 * out as torch lays it out ({@code archive/data.pkl}, {@code archive/data/<key>}, stored, not
 * compressed).
 *
 * <pre>{@code
 * byte[] pkl = new TorchZip.P().proto().orderedDict().mark()
 *         .str("w").tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1})
 *         .op(TorchZip.SETITEMS).op(TorchZip.STOP).bytes();
 * Path f = TorchZip.write(dir.resolve("w.pth"), pkl, Map.of("0", new byte[16]));
 * }</pre>
 */
final class TorchZip {

    static final int MARK = '(';
    static final int STOP = '.';
    static final int TUPLE = 't';
    static final int TUPLE1 = 0x85;
    static final int EMPTY_TUPLE = ')';
    static final int EMPTY_DICT = '}';
    static final int EMPTY_LIST = ']';
    static final int SETITEM = 's';
    static final int SETITEMS = 'u';
    static final int APPEND = 'a';
    static final int REDUCE = 'R';
    static final int BUILD = 'b';
    static final int NEWOBJ = 0x81;
    static final int BINPERSID = 'Q';
    static final int NONE = 'N';
    static final int NEWFALSE = 0x89;
    static final int BINPUT = 'q';
    static final int BINGET = 'h';
    static final int LONG_BINPUT = 'r';

    private TorchZip() {}

    /** A pickle, opcode by opcode. */
    static final class P {
        private final ByteArrayOutputStream b = new ByteArrayOutputStream();

        P op(int... bytes) {
            for (int x : bytes) {
                b.write(x);
            }
            return this;
        }

        P mark() {
            return op(MARK);
        }

        P proto() {
            return op(0x80, 2);
        }

        P global(String module, String name) {
            op('c');
            b.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        P str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            op('X').int32(u.length);
            b.writeBytes(u);
            return this;
        }

        /** BININT: any int, as a 4-byte operand. */
        P integer(long v) {
            return op('J').int32((int) v);
        }

        P int32(int v) {
            return op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
        }

        P tuple(long... values) {
            op(MARK);
            for (long v : values) {
                integer(v);
            }
            return op(TUPLE);
        }

        /** {@code collections.OrderedDict()}. */
        P orderedDict() {
            return global("collections", "OrderedDict").op(EMPTY_TUPLE, REDUCE);
        }

        /** The persistent id of a storage: {@code ('storage', torch.<type>, key, 'cpu', numel)}. */
        P storage(String type, String key, long numel) {
            mark().str("storage")
                    .global("torch", type)
                    .str(key)
                    .str("cpu")
                    .integer(numel)
                    .op(TUPLE);
            return op(BINPERSID);
        }

        /** {@code _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}. */
        P tensor(String type, String key, long numel, long offset, long[] size, long[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").op(MARK);
            storage(type, key, numel)
                    .integer(offset)
                    .tuple(size)
                    .tuple(stride)
                    .op(NEWFALSE)
                    .orderedDict();
            return op(TUPLE, REDUCE);
        }

        byte[] bytes() {
            return b.toByteArray();
        }
    }

    /** A one-tensor state dict: {@code OrderedDict(name=tensor)}, with its storage. */
    static byte[] oneTensor(String type, String key, long numel, long offset, long[] size, long[] stride) {
        return new P()
                .proto()
                .orderedDict()
                .mark()
                .str("t")
                .tensor(type, key, numel, offset, size, stride)
                .op(SETITEMS, STOP)
                .bytes();
    }

    /** The pickle of an archive as torch would write it, its storages keyed as in persistent ids. */
    static Path write(Path file, byte[] pickle, Map<String, byte[]> storages) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", pickle);
        storages.forEach((k, v) -> entries.put("archive/data/" + k, v));
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return writeZip(file, entries);
    }

    static Path writeZip(Path file, Map<String, byte[]> entries) throws IOException {
        return writeZip(file, entries, ZipEntry.STORED);
    }

    /** A ZIP of {@code entries}, in order, all with {@code method} (STORED, as torch, or DEFLATED). */
    static Path writeZip(Path file, Map<String, byte[]> entries, int method) throws IOException {
        return writeZip(file, entries, method, null);
    }

    /** As {@link #writeZip(Path, Map, int)}, each entry with {@code comment} (torch writes none). */
    static Path writeZip(Path file, Map<String, byte[]> entries, int method, String comment) throws IOException {
        try (OutputStream out = Files.newOutputStream(file);
                ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                z.setMethod(method);
                z.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                z.setCrc(crc.getValue());
                z.setCompressedSize(method == ZipEntry.STORED ? e.getValue().length : -1);
                z.setComment(comment);
                zip.putNextEntry(z);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return file;
    }

    /** {@code n} little-endian floats 0, 1, 2, ... */
    static byte[] floats(int n) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(i);
        }
        return b.array();
    }
}

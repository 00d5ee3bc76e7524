package org.medsearch.model;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads a PyTorch state dict written by {@code torch.save(model.state_dict(), f)} (torch 1.6 or
 * later, the ZIP format) without Python, and without doing anything the file asks beyond building
 * tensors. The result has the same form as {@link SafeTensors#read}: names in the state dict's order,
 * each a contiguous little-endian {@link Tensor}, so {@link ResNet18#fromStateDict} takes either.
 *
 * <p>Format: a ZIP archive holding {@code <archive>/data.pkl}, a pickle of an {@code OrderedDict} of
 * name to tensor, and {@code <archive>/data/<key>}, one raw storage per key. Each tensor is
 * {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)}, a strided view of a
 * storage; several tensors may share one storage. Each view is copied out (offset, size and stride
 * honoured) into a tensor of its own.
 *
 * <p>Safety: the pickle runs on {@link Pickle}, which moves plain data only and loads no class. Of
 * the globals a pickle may name, only this allow-list means anything:
 * <ul>
 *   <li>{@code collections.OrderedDict}, the container (called with no arguments);
 *   <li>{@code torch._utils._rebuild_tensor_v2}, a tensor;
 *   <li>{@code torch._utils._rebuild_parameter}, an {@code nn.Parameter}, unwrapped to its tensor;
 *   <li>{@code torch.FloatStorage}, {@code DoubleStorage}, {@code HalfStorage}, {@code BFloat16Storage},
 *       {@code LongStorage}, {@code IntStorage}, {@code ShortStorage}, {@code CharStorage},
 *       {@code ByteStorage}, {@code BoolStorage}: storage dtypes, only named in persistent ids.
 * </ul>
 * Any other global ({@code os.system}, {@code builtins.eval}, a pickled {@code nn.Module}, ...) or
 * opcode is rejected, naming it. Only {@code F32} and {@code I64} tensors are returned; a tensor of
 * another dtype is an "unsupported dtype" error naming it. Files from torch before 1.6 (the legacy
 * pickle-stream format) are rejected with a request to re-save them.
 *
 * <p>Bounds, so that a hostile file costs memory and time in proportion to its size: at most 2^20
 * ZIP entries; no entry larger, declared or actual, than the file itself; a pickle of at most 16 MiB
 * (and the pickle machine's own bounds on stack, memo and strings); storages together no larger than
 * the file; each view inside its storage; each tensor under 2 GiB; and all tensors together at most
 * twice the file size plus 64 MiB, which shared storages (tied weights) stay within and views built
 * to overlap and amplify do not. Each storage is read once, when first needed, and let go after the
 * last tensor that views it.
 *
 * <p>Contract: {@link #read} throws {@link WeightsFormatException}, its message naming the file and
 * the fault, for anything wrong with the content, a corrupt or truncated ZIP included; a plain
 * {@link IOException} only when the file cannot be opened or read. It throws nothing else.
 *
 * <pre>{@code
 * Map<String, Tensor> sd = PthReader.read(Path.of("resnet18.pth"));
 * try (NDManager m = NDManager.newBaseManager();
 *      ResNet18 net = ResNet18.fromStateDict(m, sd, 1000, 0)) {
 *     ...
 * }
 * }</pre>
 */
public final class PthReader {

    private static final long MAX_PICKLE_BYTES = 16L << 20;
    private static final int MAX_ENTRIES = 1 << 20;
    /** PyTorch's own limit on dimensions. */
    private static final int MAX_RANK = 64;
    /** A Java array's limit, which a {@link Tensor}'s buffer cannot exceed. */
    private static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8;

    private static final long OUTPUT_SLACK = 64L << 20;

    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};
    /** PROTO 2, then LONG1 of 10 bytes: the start of torch's legacy magic number 0x1950a86a20f9469cfc6c. */
    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 2, (byte) 0x8a, 10};

    private PthReader() {}

    /** The callables of the allow-list. */
    private enum Callable {
        ORDERED_DICT("collections", "OrderedDict"),
        REBUILD_TENSOR_V2("torch._utils", "_rebuild_tensor_v2"),
        REBUILD_PARAMETER("torch._utils", "_rebuild_parameter");

        final String module;
        final String name;

        Callable(String module, String name) {
            this.module = module;
            this.name = name;
        }

        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** torch's storage classes, which persistent ids use to name a storage's dtype. */
    private enum StorageType {
        FLOAT("FloatStorage", Tensor.F32, 4),
        DOUBLE("DoubleStorage", "F64", 8),
        HALF("HalfStorage", "F16", 2),
        BFLOAT16("BFloat16Storage", "BF16", 2),
        LONG("LongStorage", Tensor.I64, 8),
        INT("IntStorage", "I32", 4),
        SHORT("ShortStorage", "I16", 2),
        CHAR("CharStorage", "I8", 1),
        BYTE("ByteStorage", "U8", 1),
        BOOL("BoolStorage", "BOOL", 1);

        final String className;
        final String dtype;
        final int bytes;

        StorageType(String className, String dtype, int bytes) {
            this.className = className;
            this.dtype = dtype;
            this.bytes = bytes;
        }

        @Override
        public String toString() {
            return "torch." + className;
        }
    }

    private record Global(String module, String name) {}

    /** The allow-list: what each permitted global stands for. */
    private static final Map<Global, Object> ALLOWED = allowed();

    private static Map<Global, Object> allowed() {
        Map<Global, Object> m = new HashMap<>();
        for (Callable c : Callable.values()) {
            m.put(new Global(c.module, c.name), c);
        }
        for (StorageType t : StorageType.values()) {
            m.put(new Global("torch", t.className), t);
        }
        return Map.copyOf(m);
    }

    /**
     * Reads every tensor of a {@code torch.save}d state dict, in the state dict's order.
     *
     * @throws WeightsFormatException naming the file and the fault, for any content not a safe,
     *     well-formed F32/I64 state dict
     * @throws IOException only if the file cannot be opened or read
     */
    public static Map<String, Tensor> read(Path file) throws IOException {
        long fileSize = Files.size(file);
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(4);
        }
        if (head.length == 0) {
            throw new WeightsFormatException(file + ": empty file, not a .pth state dict");
        }
        if (!Arrays.equals(head, ZIP_MAGIC)) {
            throw new WeightsFormatException(file
                    + (Arrays.equals(head, LEGACY_MAGIC)
                            ? ": legacy .pth format (torch < 1.6), re-save with torch>=1.6: torch.save(torch.load(f), f)"
                            : ": not a .pth file (no ZIP signature)"));
        }
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new WeightsFormatException(file + ": not a valid ZIP archive (" + e.getMessage() + ")", e);
        }
        try (zip) {
            return new Archive(zip, fileSize).read();
        } catch (WeightsFormatException e) {
            throw new WeightsFormatException(file + ": " + printable(e.getMessage()), e.getCause());
        }
    }

    /** Messages quote names from the file: keep them one short line, whatever the file put in them. */
    private static String printable(String message) {
        String s = message.replaceAll("[\\p{Cntrl}\\p{Zl}\\p{Zp}]", "?");
        return s.length() <= 1000 ? s : s.substring(0, 1000) + "...";
    }

    /** One {@code data/<key>} record: read on first use, dropped after its last. */
    private static final class Storage {
        final String key;
        final StorageType type;
        final long numel;
        final ZipEntry entry;
        int uses;
        ByteBuffer data;

        Storage(String key, StorageType type, long numel, ZipEntry entry) {
            this.key = key;
            this.type = type;
            this.numel = numel;
            this.entry = entry;
        }

        @Override
        public String toString() {
            return "storage '" + key + "'";
        }
    }

    /** What {@code _rebuild_tensor_v2} returns: a view, copied out once the state dict is complete. */
    private record View(Storage storage, long offset, long[] size, long[] stride) {
        @Override
        public String toString() {
            return "tensor";
        }
    }

    /** One open archive; it answers the pickle's questions against its own entries. */
    private static final class Archive implements Pickle.Resolver {
        private final ZipFile zip;
        private final long fileSize;
        private final Map<String, ZipEntry> entries = new HashMap<>();
        private final Map<String, Storage> storages = new HashMap<>();
        /** The archive's folder, with its slash: torch names it after the file it first saved to. */
        private String prefix;

        private long storageBytes;
        private long outputBytes;

        Archive(ZipFile zip, long fileSize) {
            this.zip = zip;
            this.fileSize = fileSize;
        }

        Map<String, Tensor> read() throws IOException {
            index();
            ZipEntry order = entries.get(prefix + "byteorder");
            if (order != null) {
                String o = new String(readEntry(order, 16), StandardCharsets.US_ASCII).strip();
                if (!o.equals("little")) {
                    throw new WeightsFormatException(
                            "storages are in byte order '" + o + "'; only little is supported");
                }
            }
            Object root = Pickle.load(readEntry(entries.get(prefix + "data.pkl"), MAX_PICKLE_BYTES), this);
            if (!(root instanceof LinkedHashMap<?, ?> dict)) {
                throw new WeightsFormatException("the pickle holds a " + Pickle.typeName(root)
                        + ", not a state dict (a dict of name to tensor)");
            }
            for (Object v : dict.values()) {
                if (v instanceof View view) {
                    view.storage.uses++;
                }
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : dict.entrySet()) {
                if (!(e.getKey() instanceof String name)) {
                    throw new WeightsFormatException(
                            "state dict key of type " + Pickle.typeName(e.getKey()) + ", not str");
                }
                if (!(e.getValue() instanceof View view)) {
                    throw new WeightsFormatException("entry '" + name + "' is " + Pickle.typeName(e.getValue())
                            + ", not a tensor: only a flat state dict of name to tensor can be read");
                }
                out.put(name, tensor(name, view));
            }
            return out;
        }

        private void index() throws WeightsFormatException {
            if (zip.size() > MAX_ENTRIES) {
                throw new WeightsFormatException(
                        "ZIP archive of " + zip.size() + " entries (limit " + MAX_ENTRIES + ")");
            }
            try {
                for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                    ZipEntry e = en.nextElement();
                    String name = e.getName();
                    if (entries.put(name, e) != null) {
                        throw new WeightsFormatException("ZIP entry '" + name + "' appears twice");
                    }
                    int slash = name.indexOf('/');
                    if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) {
                        if (prefix != null) {
                            throw new WeightsFormatException("the ZIP archive holds more than one data.pkl");
                        }
                        prefix = name.substring(0, slash + 1);
                    }
                }
            } catch (IllegalArgumentException e) {
                // ZipFile checks names when it opens, but decodes comments only as it iterates
                throw new WeightsFormatException("a ZIP entry's name or comment is not valid UTF-8");
            }
            if (prefix == null) {
                throw new WeightsFormatException("no <archive>/data.pkl in the ZIP archive: not written by torch.save");
            }
        }

        /** The whole entry, which must be no larger than the file or {@code limit}, declared or actual. */
        private byte[] readEntry(ZipEntry e, long limit) throws IOException {
            long declared = e.getSize();
            if (declared < 0 || declared > Math.min(limit, fileSize) || e.getCompressedSize() > fileSize) {
                throw new WeightsFormatException("ZIP entry '" + e.getName() + "' declares " + declared
                        + " bytes, more than the file's " + fileSize + " or the limit of " + limit);
            }
            try (InputStream in = zip.getInputStream(e)) {
                byte[] b = in.readNBytes((int) declared);
                if (b.length != declared || in.read() != -1) {
                    throw new WeightsFormatException(
                            "ZIP entry '" + e.getName() + "' does not hold the " + declared + " bytes it declares");
                }
                return b;
            } catch (ZipException | EOFException ex) {
                throw new WeightsFormatException(
                        "ZIP entry '" + e.getName() + "' is corrupt ("
                                + (ex instanceof EOFException ? "it ends early" : ex.getMessage()) + ")",
                        ex);
            }
        }

        @Override
        public Object global(String module, String name) throws WeightsFormatException {
            Object v = ALLOWED.get(new Global(module, name));
            if (v == null) {
                throw new WeightsFormatException(
                        "global '" + module + "." + name + "' is not allowed: a state"
                                + " dict needs only collections.OrderedDict, torch._utils._rebuild_tensor_v2,"
                                + " torch._utils._rebuild_parameter and torch.*Storage (save model.state_dict(), not the model)");
            }
            return v;
        }

        @Override
        public Object call(Object callable, Object[] args) throws WeightsFormatException {
            if (!(callable instanceof Callable c)) {
                throw new WeightsFormatException("REDUCE cannot call " + Pickle.typeName(callable));
            }
            return switch (c) {
                case ORDERED_DICT -> newObject(c, args);
                case REBUILD_TENSOR_V2 -> rebuildTensor(args);
                case REBUILD_PARAMETER -> parameter(args);
            };
        }

        /** {@code (data, requires_grad, backward_hooks)}: a Parameter is its tensor, for reading. */
        private static View parameter(Object[] args) throws WeightsFormatException {
            if (args.length != 3
                    || !(args[0] instanceof View data)
                    || !(args[1] instanceof Boolean)
                    || !(args[2] instanceof LinkedHashMap)) {
                throw new WeightsFormatException("malformed arguments to " + Callable.REBUILD_PARAMETER);
            }
            return data;
        }

        /** {@code (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
        private View rebuildTensor(Object[] args) throws WeightsFormatException {
            if ((args.length != 6 && args.length != 7)
                    || !(args[0] instanceof Storage s)
                    || !(args[1] instanceof Long offset)
                    || !(args[4] instanceof Boolean)
                    || !(args[5] instanceof LinkedHashMap)) {
                throw new WeightsFormatException("malformed arguments to " + Callable.REBUILD_TENSOR_V2);
            }
            long[] size = dims(args[2], "size");
            long[] stride = dims(args[3], "stride");
            if (offset < 0 || size.length != stride.length) {
                throw new WeightsFormatException("tensor with offset " + offset + ", size " + Arrays.toString(size)
                        + " and stride " + Arrays.toString(stride));
            }
            return new View(s, offset, size, stride);
        }

        private static long[] dims(Object o, String what) throws WeightsFormatException {
            if (!(o instanceof Object[] t) || t.length > MAX_RANK) {
                throw new WeightsFormatException("tensor " + what + " is not a tuple of at most " + MAX_RANK + " ints");
            }
            long[] out = new long[t.length];
            for (int i = 0; i < t.length; i++) {
                if (!(t[i] instanceof Long v) || v < 0) {
                    throw new WeightsFormatException("tensor " + what + " holds " + Pickle.typeName(t[i])
                            + (t[i] instanceof Long ? " " + t[i] : "") + ", not a non-negative int");
                }
                out[i] = v;
            }
            return out;
        }

        @Override
        public Object newObject(Object cls, Object[] args) throws WeightsFormatException {
            if (cls != Callable.ORDERED_DICT || args.length != 0) {
                throw new WeightsFormatException(
                        "cannot create " + Pickle.typeName(cls) + " with " + args.length + " arguments");
            }
            return new LinkedHashMap<>();
        }

        /** An OrderedDict's attributes: {@code _metadata}, module versions that hold no weights. */
        @Override
        public void build(Object target, Object state) throws WeightsFormatException {
            if (!(target instanceof LinkedHashMap) || !(state instanceof LinkedHashMap)) {
                throw new WeightsFormatException(
                        "BUILD of " + Pickle.typeName(target) + " with " + Pickle.typeName(state) + " is not allowed");
            }
        }

        /** {@code ('storage', storage_type, key, location, numel)}. */
        @Override
        public Object persistentLoad(Object pid) throws WeightsFormatException {
            if (!(pid instanceof Object[] t)
                    || t.length != 5
                    || !"storage".equals(t[0])
                    || !(t[1] instanceof StorageType type)
                    || !(t[2] instanceof String key)
                    || !(t[3] instanceof String)
                    || !(t[4] instanceof Long numel)
                    || numel < 0) {
                throw new WeightsFormatException(
                        "persistent id is not ('storage', torch.*Storage, key, location, numel)");
            }
            Storage s = storages.get(key);
            if (s != null) {
                if (s.type != type || s.numel != numel) {
                    throw new WeightsFormatException("storage '" + key + "' is declared twice, differently");
                }
                return s;
            }
            ZipEntry e = entries.get(prefix + "data/" + key);
            if (e == null) {
                throw new WeightsFormatException(
                        "persistent id names storage '" + key + "', which the archive does not hold");
            }
            long bytes = e.getSize();
            if (bytes % type.bytes != 0 || bytes / type.bytes != numel) {
                throw new WeightsFormatException("storage '" + key + "' of " + numel + " x " + type
                        + " does not match its entry of " + bytes + " bytes");
            }
            // torch stores storages uncompressed, side by side: more than the file is a bomb
            storageBytes += bytes;
            if (storageBytes > fileSize) {
                throw new WeightsFormatException(
                        "storages declare " + storageBytes + " bytes, more than the file's " + fileSize);
            }
            s = new Storage(key, type, numel, e);
            storages.put(key, s);
            return s;
        }

        private Tensor tensor(String name, View v) throws IOException {
            Storage s = v.storage;
            if (!s.type.dtype.equals(Tensor.F32) && !s.type.dtype.equals(Tensor.I64)) {
                throw new WeightsFormatException("tensor '" + name + "' has unsupported dtype " + s.type.dtype + " ("
                        + s.type + "); only F32 and I64 are supported");
            }
            long count;
            long last = v.offset;
            try {
                count = Tensor.elementCount(v.size);
                for (int d = 0; d < v.size.length && count > 0; d++) {
                    last = Math.addExact(last, Math.multiplyExact(v.size[d] - 1, v.stride[d]));
                }
            } catch (ArithmeticException e) {
                throw new WeightsFormatException("tensor '" + name + "' has a size or stride that overflows");
            }
            if (count > 0 ? last >= s.numel : v.offset > s.numel) {
                throw new WeightsFormatException("tensor '" + name + "' (offset " + v.offset + ", size "
                        + Arrays.toString(v.size) + ", stride " + Arrays.toString(v.stride) + ") reads past the end of "
                        + s + " of " + s.numel + " elements");
            }
            int item = s.type.bytes;
            if (count > MAX_TENSOR_BYTES / item || outputBytes + count * item > 2 * fileSize + OUTPUT_SLACK) {
                throw new WeightsFormatException("tensor '" + name + "' of " + Arrays.toString(v.size) + " elements"
                        + " is over the limit (2 GiB each; all together, twice the file size plus 64 MiB)");
            }
            long bytes = count * item;
            outputBytes += bytes;
            ByteBuffer out = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
            if (count > 0) {
                if (s.data == null) {
                    s.data = ByteBuffer.wrap(readEntry(s.entry, MAX_TENSOR_BYTES))
                            .order(ByteOrder.LITTLE_ENDIAN);
                }
                gather(s.data, v, item, (int) count, out);
            }
            if (--s.uses == 0) {
                s.data = null;
            }
            return new Tensor(s.type.dtype, v.size, out);
        }

        /** Copies the view's elements, in C order, into {@code out}; the view lies inside {@code src}. */
        private static void gather(ByteBuffer src, View v, int item, int count, ByteBuffer out) {
            long[] size = v.size;
            long[] stride = v.stride;
            if (isContiguous(size, stride)) {
                out.put(0, src, (int) (v.offset * item), count * item);
                return;
            }
            long[] index = new long[size.length];
            long p = v.offset;
            for (int i = 0; i < count; i++) {
                int from = (int) (p * item);
                if (item == 4) {
                    out.putInt(i * 4, src.getInt(from));
                } else {
                    out.putLong(i * 8, src.getLong(from));
                }
                for (int d = size.length - 1; d >= 0; d--) {
                    if (++index[d] < size[d]) {
                        p += stride[d];
                        break;
                    }
                    index[d] = 0;
                    p -= (size[d] - 1) * stride[d];
                }
            }
        }

        /** C order with no gaps; a dimension of size 1 may have any stride, as torch writes it. */
        private static boolean isContiguous(long[] size, long[] stride) {
            long expected = 1;
            for (int d = size.length - 1; d >= 0; d--) {
                if (size[d] != 1 && stride[d] != expected) {
                    return false;
                }
                expected *= size[d];
            }
            return true;
        }
    }
}

package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medsearch.model.PthReaderTest.fixture;
import static org.medsearch.model.TorchZip.APPEND;
import static org.medsearch.model.TorchZip.BINGET;
import static org.medsearch.model.TorchZip.BINPUT;
import static org.medsearch.model.TorchZip.BUILD;
import static org.medsearch.model.TorchZip.EMPTY_DICT;
import static org.medsearch.model.TorchZip.EMPTY_LIST;
import static org.medsearch.model.TorchZip.EMPTY_TUPLE;
import static org.medsearch.model.TorchZip.LONG_BINPUT;
import static org.medsearch.model.TorchZip.NEWOBJ;
import static org.medsearch.model.TorchZip.NONE;
import static org.medsearch.model.TorchZip.REDUCE;
import static org.medsearch.model.TorchZip.SETITEM;
import static org.medsearch.model.TorchZip.SETITEMS;
import static org.medsearch.model.TorchZip.STOP;
import static org.medsearch.model.TorchZip.TUPLE;
import static org.medsearch.model.TorchZip.TUPLE1;
import static org.medsearch.model.TorchZip.oneTensor;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.medsearch.testutil.Shared;

/** Hostile and broken files: each refused with a {@link WeightsFormatException} that names the fault. */
class PthReaderSafetyTest {

    /** What every malicious payload here would create, if anything ran it. */
    static final Path PWNED = Path.of("/tmp/medsearch-pth-fixture-pwned");

    @TempDir
    Path tmp;

    @BeforeEach
    @AfterEach
    void noPayload() throws Exception {
        Files.deleteIfExists(PWNED);
    }

    static void rejects(Path file, String fragment) {
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> PthReader.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()), () -> "should name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), () -> "should say '" + fragment + "': " + e.getMessage());
    }

    Path archive(byte[] pickle, Map<String, byte[]> storages) throws Exception {
        return TorchZip.write(Files.createTempFile(tmp, "t", ".pth"), pickle, storages);
    }

    /** Real torch.save archives whose pickles call Popen, os.system and eval; torch.load runs them. */
    @Test
    void realMaliciousArchivesAreRefusedAndRunNothing() throws Exception {
        rejects(fixture("popen.pth"), "global 'subprocess.Popen' is not allowed");
        rejects(fixture("posix_system.pth"), "global 'posix.system' is not allowed");
        rejects(fixture("eval.pth"), "global 'builtins.eval' is not allowed");
        Thread.sleep(200); // a spawned process would have had time to create its file
        assertFalse(Files.exists(PWNED), "a payload ran");
    }

    @Test
    void osSystemAndEvalByHandAreRefusedAndRunNothing() throws Exception {
        String cmd = "touch " + PWNED;
        rejects(
                archive(
                        new TorchZip.P()
                                .proto()
                                .global("os", "system")
                                .str(cmd)
                                .op(TUPLE1, REDUCE, STOP)
                                .bytes(),
                        Map.of()),
                "global 'os.system' is not allowed");
        rejects(
                archive(
                        new TorchZip.P()
                                .proto()
                                .global("builtins", "eval")
                                .str("__import__('os').system('" + cmd + "')")
                                .op(TUPLE1, REDUCE, STOP)
                                .bytes(),
                        Map.of()),
                "global 'builtins.eval' is not allowed");
        assertFalse(Files.exists(PWNED), "a payload ran");
    }

    static Stream<Arguments> brokenPickles() {
        long[] one = {1};
        Map<String, byte[]> four = Map.of("0", TorchZip.floats(4));
        return Stream.of(
                bad(
                        "unknown opcode",
                        new TorchZip.P().proto().op(0xff).bytes(),
                        four,
                        "pickle byte 2: unsupported opcode 0xff"),
                bad("INST runs code in Python", new TorchZip.P().proto().op('i').bytes(), four, "opcode 0x69 ('i')"),
                bad(
                        "missing storage",
                        oneTensor("FloatStorage", "7", 4, 0, new long[] {4}, one),
                        four,
                        "names storage '7', which the archive does not hold"),
                bad(
                        "size past the end",
                        oneTensor("FloatStorage", "0", 4, 0, new long[] {5}, one),
                        four,
                        "reads past the end of storage '0'"),
                bad(
                        "offset past the end",
                        oneTensor("FloatStorage", "0", 4, 3, new long[] {2}, one),
                        four,
                        "reads past the end"),
                bad(
                        "stride past the end",
                        oneTensor("FloatStorage", "0", 4, 0, new long[] {2, 2}, new long[] {3, 1}),
                        four,
                        "reads past the end"),
                bad(
                        "empty view past the end",
                        oneTensor("FloatStorage", "0", 4, 5, new long[] {0}, one),
                        four,
                        "reads past the end"),
                bad(
                        "negative size",
                        oneTensor("FloatStorage", "0", 4, 0, new long[] {-1}, one),
                        four,
                        "not a non-negative int"),
                bad(
                        "element count overflows",
                        oneTensor("FloatStorage", "0", 4, 0, new long[] {1 << 30, 1 << 30, 1 << 30}, new long[] {0, 0, 0
                        }),
                        four,
                        "overflows"),
                bad(
                        "stride-0 bomb",
                        oneTensor("FloatStorage", "0", 4, 0, new long[] {1 << 30, 1 << 30}, new long[] {0, 0}),
                        four,
                        "over the limit"),
                bad(
                        "storage size disagrees with its entry",
                        oneTensor("FloatStorage", "0", 5, 0, new long[] {5}, one),
                        four,
                        "does not match its entry of 16 bytes"),
                bad(
                        "storage declared twice",
                        new TorchZip.P()
                                .proto()
                                .orderedDict()
                                .mark()
                                .str("a")
                                .tensor("FloatStorage", "0", 4, 0, one, one)
                                .str("b")
                                .tensor("LongStorage", "0", 2, 0, one, one)
                                .op(SETITEMS, STOP)
                                .bytes(),
                        four,
                        "storage '0' is declared twice"),
                bad(
                        "malformed persistent id",
                        new TorchZip.P().proto().str("0").op('Q', STOP).bytes(),
                        four,
                        "persistent id is not"),
                bad(
                        "memo index out of range",
                        new TorchZip.P()
                                .proto()
                                .op(NONE, LONG_BINPUT, 0xff, 0xff, 0xff, 0xff)
                                .bytes(),
                        four,
                        "memo index 4294967295"),
                bad("memo miss", new TorchZip.P().proto().op(BINGET, 5).bytes(), four, "memo has no entry 5"),
                bad("marks nested deep", marks(Pickle.MAX_MARKS + 1), four, "marks nested deeper than"),
                bad(
                        "huge string length",
                        new TorchZip.P()
                                .proto()
                                .op('X')
                                .int32(Integer.MAX_VALUE)
                                .bytes(),
                        four,
                        "string of 2147483647 bytes"),
                bad(
                        "string past the end",
                        new TorchZip.P().proto().op('X').int32(100).op('a').bytes(),
                        four,
                        "truncated: 100 bytes wanted, 1 left"),
                bad(
                        "invalid UTF-8",
                        new TorchZip.P().proto().op(0x8c, 1, 0xff, STOP).bytes(),
                        four,
                        "not valid UTF-8"),
                bad("integer too wide", new TorchZip.P().proto().op(0x8a, 9).bytes(), four, "does not fit 64 bits"),
                bad("protocol 6", new TorchZip.P().op(0x80, 6).bytes(), four, "unsupported protocol 6"),
                bad("no STOP", new TorchZip.P().proto().op(NONE).bytes(), four, "the pickle ends without STOP"),
                bad("stack underflow", new TorchZip.P().proto().op(REDUCE).bytes(), four, "stack underflow"),
                bad(
                        "items below a mark are hidden",
                        new TorchZip.P()
                                .proto()
                                .op(EMPTY_DICT)
                                .mark()
                                .op(NONE, NONE)
                                .mark()
                                .op(SETITEM)
                                .bytes(),
                        four,
                        "stack underflow"),
                bad(
                        "values left at STOP",
                        new TorchZip.P().proto().op(NONE, NONE, STOP).bytes(),
                        four,
                        "STOP with 2 values"),
                bad(
                        "not a dict",
                        new TorchZip.P().proto().op(NONE, STOP).bytes(),
                        four,
                        "holds a None, not a state dict"),
                bad(
                        "a list that holds itself",
                        new TorchZip.P()
                                .proto()
                                .op(EMPTY_LIST, BINPUT, 0, BINGET, 0, APPEND, STOP)
                                .bytes(),
                        four,
                        "holds a list, not a state dict"),
                bad(
                        "a checkpoint, not a state dict",
                        new TorchZip.P()
                                .proto()
                                .op(EMPTY_DICT)
                                .str("epoch")
                                .integer(3)
                                .op(SETITEM, STOP)
                                .bytes(),
                        four,
                        "entry 'epoch' is int, not a tensor"),
                bad(
                        "key not a str",
                        new TorchZip.P()
                                .proto()
                                .op(EMPTY_DICT)
                                .integer(1)
                                .tensor("FloatStorage", "0", 4, 0, one, one)
                                .op(SETITEM, STOP)
                                .bytes(),
                        four,
                        "key of type int"),
                bad(
                        "unhashable key",
                        new TorchZip.P()
                                .proto()
                                .op(EMPTY_DICT, EMPTY_LIST, NONE, SETITEM)
                                .bytes(),
                        four,
                        "dict key of type list: only str keys are accepted"),
                bad(
                        "SETITEM on a tuple",
                        new TorchZip.P()
                                .proto()
                                .op(EMPTY_TUPLE, NONE, NONE, SETITEM)
                                .bytes(),
                        four,
                        "cannot set items on tuple"),
                bad(
                        "REDUCE on a storage type",
                        new TorchZip.P()
                                .proto()
                                .global("torch", "FloatStorage")
                                .op(EMPTY_TUPLE, REDUCE)
                                .bytes(),
                        four,
                        "REDUCE cannot call torch.FloatStorage"),
                bad(
                        "NEWOBJ of a storage type",
                        new TorchZip.P()
                                .proto()
                                .global("torch", "FloatStorage")
                                .op(EMPTY_TUPLE, NEWOBJ)
                                .bytes(),
                        four,
                        "cannot create torch.FloatStorage"),
                bad(
                        "OrderedDict with arguments",
                        new TorchZip.P()
                                .proto()
                                .global("collections", "OrderedDict")
                                .mark()
                                .op(EMPTY_LIST, TUPLE, REDUCE)
                                .bytes(),
                        four,
                        "cannot create collections.OrderedDict with 1"),
                bad(
                        "BUILD of a dict with None",
                        new TorchZip.P().proto().orderedDict().op(NONE, BUILD).bytes(),
                        four,
                        "BUILD of dict with None is not allowed"),
                bad(
                        "the v1 tensor rebuilder is not on the list",
                        new TorchZip.P()
                                .proto()
                                .global("torch._utils", "_rebuild_tensor")
                                .bytes(),
                        four,
                        "'torch._utils._rebuild_tensor' is not allowed"),
                bad(
                        "a pickled module",
                        new TorchZip.P()
                                .proto()
                                .global("torchvision.models.resnet", "ResNet")
                                .bytes(),
                        four,
                        "save model.state_dict(), not the model"),
                bad(
                        "malformed _rebuild_tensor_v2",
                        new TorchZip.P()
                                .proto()
                                .global("torch._utils", "_rebuild_tensor_v2")
                                .op(EMPTY_TUPLE, REDUCE)
                                .bytes(),
                        four,
                        "malformed arguments to torch._utils._rebuild_tensor_v2"));
    }

    private static Arguments bad(String what, byte[] pickle, Map<String, byte[]> storages, String fragment) {
        return Arguments.of(what, pickle, storages, fragment);
    }

    private static byte[] marks(int n) {
        byte[] b = new byte[n + 2];
        Arrays.fill(b, (byte) TorchZip.MARK);
        b[0] = (byte) 0x80;
        b[1] = 2;
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenPickles")
    void brokenPicklesAreRefused(String what, byte[] pickle, Map<String, byte[]> storages, String fragment)
            throws Exception {
        rejects(archive(pickle, storages), fragment);
    }

    @Test
    void otherDtypesAreRefusedByName() {
        rejects(fixture("float64.pth"), "tensor 'x' has unsupported dtype F64 (torch.DoubleStorage)");
    }

    @Test
    void legacyFormatIsRefusedWithAdvice() {
        rejects(fixture("legacy.pth"), "legacy .pth format (torch < 1.6), re-save with torch>=1.6");
    }

    @Test
    void hugeDeclaredEntryIsRefusedBeforeReading() {
        rejects(fixture("huge_entry.pth"), "ZIP entry 'archive/data.pkl' declares 3221225472 bytes");
    }

    @Test
    void truncatedEmptyAndForeignFilesAreRefused() throws Exception {
        byte[] whole = Files.readAllBytes(fixture("views.pth"));
        for (int len : new int[] {whole.length / 2, whole.length - 1, 4}) {
            rejects(
                    Files.write(tmp.resolve("cut" + len + ".pth"), Arrays.copyOf(whole, len)),
                    "not a valid ZIP archive");
        }
        rejects(Files.write(tmp.resolve("empty.pth"), new byte[0]), "empty file");
        rejects(Files.write(tmp.resolve("text.pth"), "hello".getBytes(StandardCharsets.US_ASCII)), "no ZIP signature");
    }

    @Test
    void archiveStructureIsChecked() throws Exception {
        byte[] ok = oneTensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1});
        rejects(
                TorchZip.writeZip(tmp.resolve("nopkl.pth"), Map.of("archive/version", new byte[] {'3'})),
                "no <archive>/data.pkl");
        rejects(
                TorchZip.writeZip(tmp.resolve("twopkl.pth"), Map.of("a/data.pkl", ok, "b/data.pkl", ok)),
                "more than one data.pkl");
        Map<String, byte[]> bigEndian = new LinkedHashMap<>();
        bigEndian.put("archive/data.pkl", ok);
        bigEndian.put("archive/byteorder", "big".getBytes(StandardCharsets.US_ASCII));
        bigEndian.put("archive/data/0", TorchZip.floats(4));
        rejects(TorchZip.writeZip(tmp.resolve("big.pth"), bigEndian), "byte order 'big'");

        // the same name twice: write two entries, then rename the second in place
        Path twice = TorchZip.write(
                tmp.resolve("twice.pth"), ok, new TreeMap<>(Map.of("0", TorchZip.floats(4), "1", TorchZip.floats(4))));
        String zip = new String(Files.readAllBytes(twice), StandardCharsets.ISO_8859_1);
        Files.write(twice, zip.replace("archive/data/1", "archive/data/0").getBytes(StandardCharsets.ISO_8859_1));
        rejects(twice, "ZIP entry 'archive/data/0' appears twice");

        // a comment that is not UTF-8, which ZipFile reports while iterating, as an IllegalArgumentException
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", ok);
        entries.put("archive/data/0", TorchZip.floats(4));
        Path comment = TorchZip.writeZip(tmp.resolve("comment.pth"), entries, ZipEntry.STORED, "\u00e9");
        byte[] b = Files.readAllBytes(comment);
        for (int i = 0; i + 1 < b.length; i++) {
            if ((b[i] & 0xff) == 0xc3 && (b[i + 1] & 0xff) == 0xa9) {
                b[i] = (byte) 0xff;
            }
        }
        rejects(Files.write(comment, b), "a ZIP entry's name or comment is not valid UTF-8");
    }

    /** A deflated storage may claim any size; storages together may not claim more than the file. */
    @Test
    void storagesLargerThanTheFileAreRefused() throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", oneTensor("FloatStorage", "0", 1 << 20, 0, new long[] {4}, new long[] {1}));
        entries.put("archive/data/0", new byte[4 << 20]);
        rejects(
                TorchZip.writeZip(tmp.resolve("bomb.pth"), entries, ZipEntry.DEFLATED),
                "storages declare 4194304 bytes, more than the file's");
    }

    /** Twenty whole views of one 4 MiB storage: 80 MiB of tensors from a 4 MiB file. */
    @Test
    void viewsThatAmplifyAreRefused() throws Exception {
        int n = 1 << 20;
        TorchZip.P p = new TorchZip.P().proto().orderedDict().mark();
        for (int i = 0; i < 20; i++) {
            p.str("t" + i).tensor("FloatStorage", "0", n, 0, new long[] {n}, new long[] {1});
        }
        rejects(archive(p.op(SETITEMS, STOP).bytes(), Map.of("0", new byte[4 * n])), "over the limit");
    }

    static final int COLLIDING_KEYS = 160_000;

    /**
     * 160k int and float keys that all hash to 0 (a Long {@code (k << 32) | k}, a double with those
     * bits): they are not mutually Comparable, so a HashMap could not treeify their bin and every
     * insert scanned all others (59 s for this 1.8 MB file). Refused at the first key, at once.
     */
    @Test
    void collidingNonStringKeysAreRefusedAtOnce() throws Exception {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.write(new byte[] {(byte) 0x80, 2, EMPTY_DICT, TorchZip.MARK});
        java.nio.ByteBuffer le = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (long k = 1; k <= COLLIDING_KEYS; k++) {
            long bits = (k << 32) | k;
            if (k % 2 == 0) {
                b.write(0x8a); // LONG1, 8 bytes
                b.write(8);
                b.write(le.clear().putLong(bits).array(), 0, 8);
            } else {
                b.write('G'); // BINFLOAT, big-endian
                b.write(java.nio.ByteBuffer.allocate(8).putLong(bits).array(), 0, 8);
            }
            b.write(NONE);
        }
        b.write(new byte[] {SETITEMS, STOP});
        Path file = archive(b.toByteArray(), Map.of());
        long t0 = System.nanoTime();
        assertTimeoutPreemptively(
                Duration.ofSeconds(1), () -> rejects(file, "dict key of type float: only str keys are accepted"));
        System.out.printf(
                "colliding keys: %d bytes refused in %.1f ms%n", Files.size(file), (System.nanoTime() - t0) / 1e6);
    }

    /** Str keys crafted to collide ("Aa" and "BB" hash alike): the map treeifies them, so n log n. */
    @Test
    void collidingStringKeysStayFast() throws Exception {
        TorchZip.P p = new TorchZip.P().proto().op(EMPTY_DICT).mark();
        for (int k = 0; k < COLLIDING_KEYS; k++) {
            StringBuilder key = new StringBuilder();
            for (int bit = 0; bit < 18; bit++) {
                key.append((k >> bit & 1) == 0 ? "Aa" : "BB");
            }
            p.str(key.toString()).op(NONE);
        }
        byte[] pickle = p.op(SETITEMS, STOP).bytes();
        Map<?, ?> d = assertTimeoutPreemptively(
                Duration.ofSeconds(5), () -> (Map<?, ?>) Pickle.load(pickle, new PickleTest.Refusing()));
        assertEquals(COLLIDING_KEYS, d.size());
        assertEquals(1, d.keySet().stream().map(Object::hashCode).distinct().count(), "the keys all collide");
    }

    /** The str-keys-only rule keeps real state dicts (with their nested _metadata) loading. */
    @Test
    void realStateDictStillLoads() throws Exception {
        Map<String, Tensor> sd = PthReader.read(Shared.require("conformance/resnet18/resnet18.pth"));
        assertTrue(
                sd.containsKey("fc.weight") && sd.containsKey("layer4.1.bn2.running_var"),
                sd.keySet().toString());
    }
}

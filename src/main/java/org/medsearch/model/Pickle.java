package org.medsearch.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle machine for the subset of the protocol that {@code torch.save(state_dict)} writes (protocols
 * 2 to 5), and no more. It cannot run code: the opcodes that would import or call something in Python
 * (GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ, BUILD, BINPERSID) are handed to a {@link Resolver}, which
 * decides what they mean or rejects them; every other opcode only moves plain values between the
 * stack and the memo. Nothing is looked up by name, loaded or reflected upon.
 *
 * <p>Python values become: None {@code null}, bool {@link Boolean}, int {@link Long} (wider is an
 * error), float {@link Double}, str {@link String}, tuple {@code Object[]}, list {@link ArrayList},
 * dict {@link LinkedHashMap} (insertion order kept; str keys only); anything else is whatever the
 * resolver returns.
 *
 * <p>Contract: {@link #load} throws only {@link WeightsFormatException}, its message starting with
 * the offending opcode's offset ({@code "pickle byte 42: ..."}), for an unknown opcode, truncated
 * input, a type error (say SETITEM on a tuple), a stack, mark, memo or string bound exceeded, or
 * whatever the resolver refuses, and for a dict key that is not a str. Its memory is linear in the
 * input's length and its time O(n log n): each opcode does constant work per value it creates or
 * moves, except a dict insert and a memo access, which are hash-map operations on keys that are
 * Comparable (str keys, int memo indices), so even keys crafted to collide cost O(log n) comparisons
 * each (Java's HashMap turns a crowded bin into a tree). There are no set opcodes. Values are never
 * hashed or printed deeply, so a pickle that makes a list contain itself does no harm.
 *
 * <pre>{@code
 * Object value = Pickle.load(bytes, resolver); // resolver: the allow-list, e.g. PthReader's
 * }</pre>
 */
final class Pickle {

    /**
     * What the opcodes that reach outside plain data mean. Each method either returns a value (which
     * the machine treats as opaque) or throws, naming what it refused.
     */
    interface Resolver {
        /** GLOBAL and STACK_GLOBAL: the value {@code module.name} stands for. */
        Object global(String module, String name) throws WeightsFormatException;

        /** REDUCE: {@code callable(*args)}. */
        Object call(Object callable, Object[] args) throws WeightsFormatException;

        /** NEWOBJ: {@code cls.__new__(cls, *args)}. */
        Object newObject(Object cls, Object[] args) throws WeightsFormatException;

        /** BUILD: {@code target.__setstate__(state)}; the target stays on the stack. */
        void build(Object target, Object state) throws WeightsFormatException;

        /** BINPERSID: the object a persistent id refers to (torch: a storage). */
        Object persistentLoad(Object pid) throws WeightsFormatException;
    }

    private static final int MAX_STACK = 1 << 20;
    /** Marks nest as deep as containers; a state dict needs about four. */
    static final int MAX_MARKS = 1024;

    private static final int MAX_MEMO = 1 << 20;
    private static final int MAX_STRING_BYTES = 1 << 20;
    private static final int MAX_GLOBAL_LINE = 256;
    private static final int HIGHEST_PROTOCOL = 5;

    private final byte[] in;
    private final Resolver resolver;
    private int pos;
    /** Position of the opcode being executed, for messages. */
    private int at;

    private final List<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markCount;
    private final Map<Integer, Object> memo = new HashMap<>();

    private Pickle(byte[] in, Resolver resolver) {
        this.in = in;
        this.resolver = resolver;
    }

    /** Runs {@code pickle} to its STOP opcode and returns the value it built. */
    static Object load(byte[] pickle, Resolver resolver) throws WeightsFormatException {
        return new Pickle(pickle, resolver).run();
    }

    private Object run() throws WeightsFormatException {
        while (true) {
            at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v < 2 || v > HIGHEST_PROTOCOL) {
                        throw fail("unsupported protocol " + v);
                    }
                }
                case 0x95 -> { // FRAME: a length prefix for buffering, meaningless once all is in memory
                    long len = le(8);
                    if (len < 0 || len > in.length - pos) {
                        throw fail("FRAME of " + len + " bytes runs past the end");
                    }
                }
                case 0x2e -> { // STOP
                    if (markCount != 0 || stack.size() != 1) {
                        throw fail("STOP with " + stack.size() + " values and " + markCount + " marks left");
                    }
                    return stack.get(0);
                }
                case 0x63 -> { // GLOBAL
                    String module = line();
                    String name = line();
                    push(ask(() -> resolver.global(module, name)));
                }
                case 0x93 -> { // STACK_GLOBAL
                    String name = pop(String.class, "STACK_GLOBAL name");
                    String module = pop(String.class, "STACK_GLOBAL module");
                    push(ask(() -> resolver.global(module, name)));
                }
                case 0x51 -> { // BINPERSID
                    Object pid = pop();
                    push(ask(() -> resolver.persistentLoad(pid)));
                }
                case 0x52 -> { // REDUCE
                    Object[] args = pop(Object[].class, "REDUCE arguments");
                    Object callable = pop();
                    push(ask(() -> resolver.call(callable, args)));
                }
                case 0x81 -> { // NEWOBJ
                    Object[] args = pop(Object[].class, "NEWOBJ arguments");
                    Object cls = pop();
                    push(ask(() -> resolver.newObject(cls, args)));
                }
                case 0x62 -> { // BUILD
                    Object state = pop();
                    Object target = peek();
                    ask(() -> {
                        resolver.build(target, state);
                        return null;
                    });
                }
                case 0x28 -> mark(); // MARK
                case 0x29 -> push(new Object[0]); // EMPTY_TUPLE
                case 0x74 -> push(popToMark().toArray()); // TUPLE
                case 0x85 -> push(popN(1)); // TUPLE1
                case 0x86 -> push(popN(2)); // TUPLE2
                case 0x87 -> push(popN(3)); // TUPLE3
                case 0x7d -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case 0x5d -> push(new ArrayList<>()); // EMPTY_LIST
                case 0x73 -> { // SETITEM
                    Object value = pop();
                    Object key = pop();
                    dict(peek()).put(key(key), value);
                }
                case 0x75 -> { // SETITEMS
                    List<Object> items = popToMark();
                    if (items.size() % 2 != 0) {
                        throw fail("SETITEMS with an odd number of values");
                    }
                    Map<Object, Object> d = dict(peek());
                    for (int i = 0; i < items.size(); i += 2) {
                        d.put(key(items.get(i)), items.get(i + 1));
                    }
                }
                case 0x61 -> { // APPEND
                    Object value = pop();
                    list(peek()).add(value);
                }
                case 0x65 -> { // APPENDS
                    List<Object> items = popToMark();
                    list(peek()).addAll(items);
                }
                case 0x4a -> push((long) (int) le(4)); // BININT
                case 0x4b -> push((long) u8()); // BININT1
                case 0x4d -> push(le(2)); // BININT2
                case 0x8a -> push(long1(u8())); // LONG1
                case 0x47 ->
                    push(ByteBuffer.wrap(take(8)).order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT
                case 0x58 -> push(string(le(4))); // BINUNICODE
                case 0x8c -> push(string(u8())); // SHORT_BINUNICODE
                case 0x54 -> push(string((int) le(4))); // BINSTRING: signed length
                case 0x55 -> push(string(u8())); // SHORT_BINSTRING
                case 0x4e -> push(null); // NONE
                case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                case 0x71 -> put(u8()); // BINPUT
                case 0x72 -> put(le(4)); // LONG_BINPUT
                case 0x94 -> put(memo.size()); // MEMOIZE
                case 0x68 -> push(get(u8())); // BINGET
                case 0x6a -> push(get(le(4))); // LONG_BINGET
                default ->
                    throw fail(String.format(
                            "unsupported opcode 0x%02x%s",
                            op, op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : ""));
            }
        }
    }

    private interface Question {
        Object answer() throws WeightsFormatException;
    }

    /** Asks the resolver, adding the opcode's position to its refusal. */
    private Object ask(Question q) throws WeightsFormatException {
        try {
            return q.answer();
        } catch (WeightsFormatException e) {
            throw fail(e.getMessage());
        }
    }

    private WeightsFormatException fail(String message) {
        return new WeightsFormatException("pickle byte " + at + ": " + message);
    }

    private int u8() throws WeightsFormatException {
        if (pos >= in.length) {
            throw fail("the pickle ends without STOP");
        }
        return in[pos++] & 0xff;
    }

    /** An unsigned little-endian integer of {@code n} bytes (n = 8 may come out negative). */
    private long le(int n) throws WeightsFormatException {
        byte[] b = take(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (b[i] & 0xff);
        }
        return v;
    }

    private byte[] take(long n) throws WeightsFormatException {
        if (n < 0 || n > in.length - pos) {
            throw fail("truncated: " + n + " bytes wanted, " + (in.length - pos) + " left");
        }
        byte[] b = Arrays.copyOfRange(in, pos, pos + (int) n);
        pos += (int) n;
        return b;
    }

    /** LONG1: {@code n} bytes, little-endian two's complement. */
    private long long1(int n) throws WeightsFormatException {
        if (n > 8) {
            throw fail("integer of " + n + " bytes does not fit 64 bits");
        }
        long v = le(n);
        return n == 0 || n == 8 ? v : (v << (64 - 8 * n)) >> (64 - 8 * n);
    }

    private String string(long n) throws WeightsFormatException {
        if (n < 0 || n > MAX_STRING_BYTES) {
            throw fail("string of " + n + " bytes (limit " + MAX_STRING_BYTES + ")");
        }
        return utf8(take(n));
    }

    /** GLOBAL's newline-terminated operands. */
    private String line() throws WeightsFormatException {
        int start = pos;
        int end = start;
        while (end < in.length && end - start < MAX_GLOBAL_LINE && in[end] != '\n') {
            end++;
        }
        if (end >= in.length || in[end] != '\n') {
            throw fail("GLOBAL operand is unterminated or longer than " + MAX_GLOBAL_LINE + " bytes");
        }
        pos = end + 1;
        return utf8(Arrays.copyOfRange(in, start, end));
    }

    private String utf8(byte[] b) throws WeightsFormatException {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b))
                    .toString();
        } catch (CharacterCodingException e) {
            throw fail("string is not valid UTF-8");
        }
    }

    private void push(Object v) throws WeightsFormatException {
        if (stack.size() >= MAX_STACK) {
            throw fail("stack deeper than " + MAX_STACK);
        }
        stack.add(v);
    }

    /** The lowest stack index the current opcode may touch: items below the last MARK are hidden. */
    private int floor() {
        return markCount == 0 ? 0 : marks[markCount - 1];
    }

    private Object pop() throws WeightsFormatException {
        if (stack.size() <= floor()) {
            throw fail("stack underflow");
        }
        return stack.remove(stack.size() - 1);
    }

    private <T> T pop(Class<T> type, String what) throws WeightsFormatException {
        Object v = pop();
        if (!type.isInstance(v)) {
            throw fail(what + " is " + typeName(v) + ", not a " + (type == String.class ? "str" : "tuple"));
        }
        return type.cast(v);
    }

    private Object peek() throws WeightsFormatException {
        if (stack.size() <= floor()) {
            throw fail("stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private Object[] popN(int n) throws WeightsFormatException {
        if (stack.size() - floor() < n) {
            throw fail("stack underflow");
        }
        List<Object> top = stack.subList(stack.size() - n, stack.size());
        Object[] out = top.toArray();
        top.clear();
        return out;
    }

    private void mark() throws WeightsFormatException {
        if (markCount == MAX_MARKS) {
            throw fail("marks nested deeper than " + MAX_MARKS);
        }
        if (markCount == marks.length) {
            marks = Arrays.copyOf(marks, markCount * 2);
        }
        marks[markCount++] = stack.size();
    }

    private List<Object> popToMark() throws WeightsFormatException {
        if (markCount == 0) {
            throw fail("no MARK to pop to");
        }
        List<Object> top = stack.subList(marks[--markCount], stack.size());
        List<Object> out = new ArrayList<>(top);
        top.clear();
        return out;
    }

    private void put(long index) throws WeightsFormatException {
        if (index > Integer.MAX_VALUE) {
            throw fail("memo index " + index + " out of range");
        }
        if (memo.size() >= MAX_MEMO && !memo.containsKey((int) index)) {
            throw fail("memo larger than " + MAX_MEMO + " entries");
        }
        memo.put((int) index, peek());
    }

    private Object get(long index) throws WeightsFormatException {
        if (index > Integer.MAX_VALUE || !memo.containsKey((int) index)) {
            throw fail("memo has no entry " + index);
        }
        return memo.get((int) index);
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object target) throws WeightsFormatException {
        if (!(target instanceof LinkedHashMap)) {
            throw fail("cannot set items on " + typeName(target));
        }
        return (Map<Object, Object>) target;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object target) throws WeightsFormatException {
        if (!(target instanceof ArrayList)) {
            throw fail("cannot append to " + typeName(target));
        }
        return (List<Object>) target;
    }

    /**
     * Only str keys: a state dict (and its {@code _metadata}) is keyed by name, and nothing else may be
     * hashed. Keys of mixed types (int and float, say) are not mutually {@link Comparable}, so a
     * {@link java.util.HashMap} bin of keys crafted to collide stays a list that every insert scans:
     * quadratic time. Strings that collide are treeified by the map (they are Comparable), so each
     * insert costs O(log n) comparisons, each bounded by the strings' lengths.
     */
    private Object key(Object k) throws WeightsFormatException {
        if (k instanceof String) {
            return k;
        }
        throw fail("dict key of type " + typeName(k) + ": only str keys are accepted (a state dict is keyed by name)");
    }

    /**
     * Python's name for a value's type, never the value itself (values may be huge or cyclic); a
     * resolver's objects describe themselves through {@code toString}.
     */
    static String typeName(Object v) {
        if (v == null) {
            return "None";
        } else if (v instanceof String) {
            return "str";
        } else if (v instanceof Long) {
            return "int";
        } else if (v instanceof Double) {
            return "float";
        } else if (v instanceof Boolean) {
            return "bool";
        } else if (v instanceof Object[]) {
            return "tuple";
        } else if (v instanceof ArrayList) {
            return "list";
        } else if (v instanceof LinkedHashMap) {
            return "dict";
        }
        return v.toString();
    }
}

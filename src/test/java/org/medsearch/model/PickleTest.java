package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The pickle machine on its own: plain values as Python writes them, and what it hands the resolver. */
class PickleTest {

    /** Refuses everything, as a resolver with an empty allow-list would. */
    static class Refusing implements Pickle.Resolver {
        @Override
        public Object global(String module, String name) throws WeightsFormatException {
            throw new WeightsFormatException("no globals");
        }

        @Override
        public Object call(Object callable, Object[] args) throws WeightsFormatException {
            throw new WeightsFormatException("no calls");
        }

        @Override
        public Object newObject(Object cls, Object[] args) throws WeightsFormatException {
            throw new WeightsFormatException("no objects");
        }

        @Override
        public void build(Object target, Object state) throws WeightsFormatException {
            throw new WeightsFormatException("no state");
        }

        @Override
        public Object persistentLoad(Object pid) throws WeightsFormatException {
            throw new WeightsFormatException("no persistent ids");
        }
    }

    /**
     * {@code x = [7]; pickle.dumps((1.5, -7, 300, 70000, 2**40, -2**63, 'é', [1,2,3], [None],
     * {'a': None, 'b': True}, False, (), (1,), (1,2), (1,2,3), x, x), protocol=P)} by CPython 3.11.
     */
    @ParameterizedTest
    @ValueSource(
            strings = {
                "800228473ff80000000000004af9ffffff4d2c014a701101008a060000000000018a0800000000000000805802000000c3a971005d"
                        + "7101284b014b024b03655d71024e617d71032858010000006171044e5801000000627105887589294b018571064b014b02867107"
                        + "4b014b024b038771085d71094b0761680974710a2e",
                "800495680000000000000028473ff80000000000004af9ffffff4d2c014a701101008a060000000000018a080000000000000080"
                        + "8c02c3a9945d94284b014b024b03655d944e617d94288c0161944e8c016294887589294b0185944b014b0286944b014b024b03"
                        + "87945d944b0761680974942e"
            })
    void plainValuesAsPythonWritesThem(String hex) throws Exception {
        Object[] t = (Object[]) Pickle.load(HexFormat.of().parseHex(hex), new Refusing());
        assertEquals(17, t.length);
        assertEquals(1.5, t[0]);
        assertEquals(-7L, t[1]);
        assertEquals(300L, t[2]);
        assertEquals(70000L, t[3]);
        assertEquals(1L << 40, t[4]);
        assertEquals(Long.MIN_VALUE, t[5]);
        assertEquals("é", t[6]);
        assertEquals(List.of(1L, 2L, 3L), t[7]);
        assertEquals(Arrays.asList((Object) null), t[8]);
        Map<Object, Object> d = new LinkedHashMap<>();
        d.put("a", null);
        d.put("b", true);
        assertEquals(d, t[9]);
        assertEquals(false, t[10]);
        assertArrayEquals(new Object[0], (Object[]) t[11]);
        assertArrayEquals(new Object[] {1L}, (Object[]) t[12]);
        assertArrayEquals(new Object[] {1L, 2L}, (Object[]) t[13]);
        assertArrayEquals(new Object[] {1L, 2L, 3L}, (Object[]) t[14]);
        assertEquals(List.of(7L), t[15]);
        assertSame(t[15], t[16], "the memo shares one list, as Python does");
        assertTrue(t[7] instanceof ArrayList && t[9] instanceof LinkedHashMap);
    }

    /** Python 2's str opcodes, and LONG1's short and signed forms. */
    @Test
    void shortFormsAndPython2Strings() throws Exception {
        byte[] p = {
            (byte) 0x80,
            2,
            '(',
            'U',
            2,
            'h',
            'i',
            'T',
            3,
            0,
            0,
            0,
            'a',
            'b',
            'c',
            (byte) 0x8a,
            0,
            (byte) 0x8a,
            3,
            (byte) 0xff,
            (byte) 0xff,
            (byte) 0xff,
            (byte) 0x8a,
            1,
            0x7f,
            't',
            '.'
        };
        assertArrayEquals(new Object[] {"hi", "abc", 0L, -1L, 127L}, (Object[]) Pickle.load(p, new Refusing()));
    }

    /** The opcodes that would reach Python go to the resolver, with their operands. */
    @Test
    void globalsCallsStateAndPersistentIdsGoToTheResolver() throws Exception {
        List<String> asked = new ArrayList<>();
        Pickle.Resolver recording = new Refusing() {
            @Override
            public Object global(String module, String name) {
                asked.add("global " + module + "." + name);
                return "G";
            }

            @Override
            public Object call(Object callable, Object[] args) {
                asked.add("call " + callable + Arrays.toString(args));
                return new LinkedHashMap<>();
            }

            @Override
            public Object newObject(Object cls, Object[] args) {
                asked.add("new " + cls + Arrays.toString(args));
                return new LinkedHashMap<>();
            }

            @Override
            public void build(Object target, Object state) {
                asked.add("build " + state);
            }

            @Override
            public Object persistentLoad(Object pid) {
                asked.add("persid " + pid);
                return "S";
            }
        };
        byte[] p = new TorchZip.P()
                .proto()
                .global("m", "f")
                .op('K', 5, TorchZip.TUPLE1, TorchZip.REDUCE) // d = m.f(5)
                .str("x")
                .op(0x8c, 1, 'a', 0x8c, 1, 'b', 0x93, TorchZip.EMPTY_TUPLE, TorchZip.NEWOBJ) // a.b.__new__()
                .op(TorchZip.EMPTY_DICT)
                .str("k")
                .op(TorchZip.NONE, TorchZip.SETITEM, TorchZip.BUILD) // state {k: None}
                .op(TorchZip.SETITEM) // d['x'] = that object
                .str("y")
                .str("p")
                .op(TorchZip.BINPERSID, TorchZip.SETITEM, TorchZip.STOP) // d['y'] = load('p')
                .bytes();
        Object out = Pickle.load(p, recording);
        assertEquals(List.of("global m.f", "call G[5]", "global a.b", "new G[]", "build {k=null}", "persid p"), asked);
        assertEquals("{x={}, y=S}", out.toString());
    }

    @Test
    void aResolversRefusalCarriesTheOpcodesOffset() {
        byte[] p = new TorchZip.P().proto().global("os", "system").bytes();
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Pickle.load(p, new Refusing()));
        assertEquals("pickle byte 2: no globals", e.getMessage());
    }
}

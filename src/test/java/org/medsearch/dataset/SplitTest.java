package org.medsearch.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.ImageReaders;
import org.medsearch.testutil.Shared;

class SplitTest {

    /** A synthetic data set: n images per class, some byte-identical, some sharing a patient. */
    static Dataset synthetic(int classes, int perClass, long seed) {
        Random rnd = new Random(seed);
        List<Sample> s = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            for (int i = 0; i < perClass; i++) {
                // a few byte-identical copies and a few multi-image patients, as in real archives
                String hash = rnd.nextInt(20) == 0 ? "dup" + c + "-" + rnd.nextInt(8) : "h" + c + "-" + i;
                String patient = rnd.nextInt(4) == 0 ? "pat" + c + "x" + rnd.nextInt(40) : null;
                s.add(new Sample(
                        "c" + c + "/" + i + ".png", Path.of("c" + c, i + ".png"), "c" + c, patient, null, hash));
            }
        }
        return new Dataset(Path.of("."), s, new ScanReport(s.size(), Map.of(), List.of()));
    }

    @Test
    void stratifiedProportionsPerClass() {
        Dataset ds = synthetic(4, 400, 1);
        Split split = Split.stratified(ds, SplitRatios.DEFAULT, 7);
        Map<Integer, Integer> groupSizes = new HashMap<>();
        split.entries().values().forEach(e -> groupSizes.merge(e.group(), 1, Integer::sum));
        int slack = groupSizes.values().stream().max(Integer::compare).orElseThrow() + 1;
        for (String c : ds.classes()) {
            Map<Split.Part, Integer> n = new HashMap<>();
            ds.samples().stream()
                    .filter(x -> x.label().equals(c))
                    .forEach(x -> n.merge(split.partOf(x.relativePath()), 1, Integer::sum));
            // each part gets its share to within the largest group
            assertEquals(280, n.get(Split.Part.TRAIN), slack, c + " " + n);
            assertEquals(60, n.get(Split.Part.VAL), slack, c + " " + n);
            assertEquals(60, n.get(Split.Part.TEST), slack, c + " " + n);
        }
    }

    @Test
    void groupsNeverCrossParts() {
        Dataset ds = synthetic(3, 300, 2);
        Split split = Split.stratified(ds, SplitRatios.DEFAULT, 3);
        Map<String, Split.Part> byHash = new HashMap<>();
        Map<String, Split.Part> byPatient = new HashMap<>();
        for (Sample s : ds.samples()) {
            Split.Part p = split.partOf(s.relativePath());
            Split.Part before = byHash.putIfAbsent(s.contentHash(), p);
            assertTrue(before == null || before == p, "identical bytes split across parts: " + s);
            if (s.patientId() != null) {
                Split.Part pb = byPatient.putIfAbsent(s.patientId(), p);
                assertTrue(pb == null || pb == p, "patient split across parts: " + s);
            }
        }
        assertTrue(split.duplicateGroups() > 0);
        assertTrue(split.patientGroups() > 0);
    }

    @Test
    void seededAndReproducible(@TempDir Path dir) throws Exception {
        Dataset ds = synthetic(3, 200, 4);
        Split a = Split.stratified(ds, SplitRatios.DEFAULT, 11);
        Split b = Split.stratified(ds, SplitRatios.DEFAULT, 11);
        Split c = Split.stratified(ds, SplitRatios.DEFAULT, 12);
        assertEquals(a.toCsv(), b.toCsv());
        assertNotEquals(a.hash(), c.hash());
        a.write(dir.resolve("split.csv"));
        Split back = Split.read(dir.resolve("split.csv"), 11, SplitRatios.DEFAULT);
        assertEquals(a.hash(), back.hash());
        assertEquals(a.duplicateGroups(), back.duplicateGroups());
        assertTrue(!a.toCsv().matches("(?s).*pat\\d.*"), "the split file must not hold patient ids");
    }

    @Test
    void ratiosParse() {
        assertEquals(new SplitRatios(0.8, 0.1, 0.1), SplitRatios.parse("80/10/10"));
        assertEquals("70/15/15", SplitRatios.parse("0.7/0.15/0.15").toString());
    }

    @Test
    void mednistHas348DuplicateGroupsAndNoLeak() throws Exception {
        Path mednist = Shared.require("data/mednist");
        Dataset ds =
                new DatasetScanner(ImageReaders.standard()).optDecode(false).scan(mednist);
        assertEquals(58_954, ds.size());
        Split split = Split.stratified(ds, SplitRatios.DEFAULT, 1);
        assertEquals(348, split.duplicateGroups());
        Map<String, Split.Part> byHash = new HashMap<>();
        for (Sample s : ds.samples()) {
            Split.Part p = split.partOf(s.relativePath());
            assertEquals(p, byHash.computeIfAbsent(s.contentHash(), h -> p), s.relativePath());
        }
    }

    @Test
    void foldsTestEveryImageOnceAndKeepGroupsTogether() {
        Dataset ds = synthetic(3, 120, 5);
        // one pair of identical images under two labels, as BUSI has
        List<Sample> samples = new ArrayList<>(ds.samples());
        Sample a = samples.get(0);
        samples.add(new Sample("c1/conflict.png", Path.of("c1", "conflict.png"), "c1", null, null, a.contentHash()));
        ds = new Dataset(Path.of("."), samples, new ScanReport(samples.size(), Map.of(), List.of()));
        int k = 5;
        List<Split> folds = Split.folds(ds, k, 0.2, 3);
        assertEquals(k, folds.size());
        Map<String, Integer> testedIn = new HashMap<>();
        for (int f = 0; f < k; f++) {
            Split s = folds.get(f);
            assertEquals(1, s.labelConflicts());
            Map<String, Split.Part> byHash = new HashMap<>();
            Map<String, Split.Part> byPatient = new HashMap<>();
            for (Sample x : ds.samples()) {
                Split.Part p = s.partOf(x.relativePath());
                assertEquals(p, byHash.computeIfAbsent(x.contentHash(), h -> p), "identical images apart: " + x);
                if (x.patientId() != null) {
                    assertEquals(p, byPatient.computeIfAbsent(x.patientId(), h -> p), "a patient apart: " + x);
                }
                if (p == Split.Part.TEST) {
                    assertEquals(null, testedIn.put(x.relativePath(), f), "tested twice: " + x);
                }
            }
            // per class: a fifth tests, and a fifth of the rest validates, each within a few images (groups)
            for (String c : ds.classes()) {
                long test = ds.samples().stream()
                        .filter(x -> x.label().equals(c) && s.partOf(x.relativePath()) == Split.Part.TEST)
                        .count();
                long val = ds.samples().stream()
                        .filter(x -> x.label().equals(c) && s.partOf(x.relativePath()) == Split.Part.VAL)
                        .count();
                assertTrue(Math.abs(test - 24) <= 4, c + " fold " + f + " test " + test);
                assertTrue(Math.abs(val - 19.2) <= 4, c + " fold " + f + " val " + val);
            }
        }
        assertEquals(ds.size(), testedIn.size(), "every image is tested in exactly one fold");
        // reproducible, and another seed deals other folds
        assertEquals(folds.get(2).toCsv(), Split.folds(ds, k, 0.2, 3).get(2).toCsv());
        assertNotEquals(folds.get(2).toCsv(), Split.folds(ds, k, 0.2, 4).get(2).toCsv());
    }

    @Test
    void foldSettingsAreChecked() {
        Dataset ds = synthetic(2, 10, 1);
        IllegalArgumentException one = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> Split.folds(ds, 1, 0.2, 1));
        assertTrue(one.getMessage().contains("at least 2 folds"), one.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Split.folds(ds, 5, 1.0, 1));
    }
}

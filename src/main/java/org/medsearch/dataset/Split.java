package org.medsearch.dataset;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Hashing;

/**
 * A train/validation/test assignment of a {@link Dataset}'s samples, stratified by class, seeded,
 * and grouped: byte-identical images, images of one patient, and slices of one volume always land
 * in the same part.
 *
 * <p>Contract: {@link #stratified} depends only on the samples (relative paths, labels, content
 * hashes, patient ids), the ratios and the seed, so the same inputs give the same split on any
 * machine. Per class, each part receives its share of images to within the size of the largest
 * group. A group whose members carry different labels (the same bytes filed under two classes) is
 * placed by its majority label and counted in {@link #labelConflicts()}.
 *
 * <p>The split is written as CSV ({@code path,label,split,group,sha256}) so that it can be reviewed
 * and reproduced; it holds no patient identifiers.
 *
 * <pre>{@code
 * Split s = Split.stratified(dataset, SplitRatios.DEFAULT, 1);
 * s.write(modelDir.resolve("split.csv"));
 * List<Sample> test = s.samples(dataset, Split.Part.TEST);
 * }</pre>
 */
public final class Split {

    /** The three parts. */
    public enum Part {
        TRAIN,
        VAL,
        TEST;

        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Part parse(String s) {
            return Part.valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
        }
    }

    /** One row: the part and group of a sample. */
    public record Entry(String relativePath, String label, Part part, int group, String contentHash) {}

    private final Map<String, Entry> entries;
    private final long seed;
    private final SplitRatios ratios;
    private final int duplicateGroups;
    private final int duplicateImages;
    private final int patientGroups;
    private final int labelConflicts;

    private Split(Map<String, Entry> entries, long seed, SplitRatios ratios, int patientGroups, int labelConflicts) {
        this.entries = Collections.unmodifiableMap(entries);
        this.seed = seed;
        this.ratios = ratios;
        // byte-identical images: groups of entries sharing a content hash
        Map<String, Integer> hashCounts = new HashMap<>();
        for (Entry e : entries.values()) {
            hashCounts.merge(e.contentHash(), 1, Integer::sum);
        }
        int groups = 0;
        int images = 0;
        for (int c : hashCounts.values()) {
            if (c > 1) {
                groups++;
                images += c;
            }
        }
        this.duplicateGroups = groups;
        this.duplicateImages = images;
        this.patientGroups = patientGroups;
        this.labelConflicts = labelConflicts;
    }

    /** Splits a labelled data set; unlabelled samples are left out. */
    public static Split stratified(Dataset ds, SplitRatios ratios, long seed) {
        Groups g = Groups.of(ds);
        Map<String, Entry> entries = new TreeMap<>();
        int groupId = 0;
        for (Map.Entry<String, List<List<Integer>>> stratum : g.strata().entrySet()) {
            List<List<Integer>> gs = new ArrayList<>(stratum.getValue());
            // groups come in path order (TreeMap of union-find roots, which are the lowest path index);
            // a per-class generator keeps one class's split independent of the others
            Collections.shuffle(
                    gs, new Random(seed * 1_000_003L + stratum.getKey().hashCode()));
            int[] part = assign(gs, new double[] {ratios.train(), ratios.val(), ratios.test()});
            for (int i = 0; i < gs.size(); i++) {
                g.put(entries, gs.get(i), Part.values()[part[i]], groupId++);
            }
        }
        return new Split(new LinkedHashMap<>(entries), seed, ratios, g.patients(), g.conflicts());
    }

    /**
     * The splits of a k-fold cross-validation, by the same rules as {@link #stratified}: per class,
     * the groups (byte-identical images, one patient, one volume) are dealt into {@code k} folds of
     * equal size; split {@code f} tests on fold {@code f}, and the other folds are split again, by
     * class and group, into training and validation ({@code valShare} of them). Every image is tested
     * in exactly one split, and no group is ever on two sides of one.
     *
     * <pre>{@code
     * List<Split> folds = Split.folds(dataset, 5, 0.15, 1);
     * List<Sample> test = folds.get(0).samples(dataset, Split.Part.TEST);
     * }</pre>
     *
     * @param k folds, at least 2
     * @param valShare the share of the non-test images that validates, in [0, 1)
     */
    public static List<Split> folds(Dataset ds, int k, double valShare, long seed) {
        if (k < 2) {
            throw new IllegalArgumentException("cross-validation needs at least 2 folds, got " + k);
        }
        if (!(valShare >= 0 && valShare < 1)) {
            throw new IllegalArgumentException("the validation share must be at least 0 and below 1, got " + valShare);
        }
        Groups g = Groups.of(ds);
        int groupId = 0;
        double[] equal = new double[k];
        java.util.Arrays.fill(equal, 1.0 / k);
        List<Map<String, Entry>> entries = new ArrayList<>();
        for (int f = 0; f < k; f++) {
            entries.add(new TreeMap<>());
        }
        for (Map.Entry<String, List<List<Integer>>> stratum : g.strata().entrySet()) {
            List<List<Integer>> gs = new ArrayList<>(stratum.getValue());
            Collections.shuffle(
                    gs, new Random(seed * 1_000_003L + stratum.getKey().hashCode()));
            int[] fold = assign(gs, equal);
            int[] ids = new int[gs.size()];
            for (int i = 0; i < gs.size(); i++) {
                ids[i] = groupId++;
            }
            for (int f = 0; f < k; f++) {
                // the groups outside fold f, in a per-fold order, split again into train and val
                List<Integer> rest = new ArrayList<>();
                for (int i = 0; i < gs.size(); i++) {
                    if (fold[i] == f) {
                        g.put(entries.get(f), gs.get(i), Part.TEST, ids[i]);
                    } else {
                        rest.add(i);
                    }
                }
                Collections.shuffle(
                        rest,
                        new Random(
                                (seed + f + 1) * 1_000_003L + stratum.getKey().hashCode()));
                List<List<Integer>> restGroups = rest.stream().map(gs::get).toList();
                int[] part = assign(restGroups, new double[] {1 - valShare, valShare});
                for (int i = 0; i < rest.size(); i++) {
                    g.put(entries.get(f), restGroups.get(i), part[i] == 0 ? Part.TRAIN : Part.VAL, ids[rest.get(i)]);
                }
            }
        }
        double test = 1.0 / k;
        SplitRatios ratios = new SplitRatios((1 - test) * (1 - valShare), (1 - test) * valShare, test);
        List<Split> out = new ArrayList<>();
        for (Map<String, Entry> e : entries) {
            out.add(new Split(new LinkedHashMap<>(e), seed, ratios, g.patients(), g.conflicts()));
        }
        return out;
    }

    /**
     * Deals shuffled groups into parts of the given shares: each group goes to the part furthest
     * below its target, relative to the target, so every part ends within one group of its share.
     */
    private static int[] assign(List<List<Integer>> groups, double[] shares) {
        int total = groups.stream().mapToInt(List::size).sum();
        double[] target = new double[shares.length];
        for (int p = 0; p < shares.length; p++) {
            target[p] = shares[p] * total;
        }
        int[] have = new int[shares.length];
        int[] out = new int[groups.size()];
        for (int i = 0; i < groups.size(); i++) {
            int best = 0;
            double bestGap = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < shares.length; p++) {
                if (target[p] <= 0) {
                    continue;
                }
                double gap = (target[p] - have[p]) / target[p];
                if (gap > bestGap) {
                    bestGap = gap;
                    best = p;
                }
            }
            have[best] += groups.get(i).size();
            out[i] = best;
        }
        return out;
    }

    /**
     * The labelled samples of a data set in groups that must not be separated (the same bytes, one
     * patient, one volume file), each group filed under its majority label (ties: the smallest name).
     */
    private record Groups(List<Sample> samples, Map<String, List<List<Integer>>> strata, int patients, int conflicts) {

        static Groups of(Dataset ds) {
            List<Sample> samples =
                    ds.samples().stream().filter(s -> s.label() != null).toList();
            int n = samples.size();
            // union-find over "same bytes", "same file" and "same patient"
            int[] parent = new int[n];
            for (int i = 0; i < n; i++) {
                parent[i] = i;
            }
            Map<String, Integer> byHash = new HashMap<>();
            Map<String, Integer> byPatient = new HashMap<>();
            Map<java.nio.file.Path, Integer> byFile = new HashMap<>();
            for (int i = 0; i < n; i++) {
                Sample s = samples.get(i);
                Integer j = byHash.putIfAbsent(s.contentHash(), i);
                if (j != null) {
                    union(parent, i, j);
                }
                // the slices of one volume are one scan: they stay together
                Integer f = byFile.putIfAbsent(s.path(), i);
                if (f != null) {
                    union(parent, i, f);
                }
                if (s.patientId() != null) {
                    Integer k = byPatient.putIfAbsent(s.patientId(), i);
                    if (k != null) {
                        union(parent, i, k);
                    }
                }
            }
            Map<Integer, List<Integer>> groups = new TreeMap<>();
            for (int i = 0; i < n; i++) {
                groups.computeIfAbsent(find(parent, i), r -> new ArrayList<>()).add(i);
            }
            Map<String, List<List<Integer>>> strata = new TreeMap<>();
            int conflicts = 0;
            for (List<Integer> g : groups.values()) {
                Map<String, Integer> votes = new TreeMap<>();
                for (int i : g) {
                    votes.merge(samples.get(i).label(), 1, Integer::sum);
                }
                if (votes.size() > 1) {
                    conflicts++;
                }
                String label = votes.entrySet().stream()
                        .max(Map.Entry.<String, Integer>comparingByValue()
                                .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder())))
                        .orElseThrow()
                        .getKey();
                strata.computeIfAbsent(label, l -> new ArrayList<>()).add(g);
            }
            return new Groups(samples, strata, byPatient.size(), conflicts);
        }

        /** Puts a group's samples into a part, under a group id. */
        void put(Map<String, Entry> entries, List<Integer> group, Part part, int id) {
            for (int i : group) {
                Sample s = samples.get(i);
                entries.put(s.relativePath(), new Entry(s.relativePath(), s.label(), part, id, s.contentHash()));
            }
        }
    }

    private static int find(int[] parent, int i) {
        while (parent[i] != i) {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }

    private static void union(int[] parent, int a, int b) {
        int ra = find(parent, a);
        int rb = find(parent, b);
        if (ra != rb) {
            // the lower index becomes the root, so groups are ordered by their first path
            parent[Math.max(ra, rb)] = Math.min(ra, rb);
        }
    }

    public long seed() {
        return seed;
    }

    public SplitRatios ratios() {
        return ratios;
    }

    /** Groups of byte-identical images (each counted once). */
    public int duplicateGroups() {
        return duplicateGroups;
    }

    /** Images that belong to a duplicate group. */
    public int duplicateImages() {
        return duplicateImages;
    }

    /** Distinct patients, where the data set names them. */
    public int patientGroups() {
        return patientGroups;
    }

    public int labelConflicts() {
        return labelConflicts;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    /** The part of a sample, or null if the split does not know it. */
    public Part partOf(String relativePath) {
        Entry e = entries.get(relativePath);
        return e == null ? null : e.part();
    }

    /** The samples of {@code ds} in {@code part}, in the data set's order. */
    public List<Sample> samples(Dataset ds, Part part) {
        return ds.samples().stream()
                .filter(s -> partOf(s.relativePath()) == part)
                .toList();
    }

    /** Images per part. */
    public Map<Part, Integer> counts() {
        Map<Part, Integer> m = new EnumMap<>(Part.class);
        for (Part p : Part.values()) {
            m.put(p, 0);
        }
        entries.values().forEach(e -> m.merge(e.part(), 1, Integer::sum));
        return m;
    }

    /** The CSV text: stable, so its hash identifies the split. */
    public String toCsv() {
        StringWriter w = new StringWriter();
        try (CSVPrinter p = new CSVPrinter(
                w, CSVFormat.DEFAULT.builder().setRecordSeparator('\n').get())) {
            p.printRecord("path", "label", "split", "group", "sha256");
            for (Entry e : entries.values()) {
                p.printRecord(e.relativePath(), e.label(), e.part().key(), e.group(), e.contentHash());
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return w.toString();
    }

    /** SHA-256 of {@link #toCsv()}. */
    public String hash() {
        return Hashing.sha256Hex(toCsv());
    }

    public void write(Path file) throws IOException {
        FileUtil.writeAtomically(file, toCsv().getBytes(StandardCharsets.UTF_8));
    }

    /** Reads a split written by {@link #write}; seed and ratios come from the caller's manifest. */
    public static Split read(Path file, long seed, SplitRatios ratios) throws IOException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                CSVParser parser = CSVFormat.DEFAULT
                        .builder()
                        .setHeader()
                        .setSkipHeaderRecord(true)
                        .get()
                        .parse(r)) {
            for (CSVRecord rec : parser) {
                Entry e = new Entry(
                        rec.get("path"),
                        rec.get("label"),
                        Part.parse(rec.get("split")),
                        Integer.parseInt(rec.get("group")),
                        rec.get("sha256"));
                entries.put(e.relativePath(), e);
            }
        } catch (IllegalArgumentException | IllegalStateException | java.io.UncheckedIOException e) {
            throw new DatasetException(file + " is not a medsearch split file (" + e.getMessage() + ")");
        }
        return new Split(entries, seed, ratios, 0, 0);
    }
}

package org.medsearch.dataset;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.medsearch.util.Hashing;

/**
 * A scanned, labelled collection of images: every usable sample sorted by relative path, the sorted
 * class list, and the scan report. Immutable; built by {@link DatasetScanner}.
 *
 * <p>Contract: the order of {@link #samples()} and {@link #classes()} depends only on the files'
 * relative paths and labels, never on the file system's listing order, so that seeded splits and
 * training runs are reproducible across machines.
 *
 * <pre>{@code
 * Dataset ds = new DatasetScanner(ImageReaders.standard()).scan(Path.of("data/mednist"));
 * Split split = Split.stratified(ds, SplitRatios.DEFAULT, 1);
 * }</pre>
 */
public final class Dataset {

    private final Path root;
    private final List<Sample> samples;
    private final List<String> classes;
    private final ScanReport report;

    public Dataset(Path root, List<Sample> samples, ScanReport report) {
        this.root = root;
        List<Sample> sorted = new ArrayList<>(samples);
        sorted.sort((a, b) -> a.relativePath().compareTo(b.relativePath()));
        this.samples = Collections.unmodifiableList(sorted);
        this.classes = sorted.stream()
                .map(Sample::label)
                .filter(l -> l != null)
                .distinct()
                .sorted()
                .toList();
        this.report = report;
    }

    public Path root() {
        return root;
    }

    public List<Sample> samples() {
        return samples;
    }

    /** The distinct labels, sorted: a label's index here is its class index in the model. */
    public List<String> classes() {
        return classes;
    }

    public ScanReport report() {
        return report;
    }

    public int size() {
        return samples.size();
    }

    /** Samples per class, sorted by class. */
    public Map<String, Integer> countsPerClass() {
        return countLabels(samples);
    }

    /** Labelled samples per class, sorted by class. */
    static Map<String, Integer> countLabels(List<Sample> samples) {
        Map<String, Integer> m = new TreeMap<>();
        for (Sample s : samples) {
            if (s.label() != null) {
                m.merge(s.label(), 1, Integer::sum);
            }
        }
        return m;
    }

    /**
     * A SHA-256 over every sample's relative path, label and content hash: two data sets with the
     * same hash hold the same labelled bytes. Recorded in model manifests.
     */
    public String contentHash() {
        StringBuilder sb = new StringBuilder();
        for (Sample s : samples) {
            sb.append(s.relativePath())
                    .append('\t')
                    .append(s.label())
                    .append('\t')
                    .append(s.contentHash())
                    .append('\n');
        }
        return Hashing.sha256Hex(sb.toString());
    }
}

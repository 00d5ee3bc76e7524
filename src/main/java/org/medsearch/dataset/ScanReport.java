package org.medsearch.dataset;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a scan found: usable images per class, every file it skipped with the reason, and every set
 * of byte-identical images that carry different labels (a data quirk: such an image cannot be
 * classified or retrieved "correctly", whatever the model does). Conflicting images stay usable;
 * the evaluation leaves them out of its queries.
 *
 * <pre>{@code
 * ScanReport r = new DatasetScanner(ImageReaders.standard()).scan(dir).report();
 * System.out.println(r.summary(10)); // "778 usable images in 3 classes; 1 image with conflicting labels: ..."
 * }</pre>
 *
 * @param usable images that decoded
 * @param perClass usable images per class, sorted by class name
 * @param skipped every skipped file, in path order
 * @param labelConflicts every set of identical images with more than one label, in path order
 */
public record ScanReport(
        int usable, Map<String, Integer> perClass, List<Skipped> skipped, List<LabelConflict> labelConflicts) {

    /** One file left out and why ("empty file", "corrupt or truncated JPEG (...)", ...). */
    public record Skipped(String relativePath, String reason) {}

    /**
     * Images with the same content (SHA-256 of their bytes) but different labels.
     *
     * @param contentHash their content hash
     * @param relativePaths every copy, sorted
     * @param labels their labels, sorted, at least two
     */
    public record LabelConflict(String contentHash, List<String> relativePaths, List<String> labels) {}

    /** A report without label conflicts. */
    public ScanReport(int usable, Map<String, Integer> perClass, List<Skipped> skipped) {
        this(usable, perClass, skipped, List.of());
    }

    /**
     * The conflicts among {@code samples}: labelled samples grouped by content hash, the groups with
     * more than one label.
     */
    public static List<LabelConflict> labelConflicts(List<Sample> samples) {
        Map<String, List<Sample>> byHash = new TreeMap<>();
        for (Sample s : samples) {
            if (s.label() != null && s.contentHash() != null) {
                byHash.computeIfAbsent(s.contentHash(), h -> new ArrayList<>()).add(s);
            }
        }
        List<LabelConflict> out = new ArrayList<>();
        for (Map.Entry<String, List<Sample>> e : byHash.entrySet()) {
            Set<String> labels = new TreeSet<>();
            e.getValue().forEach(s -> labels.add(s.label()));
            if (labels.size() > 1) {
                List<String> paths =
                        e.getValue().stream().map(Sample::relativePath).sorted().toList();
                out.add(new LabelConflict(e.getKey(), paths, List.copyOf(labels)));
            }
        }
        out.sort(Comparator.comparing(c -> c.relativePaths().get(0)));
        return List.copyOf(out);
    }

    /** The content hashes of {@link #labelConflicts()}. */
    public Set<String> conflictingHashes() {
        Set<String> h = new HashSet<>();
        labelConflicts.forEach(c -> h.add(c.contentHash()));
        return h;
    }

    /** A short multi-line summary naming the skipped files (at most {@code maxNamed} of them). */
    public String summary(int maxNamed) {
        StringBuilder sb = new StringBuilder();
        sb.append(usable).append(" usable images in ").append(perClass.size()).append(" classes");
        if (!skipped.isEmpty()) {
            sb.append(", ").append(skipped.size()).append(" files skipped:");
            int n = 0;
            for (Skipped s : skipped) {
                if (n++ == maxNamed) {
                    sb.append("\n  ... and ").append(skipped.size() - maxNamed).append(" more");
                    break;
                }
                sb.append("\n  ").append(s.relativePath()).append(": ").append(s.reason());
            }
        }
        String conflicts = conflictSummary(maxNamed);
        if (!conflicts.isEmpty()) {
            sb.append('\n').append(conflicts);
        }
        return sb.toString();
    }

    /**
     * The label conflicts, one line each with both (all) paths, at most {@code maxNamed} named; empty
     * when there are none.
     */
    public String conflictSummary(int maxNamed) {
        if (labelConflicts.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        int images =
                labelConflicts.stream().mapToInt(c -> c.relativePaths().size()).sum();
        sb.append(labelConflicts.size())
                .append(labelConflicts.size() == 1 ? " image" : " images")
                .append(" with identical bytes but conflicting labels (")
                .append(images)
                .append(" files; left out of evaluation queries):");
        int n = 0;
        for (LabelConflict c : labelConflicts) {
            if (n++ == maxNamed) {
                sb.append("\n  ... and ")
                        .append(labelConflicts.size() - maxNamed)
                        .append(" more");
                break;
            }
            sb.append("\n  ")
                    .append(String.join(" = ", c.relativePaths()))
                    .append(" (labels ")
                    .append(String.join(", ", c.labels()))
                    .append(')');
        }
        return sb.toString();
    }
}

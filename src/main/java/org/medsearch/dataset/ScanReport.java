package org.medsearch.dataset;

import java.util.List;
import java.util.Map;

/**
 * What a scan found: usable images per class and every file it skipped, with the reason.
 *
 * @param usable images that decoded
 * @param perClass usable images per class, sorted by class name
 * @param skipped every skipped file, in path order
 */
public record ScanReport(int usable, Map<String, Integer> perClass, List<Skipped> skipped) {

    /** One file left out and why ("empty file", "corrupt or truncated JPEG (...)", ...). */
    public record Skipped(String relativePath, String reason) {}

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
        return sb.toString();
    }
}

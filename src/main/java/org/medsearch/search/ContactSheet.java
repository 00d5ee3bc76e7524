package org.medsearch.search;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.medsearch.dataset.SampleLoader;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.Resampler;
import org.medsearch.index.Hit;
import org.medsearch.util.FileUtil;

/**
 * A PNG like the paper's Figures 4-7: one row per query, the query first (framed, with its predicted
 * class and probability), then the retrieved images, each labelled with its class and its distance
 * (mean squared error). Labels of results from another class than the query's prediction are drawn
 * in orange.
 *
 * <pre>{@code
 * ContactSheet.write(Path.of("sheet.png"), List.of(new ContactSheet.Row("query.png", queryImage, result)), readers);
 * }</pre>
 *
 * <p>With a map maker ({@code search --explain} with {@code --sheet}), each result tile shows the
 * result with its similarity map over it, and in its corner the query with the query's map for
 * that pair.
 */
public final class ContactSheet {
    private ContactSheet() {}

    private static final int TILE = 128;
    private static final int PAD = 8;
    private static final int LABEL = 34;

    /** One query and its results. */
    public record Row(String queryName, MedicalImage query, SearchResult result) {}

    public static void write(Path file, List<Row> rows, ImageReaders readers) throws IOException {
        write(file, rows, readers, null);
    }

    /** Makes the similarity maps of a query and a hit: {@code [queryHeat, hitHeat]} and the grid. */
    @FunctionalInterface
    public interface Maps {
        SimilarityMap of(MedicalImage query, MedicalImage hit);
    }

    /** As {@link #write(Path, List, ImageReaders)}, with each pair's similarity maps when {@code maps} is given. */
    public static void write(Path file, List<Row> rows, ImageReaders readers, Maps maps) throws IOException {
        int cols =
                1 + rows.stream().mapToInt(r -> r.result().hits().size()).max().orElse(0);
        int w = PAD + cols * (TILE + PAD);
        int h = PAD + rows.size() * (TILE + LABEL + PAD);
        BufferedImage sheet = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(new Color(24, 24, 28));
            g.fillRect(0, 0, w, h);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            int y = PAD;
            for (Row row : rows) {
                int x = PAD;
                SearchResult res = row.result();
                tile(g, row.query(), x, y);
                g.setColor(new Color(80, 160, 255));
                g.setStroke(new BasicStroke(3));
                g.drawRect(x - 2, y - 2, TILE + 3, TILE + 3);
                label(
                        g,
                        x,
                        y,
                        res.predictedClass() == null ? "query" : "query: " + res.predictedClass(),
                        res.predictedClass() == null ? "no classifier" : String.format("p = %.3f", res.confidence()),
                        Color.WHITE);
                x += TILE + PAD;
                for (Hit hit : res.hits()) {
                    MedicalImage img = null;
                    try {
                        img = SampleLoader.load(hit.image().path(), readers);
                    } catch (ImageFormatException e) {
                        // the indexed file moved or changed: keep the slot, say so
                    }
                    if (img != null && maps != null) {
                        SimilarityMap m = maps.of(row.query(), img);
                        g.drawImage(SimilarityMap.overlay(img, m.hitHeat(), m.grid(), TILE), x, y, null);
                        int inset = TILE / 3;
                        g.drawImage(
                                SimilarityMap.overlay(row.query(), m.queryHeat(), m.grid(), inset),
                                x + TILE - inset,
                                y + TILE - inset,
                                null);
                        g.setColor(new Color(80, 160, 255));
                        g.setStroke(new BasicStroke(1));
                        g.drawRect(x + TILE - inset, y + TILE - inset, inset - 1, inset - 1);
                    } else if (img != null) {
                        tile(g, img, x, y);
                    } else {
                        g.setColor(Color.DARK_GRAY);
                        g.fillRect(x, y, TILE, TILE);
                        g.setColor(Color.LIGHT_GRAY);
                        g.drawString("file unavailable", x + 14, y + TILE / 2);
                    }
                    String cls = hit.image().searchClass();
                    Color c = res.predictedClass() == null || cls.equals(res.predictedClass())
                            ? new Color(140, 220, 140)
                            : new Color(255, 170, 60);
                    label(g, x, y, cls, String.format("MSE %.4g", hit.meanSquaredError()), c);
                    x += TILE + PAD;
                }
                y += TILE + LABEL + PAD;
            }
        } finally {
            g.dispose();
        }
        FileUtil.writeAtomically(file, out -> ImageIO.write(sheet, "png", out));
    }

    private static void tile(Graphics2D g, MedicalImage img, int x, int y) {
        // fit the longer side to the tile (small images are enlarged too), keep the aspect ratio
        double s = (double) TILE / Math.max(img.width(), img.height());
        int tw = Math.max(1, (int) Math.round(img.width() * s));
        int th = Math.max(1, (int) Math.round(img.height() * s));
        MedicalImage t = new MedicalImage(tw, th, Resampler.resize(img.pixels(), img.width(), img.height(), tw, th));
        g.drawImage(t.toGray8(), x + (TILE - tw) / 2, y + (TILE - th) / 2, null);
    }

    private static void label(Graphics2D g, int x, int y, String line1, String line2, Color c) {
        g.setColor(c);
        g.drawString(clip(g, line1), x, y + TILE + 14);
        g.setColor(Color.LIGHT_GRAY);
        g.drawString(clip(g, line2), x, y + TILE + 28);
    }

    private static String clip(Graphics2D g, String s) {
        String t = s;
        while (t.length() > 3 && g.getFontMetrics().stringWidth(t) > TILE) {
            t = t.substring(0, t.length() - 2);
        }
        return t.equals(s) ? s : t + "…";
    }
}

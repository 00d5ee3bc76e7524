package org.medsearch.search;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.Resampler;
import org.medsearch.model.FeatureMaps;

/**
 * Where the distance between a query and a hit comes from, cell by cell of each image's feature
 * grid. A feature vector is the mean of its image's cell vectors ({@code f = (1/L) sum_l F_l}), so
 * for any one-to-one pairing {@code p} of query cells with hit cells the squared distance
 * decomposes exactly over the pairs:
 *
 * <pre>
 * |fq - fh|^2 = (1/L) sum_l (Fq_l - Fh_p(l)) . (fq - fh)
 * </pre>
 *
 * medsearch pairs the cells so that the paired cells are as alike in kind as possible (the
 * one-to-one assignment that maximises the sum of their cosines, by the Hungarian algorithm): each
 * query cell is matched with the part of the hit that looks most like it, overall. The cosines are
 * taken after subtracting a blank image's cells ({@code baseline}): the zero padding leaves the
 * same mark on every image's border cells, which would otherwise pair and look alike. What a pair
 * shares is its strength times its likeness: the inner product of the two cells as the network
 * made them (large where both hold much, small over flat background, whose activations are weak)
 * times that cosine. {@link #queryHeat()} and {@link #hitHeat()} scale it to [0, 1], 1 for the pair
 * that shares most, on each image's grid. No gradient and no classifier is involved: one forward
 * pass of each image gives the maps.
 *
 * <p>Why this product and not another: on MedNIST (RefineBenchmarkTest's deletion test), blanking
 * the query's top cells by this heat moves it farther from its hit than blanking random cells more
 * often than by the baseline-corrected inner product alone (whose "strength" counts black
 * background, far from the blank gray, as content), and as often as by the raw inner product
 * alone, which on an untrained network lets a cell next to a shared patch take the peak.
 *
 * <p>Contract: {@link #pairing()} is a permutation of the cells; {@link #shares()} sums to
 * {@link #distance()} (the index's mean squared error) up to float rounding; cells are row-major,
 * {@code grid x grid}.
 *
 * <pre>{@code
 * FeatureMaps m = explainer.featureMaps(batchOfTwo, 2);
 * SimilarityMap s = SimilarityMap.of(m, 0, 1);
 * byte[] png = SimilarityMap.overlayPng(queryImage, s.queryHeat(), s.grid(), 256);
 * }</pre>
 *
 * @param grid cells per side
 * @param pairing query cell l is paired with hit cell {@code pairing[l]}
 * @param pairShared what each pair shares, by query cell: the inner product of its two cells over
 *     the dimensions times their baseline-corrected cosine
 * @param shares each pair's share of the distance, by query cell
 * @param distance mean squared error between the two feature vectors
 */
public record SimilarityMap(int grid, int[] pairing, float[] pairShared, float[] shares, double distance) {

    /** The map of images {@code q} (the query) and {@code h} (the hit) of {@code maps}. */
    public static SimilarityMap of(FeatureMaps maps, int q, int h) {
        return of(maps, q, h, null, 0);
    }

    /**
     * As {@link #of(FeatureMaps, int, int)}, comparing cells' kinds (the cosines) after subtracting
     * image {@code b} of {@code baseline} (a blank image's maps): what the zero padding alone puts
     * into the border cells, alike in every image, then counts for no likeness. The decomposition
     * stays exact (the baseline cancels in the pooled difference).
     */
    public static SimilarityMap of(FeatureMaps maps, int q, int h, FeatureMaps baseline, int b) {
        float[] fq = maps.features(q);
        float[] fh = maps.features(h);
        int d = fq.length;
        int g = maps.grid();
        int cells = g * g;
        float[][] rq = cells(maps, q);
        float[][] rh = cells(maps, h);
        // a and bb: the cells less the baseline, for the cosines (rq and rh stay as made)
        float[][] a = baseline == null ? rq : cells(maps, q);
        float[][] bb = baseline == null ? rh : cells(maps, h);
        if (baseline != null) {
            float[][] z = cells(baseline, b);
            for (int l = 0; l < cells; l++) {
                for (int c = 0; c < d; c++) {
                    a[l][c] -= z[l][c];
                    bb[l][c] -= z[l][c];
                }
            }
        }
        double[] na = norms(a);
        double[] nb = norms(bb);
        double[][] cosine = new double[cells][cells];
        double[][] cost = new double[cells][cells];
        for (int l = 0; l < cells; l++) {
            for (int m = 0; m < cells; m++) {
                double s = 0;
                for (int c = 0; c < d; c++) {
                    s += a[l][c] * (double) bb[m][c];
                }
                // two parts alike in kind, whatever their strength; two empty cells are not alike
                double den = na[l] * nb[m];
                cosine[l][m] = den > 0 ? s / den : 0;
                cost[l][m] = 1 - cosine[l][m];
            }
        }
        int[] pairing = Assignment.minimum(cost);
        double sq = 0;
        for (int c = 0; c < d; c++) {
            double x = fq[c] - fh[c];
            sq += x * x;
        }
        float[] pairShared = new float[cells];
        float[] shares = new float[cells];
        for (int l = 0; l < cells; l++) {
            int m = pairing[l];
            // strength (the cells as the network made them) times likeness in kind
            double dot = 0;
            for (int c = 0; c < d; c++) {
                dot += rq[l][c] * (double) rh[m][c];
            }
            dot *= cosine[l][m];
            pairShared[l] = (float) (dot / d);
            double s = 0;
            for (int c = 0; c < d; c++) {
                s += (a[l][c] - bb[m][c]) * (double) (fq[c] - fh[c]);
            }
            shares[l] = (float) (s / cells / d);
        }
        return new SimilarityMap(g, pairing, pairShared, shares, sq / d);
    }

    private static double[] norms(float[][] v) {
        double[] n = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double s = 0;
            for (float x : v[i]) {
                s += x * (double) x;
            }
            n[i] = Math.sqrt(s);
        }
        return n;
    }

    /** Image {@code i}'s cell vectors, [cell][channel]. */
    private static float[][] cells(FeatureMaps maps, int i) {
        int g = maps.grid();
        int d = org.medsearch.model.ResNet18.FEATURE_DIM;
        float[][] out = new float[g * g][d];
        for (int c = 0; c < d; c++) {
            for (int l = 0; l < g * g; l++) {
                out[l][c] = maps.cell(i, c, l / g, l % g);
            }
        }
        return out;
    }

    /** The query's cells as similarity in [0, 1]: 1 where the query is most like its counterpart in the hit. */
    public float[] queryHeat() {
        return heat(pairShared);
    }

    /** The hit's cells as similarity in [0, 1]: each hit cell takes its query partner's value. */
    public float[] hitHeat() {
        float[] byHit = new float[pairShared.length];
        for (int l = 0; l < pairing.length; l++) {
            byHit[pairing[l]] = pairShared[l];
        }
        return heat(byHit);
    }

    /** The index of the most similar cell of {@code heat} (row-major). */
    public static int peak(float[] heat) {
        int best = 0;
        for (int i = 1; i < heat.length; i++) {
            if (heat[i] > heat[best]) {
                best = i;
            }
        }
        return best;
    }

    static float[] heat(float[] shares) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (float s : shares) {
            min = Math.min(min, s);
            max = Math.max(max, s);
        }
        float[] h = new float[shares.length];
        float range = max - min;
        for (int i = 0; i < h.length; i++) {
            h[i] = range > 0 ? (shares[i] - min) / range : 1f;
        }
        return h;
    }

    /**
     * The image, its longer side {@code side} pixels, in gray, with {@code heat} laid over it as a
     * colour wash (transparent blue at 0 through red at 1), cells smoothly interpolated. The image's
     * whole extent is the grid's, as pre-processing resizes it whole.
     */
    public static BufferedImage overlay(MedicalImage img, float[] heat, int grid, int side) {
        double s = (double) side / Math.max(img.width(), img.height());
        int w = Math.max(1, (int) Math.round(img.width() * s));
        int h = Math.max(1, (int) Math.round(img.height() * s));
        float[] gray = Resampler.resize(img.pixels(), img.width(), img.height(), w, h);
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float v = Math.max(0f, Math.min(1f, gray[y * w + x]));
                float t = bilinear(heat, grid, (x + 0.5) / w * grid - 0.5, (y + 0.5) / h * grid - 0.5);
                int[] c = colour(t);
                float a = 0.25f + 0.35f * t; // the similar parts stand out, the rest stays readable
                int r = Math.round((1 - a) * v * 255 + a * c[0]);
                int gg = Math.round((1 - a) * v * 255 + a * c[1]);
                int b = Math.round((1 - a) * v * 255 + a * c[2]);
                out.setRGB(x, y, (r << 16) | (gg << 8) | b);
            }
        }
        return out;
    }

    /** {@link #overlay} as PNG bytes. */
    public static byte[] overlayPng(MedicalImage img, float[] heat, int grid, int side) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(overlay(img, heat, grid, side), "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding into memory failed", e);
        }
        return bytes.toByteArray();
    }

    private static float bilinear(float[] v, int g, double gx, double gy) {
        double x = Math.max(0, Math.min(g - 1, gx));
        double y = Math.max(0, Math.min(g - 1, gy));
        int x0 = (int) Math.floor(x);
        int y0 = (int) Math.floor(y);
        int x1 = Math.min(g - 1, x0 + 1);
        int y1 = Math.min(g - 1, y0 + 1);
        double fx = x - x0;
        double fy = y - y0;
        double top = v[y0 * g + x0] * (1 - fx) + v[y0 * g + x1] * fx;
        double bottom = v[y1 * g + x0] * (1 - fx) + v[y1 * g + x1] * fx;
        return (float) (top * (1 - fy) + bottom * fy);
    }

    /** Blue (0) through cyan, yellow, to red (1). */
    private static int[] colour(float t) {
        float[][] stops = {{0, 40, 200}, {0, 200, 220}, {250, 220, 0}, {230, 20, 20}};
        float p = Math.max(0f, Math.min(1f, t)) * (stops.length - 1);
        int i = Math.min(stops.length - 2, (int) p);
        float f = p - i;
        return new int[] {
            Math.round(stops[i][0] + f * (stops[i + 1][0] - stops[i][0])),
            Math.round(stops[i][1] + f * (stops[i + 1][1] - stops[i][1])),
            Math.round(stops[i][2] + f * (stops[i + 1][2] - stops[i][2]))
        };
    }
}

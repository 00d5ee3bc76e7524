package org.medsearch.volume;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which way a volume's voxel axes point, and the permutation-and-flip that makes them point right,
 * anterior, superior. The algorithm is nibabel's ({@code io_orientation}, {@code aff2axcodes},
 * {@code as_closest_canonical}): normalise the affine's columns, take the closest rotation (polar
 * decomposition, which ignores shear), and give each voxel axis the world axis its column leans on
 * most, choosing axes greedily so two voxel axes never claim the same world axis. An oblique volume
 * gets the nearest canonical orientation; its voxels are never resampled.
 *
 * <pre>{@code
 * double[][] lps = {{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
 * Orientation.axisCodes(lps); // "LPS"
 * }</pre>
 */
public final class Orientation {
    private Orientation() {}

    private static final char[][] LABELS = {{'L', 'R'}, {'P', 'A'}, {'I', 'S'}};

    /** Below this, the column-normalised 3x3 counts as singular (axes nearly parallel). */
    private static final double MIN_DET = 1e-6;

    /**
     * The direction each voxel axis increases towards, e.g. {@code "RAS"} or {@code "LPS"}.
     *
     * @param affine a 4x4 voxel-to-world affine accepted by {@link #isUsable}
     * @throws IllegalArgumentException when it is not
     */
    public static String axisCodes(double[][] affine) {
        return codes(ioOrientation(affine));
    }

    private static String codes(int[][] o) {
        StringBuilder sb = new StringBuilder(3);
        for (int[] axis : o) {
            sb.append(LABELS[axis[0]][axis[1] > 0 ? 1 : 0]);
        }
        return sb.toString();
    }

    /**
     * Whether {@code affine} is a 4x4 matrix of finite values with last row (0, 0, 0, 1) whose 3x3
     * part has three clearly independent columns.
     */
    public static boolean isUsable(double[][] affine) {
        if (affine == null || affine.length != 4) {
            return false;
        }
        for (double[] row : affine) {
            if (row == null || row.length != 4) {
                return false;
            }
            for (double v : row) {
                if (!Double.isFinite(v)) {
                    return false;
                }
            }
        }
        if (affine[3][0] != 0 || affine[3][1] != 0 || affine[3][2] != 0 || affine[3][3] != 1) {
            return false;
        }
        double[][] n = normalisedColumns(affine);
        return n != null && Math.abs(det(n)) > MIN_DET;
    }

    /**
     * For each voxel axis, {world axis 0..2, +1 or -1}, as nibabel's {@code io_orientation}.
     */
    static int[][] ioOrientation(double[][] affine) {
        if (!isUsable(affine)) {
            throw new IllegalArgumentException("unusable affine");
        }
        double[][] r = closestRotation(normalisedColumns(affine));
        int[][] out = new int[3][2];
        for (int in = 0; in < 3; in++) {
            int best = 0;
            for (int w = 1; w < 3; w++) {
                // strict '>' keeps the first maximum on ties, as numpy's argmax
                if (Math.abs(r[w][in]) > Math.abs(r[best][in])) {
                    best = w;
                }
            }
            out[in][0] = best;
            out[in][1] = r[best][in] < 0 ? -1 : 1;
            r[best] = new double[3];
        }
        return out;
    }

    /** See {@link Volume#toCanonical()}. */
    static Volume toCanonical(Volume v) {
        double[][] a = v.affine();
        int[][] o = ioOrientation(a);
        if (o[0][0] == 0 && o[1][0] == 1 && o[2][0] == 2 && o[0][1] > 0 && o[1][1] > 0 && o[2][1] > 0) {
            return v;
        }
        int[] dim = v.dims();
        int[] stride = {1, dim[0], dim[0] * dim[1]};
        int[] newDim = new int[3];
        // for each new axis the source step per index; base is the source offset of new (0, 0, 0)
        long[] step = new long[3];
        long base = 0;
        double[][] m = new double[4][4];
        m[3][3] = 1;
        for (int in = 0; in < 3; in++) {
            int out = o[in][0];
            boolean flip = o[in][1] < 0;
            newDim[out] = dim[in];
            step[out] = flip ? -stride[in] : stride[in];
            base += flip ? (long) (dim[in] - 1) * stride[in] : 0;
            // new voxel index -> old voxel index, so that newAffine = affine * m
            m[in][out] = flip ? -1 : 1;
            m[in][3] = flip ? dim[in] - 1 : 0;
        }
        float[] src = v.raw();
        float[] dst = new float[src.length];
        int d = 0;
        for (int k = 0; k < newDim[2]; k++) {
            long pk = base + k * step[2];
            for (int j = 0; j < newDim[1]; j++) {
                long p = pk + j * step[1];
                for (int i = 0; i < newDim[0]; i++) {
                    dst[d++] = src[(int) p];
                    p += step[0];
                }
            }
        }
        Map<String, String> meta = new LinkedHashMap<>(v.metadata());
        meta.computeIfAbsent("fileAxisCodes", k -> codes(o)); // o already holds axisCodes(a)
        return new Volume(newDim[0], newDim[1], newDim[2], dst, multiply(a, m), meta);
    }

    /** The 3x3 part with unit columns, or null when a column is zero. */
    private static double[][] normalisedColumns(double[][] a) {
        double[][] n = new double[3][3];
        for (int c = 0; c < 3; c++) {
            double norm = Math.hypot(Math.hypot(a[0][c], a[1][c]), a[2][c]);
            if (!(norm > 0) || !Double.isFinite(norm)) {
                return null;
            }
            for (int r = 0; r < 3; r++) {
                n[r][c] = a[r][c] / norm;
            }
        }
        return n;
    }

    /**
     * The orthogonal factor of the polar decomposition (nibabel takes it from an SVD), by Newton's
     * iteration X = (X + X^-T) / 2, which converges quadratically for a non-singular matrix.
     */
    private static double[][] closestRotation(double[][] x) {
        for (int it = 0; it < 100; it++) {
            double[][] inv = inverse(x);
            double diff = 0;
            double[][] next = new double[3][3];
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 3; c++) {
                    next[r][c] = 0.5 * (x[r][c] + inv[c][r]);
                    diff = Math.max(diff, Math.abs(next[r][c] - x[r][c]));
                }
            }
            x = next;
            if (diff < 1e-15) {
                break;
            }
        }
        return x;
    }

    private static double det(double[][] m) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    }

    private static double[][] inverse(double[][] m) {
        double d = det(m);
        double[][] r = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                // adjugate: cofactor of (j, i)
                int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
                r[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / d;
            }
        }
        return r;
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        double[][] c = new double[4][4];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                double s = 0;
                for (int k = 0; k < 4; k++) {
                    s += a[i][k] * b[k][j];
                }
                c[i][j] = s;
            }
        }
        return c;
    }
}

package org.medsearch.volume;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.medsearch.image.MedicalImage;

/**
 * Cuts the slices around a finding out of a volume, as the paper's pipeline takes "the slice that
 * shows the finding and its neighbours (5 slices)".
 *
 * <p>Every method first makes the volume canonical ({@link Volume#toCanonical()}), so slice indices
 * count along the canonical axis of the {@link Plane} (axial: inferior to superior) and each slice
 * is laid out as {@link Plane} describes (axial: anterior at the top, patient's right on the left).
 * Intensities go through one {@link IntensityWindow#of(Volume) robust window} of the whole volume,
 * so they lie in [0, 1] and neighbouring slices stay comparable.
 *
 * <p>Which slices: {@code count} consecutive indices around the centre, {@code (count - 1) / 2}
 * before it and the rest after it (count 5 at centre 45: 43..47; count 4: 44..47), cut off at the
 * volume's first and last slice, so fewer come back near an edge. The centre is given, or the
 * middle slice ({@code n / 2}), or the slice of a mask with the most voxels {@code > 0} (the lowest
 * such index on a tie).
 *
 * <p>Metadata of each slice: {@code format} and {@code source} (file name) of the volume,
 * {@code plane}, {@code slice} (its index), {@code center}, {@code centerFrom}
 * ({@code "center"}, {@code "middle"} or {@code "mask"}), {@code requestedCount},
 * {@code count} (slices actually returned), {@code window} ({@code "low,high"}), {@code windowRule},
 * {@code display} (the layout) and {@code pixelSpacing} (mm, columns x rows).
 *
 * <p>Arguments out of range (count below 1, a centre outside the volume, an empty mask, a mask on
 * another grid) throw {@link IllegalArgumentException} with a message for the user.
 *
 * <pre>{@code
 * Volume v = NiftiReader.read(Path.of("case.nii.gz"));
 * List<MedicalImage> five = SliceSelector.selectMiddle(v, Plane.AXIAL, 5);
 * List<MedicalImage> atLesion = SliceSelector.selectByMask(v, NiftiReader.read(maskPath), Plane.AXIAL, 5);
 * List<MedicalImage> three = SliceSelector.select(v, Plane.CORONAL, 120, 3);
 * }</pre>
 */
public final class SliceSelector {
    private SliceSelector() {}

    public static final int DEFAULT_COUNT = 5;

    /** Maximum difference, in mm, between a mask's affine and its volume's that still means "same grid". */
    private static final double GRID_TOLERANCE = 1e-3;

    /** {@code count} slices around index {@code center} of the canonical volume. */
    public static List<MedicalImage> select(Volume volume, Plane plane, int center, int count) {
        return cut(volume.toCanonical(), plane, center, count, "center");
    }

    /** {@code count} slices around the middle slice, {@code n / 2} (the upper middle when n is even). */
    public static List<MedicalImage> selectMiddle(Volume volume, Plane plane, int count) {
        Volume c = volume.toCanonical();
        return cut(c, plane, c.dim(plane.axis()) / 2, count, "middle");
    }

    /** {@code count} slices around the mask's {@link #largestMaskSlice largest slice}. */
    public static List<MedicalImage> selectByMask(Volume volume, Volume mask, Plane plane, int count) {
        checkSameGrid(volume, mask);
        return cut(volume.toCanonical(), plane, largestMaskSlice(mask, plane), count, "mask");
    }

    /**
     * The canonical slice index along {@code plane} where the mask has the most voxels {@code > 0};
     * the lowest index on a tie.
     *
     * @throws IllegalArgumentException when no voxel is {@code > 0}
     */
    public static int largestMaskSlice(Volume mask, Plane plane) {
        Volume c = mask.toCanonical();
        int axis = plane.axis();
        long[] counts = new long[c.dim(axis)];
        float[] m = c.raw();
        int nx = c.nx();
        int nxy = nx * c.ny();
        for (int i = 0; i < m.length; i++) {
            if (m[i] > 0) {
                counts[axis == 0 ? i % nx : axis == 1 ? (i % nxy) / nx : i / nxy]++;
            }
        }
        int best = 0;
        for (int s = 1; s < counts.length; s++) {
            if (counts[s] > counts[best]) {
                best = s;
            }
        }
        if (counts[best] == 0) {
            throw new IllegalArgumentException("the mask has no voxel > 0");
        }
        return best;
    }

    /**
     * {first, last} slice index, inclusive, as described in the class comment: the same slices
     * wherever a volume is cut (the {@code slices} command, and volumes in a data set).
     */
    public static int[] range(int center, int count, int n) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1, got " + count);
        }
        if (center < 0 || center >= n) {
            throw new IllegalArgumentException("center " + center + " is outside the slices 0.." + (n - 1));
        }
        long first = (long) center - (count - 1) / 2;
        long last = first + count - 1;
        return new int[] {(int) Math.max(0, first), (int) Math.min(n - 1, last)};
    }

    /**
     * {@link #select} on a volume already in canonical orientation, with a window computed once by
     * the caller ({@link IntensityWindow#of}): for cutting many single slices of one volume without
     * sorting its voxels each time.
     */
    public static List<MedicalImage> selectCanonical(
            Volume canonical, IntensityWindow window, Plane plane, int center, int count) {
        return cut(canonical, plane, center, count, "center", window);
    }

    private static List<MedicalImage> cut(Volume c, Plane plane, int center, int count, String centerFrom) {
        return cut(c, plane, center, count, centerFrom, null);
    }

    private static List<MedicalImage> cut(
            Volume c, Plane plane, int center, int count, String centerFrom, IntensityWindow window) {
        int n = c.dim(plane.axis());
        int[] r;
        try {
            r = range(center, count, n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(plane.label() + ": " + e.getMessage(), e);
        }
        IntensityWindow w = window != null ? window : IntensityWindow.of(c);
        double[] sp = c.spacing();
        String spacing = switch (plane) {
            case AXIAL -> sp[0] + "x" + sp[1];
            case CORONAL -> sp[0] + "x" + sp[2];
            case SAGITTAL -> sp[1] + "x" + sp[2];
        };
        Map<String, String> meta = new LinkedHashMap<>();
        for (String k : new String[] {"format", "source"}) {
            String v = c.metadata().get(k);
            if (v != null) {
                meta.put(k, v);
            }
        }
        meta.put("plane", plane.label());
        meta.put("slice", ""); // set per slice below; put here to keep the key order
        meta.put("center", Integer.toString(center));
        meta.put("centerFrom", centerFrom);
        meta.put("requestedCount", Integer.toString(count));
        meta.put("count", Integer.toString(r[1] - r[0] + 1));
        meta.put("window", w.describe());
        meta.put("windowRule", w.rule());
        meta.put("display", plane.display());
        meta.put("pixelSpacing", spacing);
        List<MedicalImage> out = new ArrayList<>();
        for (int s = r[0]; s <= r[1]; s++) {
            meta.put("slice", Integer.toString(s));
            out.add(slice(c, plane, s, w, meta));
        }
        return out;
    }

    /** One slice of canonical {@code c}, laid out as {@link Plane} documents. */
    private static MedicalImage slice(Volume c, Plane plane, int s, IntensityWindow w, Map<String, String> meta) {
        int nx = c.nx(), ny = c.ny(), nz = c.nz();
        float[] v = c.raw();
        int width = plane == Plane.SAGITTAL ? ny : nx;
        int height = plane == Plane.AXIAL ? ny : nz;
        float[] px = new float[width * height];
        for (int row = 0; row < height; row++) {
            for (int col = 0; col < width; col++) {
                // columns run from high x (patient's right) or high y (anterior); rows from high y or z
                int x, y, z;
                switch (plane) {
                    case AXIAL -> {
                        x = nx - 1 - col;
                        y = ny - 1 - row;
                        z = s;
                    }
                    case CORONAL -> {
                        x = nx - 1 - col;
                        y = s;
                        z = nz - 1 - row;
                    }
                    default -> {
                        x = s;
                        y = ny - 1 - col;
                        z = nz - 1 - row;
                    }
                }
                px[row * width + col] = w.apply(v[x + nx * (y + ny * z)]);
            }
        }
        return new MedicalImage(width, height, px, meta);
    }

    private static void checkSameGrid(Volume volume, Volume mask) {
        double[][] a = volume.affine();
        double[][] b = mask.affine();
        double diff = 0;
        for (int r = 0; r < 3; r++) {
            for (int col = 0; col < 4; col++) {
                diff = Math.max(diff, Math.abs(a[r][col] - b[r][col]));
            }
        }
        if (volume.nx() != mask.nx() || volume.ny() != mask.ny() || volume.nz() != mask.nz() || diff > GRID_TOLERANCE) {
            throw new IllegalArgumentException(
                    "the mask is not on the volume's grid (" + mask.nx() + "x" + mask.ny() + "x"
                            + mask.nz() + " vs " + volume.nx() + "x" + volume.ny() + "x" + volume.nz()
                            + (diff > GRID_TOLERANCE ? ", affines differ by up to " + diff + " mm" : "") + ")");
        }
    }
}

package org.medsearch.volume;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One 3D scalar volume: {@code nx * ny * nz} float intensities stored with x fastest
 * ({@code index = x + nx * (y + ny * z)}), the 4x4 affine that maps voxel indices (i, j, k, 1) to
 * world millimetres in the NIfTI RAS+ convention (+x right, +y anterior, +z superior), and technical
 * metadata.
 *
 * <p>Intensities are the file's values after its scaling (NIfTI {@code scl_slope}, {@code scl_inter}),
 * not mapped to [0, 1]: {@link SliceSelector} windows them when it cuts 2D slices. Float data may
 * hold NaN or infinities as stored in the file.
 *
 * <p>Metadata holds only technical values (format, datatype, dims, orientation source, ...), never
 * the NIfTI {@code descrip}, {@code aux_file} or {@code intent_name} strings, which free-text writers
 * fill with names and dates.
 *
 * <p>Instances are immutable. The constructor takes ownership of the data array (no copy: volumes
 * run to hundreds of megabytes); {@link #data()} returns a copy.
 *
 * <pre>{@code
 * Volume v = NiftiReader.read(Path.of("ch2.nii.gz"));
 * Volume ras = v.toCanonical();          // axes now point R, A, S
 * float centre = ras.voxel(ras.nx() / 2, ras.ny() / 2, ras.nz() / 2);
 * String codes = v.axisCodes();          // e.g. "LPS" for a DICOM-derived file
 * }</pre>
 */
public final class Volume {

    private final int nx;
    private final int ny;
    private final int nz;
    private final float[] data;
    private final double[][] affine;
    private final Map<String, String> metadata;

    /**
     * @param nx voxels along the first (fastest) axis, at least 1
     * @param ny voxels along the second axis, at least 1
     * @param nz voxels along the third axis, at least 1
     * @param data {@code nx * ny * nz} intensities, x fastest; owned by the volume from now on
     * @param affine 4x4 voxel-to-world matrix, finite, last row (0, 0, 0, 1), with a non-singular
     *     3x3 part
     * @param metadata technical tags, copied
     * @throws IllegalArgumentException when the sizes disagree or the affine is unusable
     */
    public Volume(int nx, int ny, int nz, float[] data, double[][] affine, Map<String, String> metadata) {
        if (nx < 1 || ny < 1 || nz < 1 || (long) nx * ny * nz != data.length) {
            throw new IllegalArgumentException(nx + "x" + ny + "x" + nz + " volume with " + data.length + " voxels");
        }
        if (!Orientation.isUsable(affine)) {
            throw new IllegalArgumentException("affine must be finite, 4x4, non-singular, last row 0 0 0 1");
        }
        this.nx = nx;
        this.ny = ny;
        this.nz = nz;
        this.data = data;
        this.affine = copy(affine);
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    public int nx() {
        return nx;
    }

    public int ny() {
        return ny;
    }

    public int nz() {
        return nz;
    }

    /** {@code {nx, ny, nz}}. */
    public int[] dims() {
        return new int[] {nx, ny, nz};
    }

    /** Voxels along axis 0, 1 or 2. */
    public int dim(int axis) {
        return switch (axis) {
            case 0 -> nx;
            case 1 -> ny;
            case 2 -> nz;
            default -> throw new IllegalArgumentException("axis " + axis);
        };
    }

    public float voxel(int x, int y, int z) {
        if (x < 0 || x >= nx || y < 0 || y >= ny || z < 0 || z >= nz) {
            throw new IndexOutOfBoundsException(
                    "(" + x + ", " + y + ", " + z + ") outside " + nx + "x" + ny + "x" + nz);
        }
        return data[x + nx * (y + ny * z)];
    }

    /** A copy of all intensities, x fastest. */
    public float[] data() {
        return data.clone();
    }

    /** The backing array, for readers in this package that promise not to write to it. */
    float[] raw() {
        return data;
    }

    /** A copy of the 4x4 voxel-to-world (RAS+ millimetres) affine. */
    public double[][] affine() {
        return copy(affine);
    }

    /** Millimetres between neighbouring voxels along each axis: the norms of the affine's columns. */
    public double[] spacing() {
        double[] s = new double[3];
        for (int c = 0; c < 3; c++) {
            s[c] = Math.hypot(Math.hypot(affine[0][c], affine[1][c]), affine[2][c]);
        }
        return s;
    }

    /**
     * The direction each voxel axis increases towards, as three letters from {@code L/R}, {@code P/A},
     * {@code I/S} (nibabel's {@code aff2axcodes}); {@code "RAS"} for a canonical volume.
     */
    public String axisCodes() {
        return Orientation.axisCodes(affine);
    }

    /**
     * This volume with its axes permuted and flipped (never resampled) so that they point right,
     * anterior and superior, like nibabel's {@code as_closest_canonical}; {@code this} when already
     * so. The copy's metadata keeps the file's own codes under {@code "fileAxisCodes"}.
     *
     * @throws IllegalArgumentException when the reoriented affine overflows a double, which takes
     *     entries near 1e308; {@link NiftiReader} never produces such a volume
     */
    public Volume toCanonical() {
        return Orientation.toCanonical(this);
    }

    /** Technical tags, in insertion order; unmodifiable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** A copy sharing the voxels, with one more (or replaced) metadata entry. */
    public Volume with(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.put(key, value);
        return new Volume(nx, ny, nz, data, affine, m);
    }

    @Override
    public String toString() {
        return "Volume[" + nx + "x" + ny + "x" + nz + ", " + axisCodes() + ", " + metadata + "]";
    }

    private static double[][] copy(double[][] m) {
        double[][] c = new double[m.length][];
        for (int i = 0; i < m.length; i++) {
            c[i] = m[i].clone();
        }
        return c;
    }
}

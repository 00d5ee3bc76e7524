package org.medsearch.index;

/** Distance kernels of the exact scan. */
final class Distances {
    private Distances() {}

    /** Squared Euclidean distance between {@code q} and {@code data[offset .. offset+dim)}. */
    static float squaredL2(float[] q, float[] data, int offset, int dim) {
        // four independent accumulators let the JIT pipeline the loop; the summation order is fixed,
        // so a distance is the same on every call (ties are decided by id, never by rounding noise)
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < dim; i += 4) {
            float d0 = q[i] - data[offset + i];
            float d1 = q[i + 1] - data[offset + i + 1];
            float d2 = q[i + 2] - data[offset + i + 2];
            float d3 = q[i + 3] - data[offset + i + 3];
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        for (; i < dim; i++) {
            float d = q[i] - data[offset + i];
            s0 += d * d;
        }
        return (s0 + s1) + (s2 + s3);
    }
}

package org.medsearch.index;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The SIMD kernel; loaded by {@link Distances} only when the Vector API module is present. */
final class VectorKernel implements Distances.Kernel {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    @Override
    public float squaredL2(float[] q, float[] data, int offset, int dim) {
        int l = S.length();
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        int i = 0;
        for (; i + 2 * l <= dim; i += 2 * l) {
            FloatVector d0 = FloatVector.fromArray(S, q, i).sub(FloatVector.fromArray(S, data, offset + i));
            a0 = d0.fma(d0, a0);
            FloatVector d1 = FloatVector.fromArray(S, q, i + l).sub(FloatVector.fromArray(S, data, offset + i + l));
            a1 = d1.fma(d1, a1);
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < dim; i++) {
            float d = q[i] - data[offset + i];
            s += d * d;
        }
        return s;
    }

    @Override
    public String toString() {
        return "vector API (" + S.vectorBitSize() + "-bit, " + S.length() + " lanes)";
    }
}

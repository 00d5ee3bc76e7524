package org.medsearch.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named-less host tensor: a dtype, a shape and little-endian bytes. It is the exchange type of
 * the weight readers ({@link SafeTensors}, later {@code .pth}) and of {@link ResNet18#stateDict()}.
 *
 * <p>Only the two dtypes a torchvision state dict holds are supported: {@code F32} (weights,
 * running statistics) and {@code I64} ({@code num_batches_tracked}).
 *
 * <pre>{@code
 * Tensor t = Tensor.ofFloats(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
 * float[] back = t.toFloatArray();
 * }</pre>
 *
 * @param dtype {@code F32} or {@code I64}
 * @param shape the dimensions; an empty array is a scalar
 * @param data exactly {@code elementCount * bytesPerElement} bytes, little endian, position 0
 */
public record Tensor(String dtype, long[] shape, ByteBuffer data) {

    public static final String F32 = "F32";
    public static final String I64 = "I64";

    public Tensor {
        if (!F32.equals(dtype) && !I64.equals(dtype)) {
            throw new IllegalArgumentException("unsupported dtype " + dtype);
        }
        long n = elementCount(shape);
        if (n * bytesPer(dtype) != data.remaining()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n * bytesPer(dtype)
                    + " bytes, got " + data.remaining());
        }
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    public static Tensor ofFloats(long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new Tensor(F32, shape, b);
    }

    public static Tensor ofLong(long value) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, value);
        return new Tensor(I64, new long[0], b);
    }

    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public static int bytesPer(String dtype) {
        return F32.equals(dtype) ? 4 : 8;
    }

    public long elementCount() {
        return elementCount(shape);
    }

    public float[] toFloatArray() {
        if (!F32.equals(dtype)) {
            throw new IllegalStateException("tensor is " + dtype + ", not F32");
        }
        float[] out = new float[Math.toIntExact(elementCount())];
        data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    public long toLong() {
        if (!I64.equals(dtype) || elementCount() != 1) {
            throw new IllegalStateException("tensor is not an I64 scalar");
        }
        return data.getLong(0);
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}

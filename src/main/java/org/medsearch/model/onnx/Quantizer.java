package org.medsearch.model.onnx;

import java.util.List;
import org.medsearch.util.MedsearchException;

/**
 * TEMPORARY stub, so that the benchmark compiles before the real quantizer is merged: it returns the
 * fp32 graph unchanged. Drop this commit at merge.
 */
public final class Quantizer {
    private Quantizer() {}

    /** Static int8 QDQ graph from an fp32 ResNet18Onnx graph, calibrated on the given images. */
    public static OnnxModel quantize(OnnxModel fp32, List<float[]> calibrationBatches) throws MedsearchException {
        return fp32;
    }
}

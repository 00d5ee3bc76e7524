package org.medsearch.cli;

import org.medsearch.model.InferenceRuntime;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Option;

/** {@code --runtime}: the inference engine; index, search, evaluate, serve and demo share it. */
final class RuntimeOption {

    @Option(
            names = "--runtime",
            paramLabel = "R",
            description = "Inference engine: onnx (ONNX Runtime, fp32; the default), onnx-int8 (the int8 graph"
                    + " 'medsearch quantize' makes; fastest) or torch (PyTorch, as training runs it).")
    String runtime = InferenceRuntime.DEFAULT.label();

    /** The checked value; a user mistake is reported before anything is loaded. */
    InferenceRuntime value() throws MedsearchException {
        try {
            return InferenceRuntime.parse(runtime);
        } catch (IllegalArgumentException e) {
            throw new MedsearchException("--runtime: " + e.getMessage());
        }
    }
}

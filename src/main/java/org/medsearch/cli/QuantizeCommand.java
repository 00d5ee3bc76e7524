package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.medsearch.service.QuantizeJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code medsearch quantize}: the model's static int8 graph, for {@code --runtime onnx-int8}. */
@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        description = {
            "Make the model's int8 ONNX graph (static, QDQ), calibrated on images of its own training split,"
                    + " for --runtime onnx-int8.",
            "Compare it with fp32 by evaluating with --runtime onnx-int8: the report puts both side by side."
        })
final class QuantizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The trained model (a bundle).")
    Path model;

    @Option(
            names = "--calibration",
            paramLabel = "N",
            description = "Training images to calibrate on (default ${DEFAULT-VALUE}).")
    int calibration = QuantizeJob.DEFAULT_CALIBRATION;

    @Option(
            names = "--data",
            paramLabel = "DIR",
            description = "The training images' folder (default: where the model was trained from).")
    Path data;

    @Option(
            names = "--seed",
            defaultValue = "0",
            description = "Which training images are drawn (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--percentile",
            paramLabel = "P",
            description = "Each activation's range keeps this percentile of its calibration values; 100 keeps"
                    + " the smallest and largest (default ${DEFAULT-VALUE}).")
    double percentile = org.medsearch.model.onnx.Quantizer.PERCENTILE;

    @Option(
            names = {"-q", "--quiet"},
            description = "No progress bars.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        QuantizeJob.Report r = QuantizeJob.builder()
                .setModel(model)
                .optData(data)
                .optCalibration(calibration)
                .optSeed(seed)
                .optPercentile(percentile)
                .optProgress(Output.progress(quiet))
                .build()
                .run();
        out.printf(
                "Wrote %s (%.1f MB, SHA-256 %s...), calibrated on %d training images%s in %.1f s.%n",
                r.graph(),
                r.bytes() / 1e6,
                r.sha256().substring(0, 12),
                r.images(),
                r.unreadable() > 0 ? " (" + r.unreadable() + " unreadable ones skipped)" : "",
                r.seconds());
        out.println(
                "Use it with --runtime onnx-int8; 'medsearch evaluate --runtime onnx-int8' reports it beside fp32.");
        return 0;
    }
}

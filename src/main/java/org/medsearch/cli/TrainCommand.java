package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.Pretrained;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.service.TrainingJob;
import org.medsearch.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code medsearch train}: scan, split, fine-tune a ResNet-18, write a model bundle. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        defaultValueProvider = RecordDefaults.Train.class,
        description = {
            "Train a ResNet-18 classifier on a labelled data set and write a model bundle.",
            "DATA is a folder with one sub-folder per class, or a CSV manifest path,label[,patient_id,modality].",
            "Defaults follow the paper: 256x256, 25 epochs, SGD lr 0.001 decayed x0.1 every 3 epochs, batch 32."
        })
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR|CSV", description = "Labelled images.")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "MODEL", description = "Directory for the model bundle.")
    Path out;

    @Option(
            names = "--split",
            paramLabel = "T/V/T",
            converter = Converters.Ratios.class,
            description = "Train/validation/test percentages (default ${DEFAULT-VALUE}).")
    SplitRatios ratios;

    @picocli.CommandLine.Mixin
    TrainingOptions training;

    @Option(names = "--resume", description = "Continue an interrupted run in MODEL.")
    boolean resume;

    @Option(
            names = {"-q", "--quiet"},
            description = "No progress bars.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        // every option is checked before the scan, the weights and the model, which take minutes
        TrainingRecipe recipe = training.recipe();
        UnaryOperator<DatasetScanner> scanner = training.scanner();
        Progress progress = Output.progress(quiet);
        Pretrained.Init start = training.start(progress);
        ModelManifest m = TrainingJob.builder()
                .setData(data)
                .setOutput(this.out)
                .setRecipe(recipe)
                .optSplit(ratios)
                .optInit(start)
                .optWindow(training.window)
                .optScanner(scanner)
                .optWorkers(training.workers)
                .optResume(resume)
                .optProgress(progress)
                .optLog(line -> {
                    out.println(line);
                    out.flush();
                })
                .build()
                .run();
        ModelManifest.EpochMetrics best =
                m.provenance().epochs().get(m.provenance().bestEpoch() - 1);
        ModelManifest.RetrievalCalibration r = m.retrieval();
        out.printf(
                "Model written to %s (best epoch %d: val accuracy %.4f, val mAP@%d %.4f over all classes;"
                        + " auto scope threshold %s; fingerprint %s; %.0f s)%n",
                this.out,
                best.epoch(),
                best.valAccuracy(),
                r.k(),
                r.mapAll(),
                r.thresholdText(),
                m.fingerprint(),
                m.provenance().trainingSeconds());
        return 0;
    }
}

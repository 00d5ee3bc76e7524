package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.medsearch.eval.CrossValidationReport;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.service.CrossValidation;
import org.medsearch.service.TrainingJob;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code medsearch cv}: k-fold cross-validation of a training recipe on a labelled data set. */
@Command(
        name = "cv",
        mixinStandardHelpOptions = true,
        defaultValueProvider = RecordDefaults.Train.class,
        description = {
            "Cross-validate a training recipe: split DATA into k folds as train does (stratified; identical images,"
                    + " patients and volumes kept together), then per fold train on the others, index the training"
                    + " part and evaluate the fold. Writes cv.json and cv.html (every figure per fold and as mean"
                    + " +/- sd) and each fold's model, index and evaluation under OUT/fold-N. Started again with the"
                    + " same settings, it continues where it stopped.",
            "Takes every option of train."
        })
final class CvCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR|CSV", description = "Labelled images.")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the folds and the report.")
    Path out;

    @Option(names = "--folds", paramLabel = "K", description = "Folds (default ${DEFAULT-VALUE}).", defaultValue = "5")
    int folds;

    @Option(
            names = "--val-share",
            paramLabel = "F",
            description = "Share of each fold's training images that validates (default: 15% of all images).")
    Double valShare;

    @Mixin
    TrainingOptions training;

    @Option(
            names = {"-q", "--quiet"},
            description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = Output.out(spec);
        if (folds < 2 || folds > 100) {
            throw new MedsearchException("--folds must be between 2 and 100, got " + folds);
        }
        if (valShare != null && !(valShare > 0 && valShare < 1)) {
            throw new MedsearchException("--val-share must be above 0 and below 1, got " + valShare);
        }
        TrainingRecipe recipe = training.recipe();
        Progress progress = Output.progress(quiet);
        TrainingJob.Builder job = TrainingJob.builder()
                .setRecipe(recipe)
                .optInit(training.start(progress))
                .optWindow(training.window)
                .optScanner(training.scanner())
                .optWorkers(training.workers)
                .optLog(line -> {
                    w.println("  " + line);
                    w.flush();
                });
        CrossValidationReport r = CrossValidation.builder()
                .setData(data)
                .setOutput(out)
                .setTraining(job)
                .optFolds(folds)
                .optValShare(valShare)
                .optProgress(progress)
                .optLog(line -> {
                    w.println(line);
                    w.flush();
                })
                .build()
                .run();
        w.printf(
                "%d-fold cross-validation of the %s recipe, %.0f s (mean +/- sd over the folds):%n",
                r.folds(), recipe.name(), r.seconds());
        for (Map.Entry<String, CrossValidationReport.Stat> e : r.summary().entrySet()) {
            w.printf("  %-28s %s%n", e.getKey(), e.getValue().format());
        }
        w.println("Report: " + out.resolve("cv.html").toAbsolutePath());
        return 0;
    }
}

package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.dicom.WindowPreset;
import org.medsearch.model.FineTune;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.Pretrained;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.service.TrainingJob;
import org.medsearch.util.MedsearchException;
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

    @Option(names = "--image-size", description = "Input side in pixels (default ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--epochs", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--lr", description = "Initial learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--lr-step", description = "Epochs between decays (default ${DEFAULT-VALUE}).")
    int lrStep;

    @Option(names = "--lr-gamma", description = "Decay factor (default ${DEFAULT-VALUE}).")
    double lrGamma;

    @Option(names = "--batch", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--momentum", description = "SGD momentum (default ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", description = "L2 penalty (default ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--seed", description = "Seed of split, init and shuffling (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--split",
            paramLabel = "T/V/T",
            converter = Converters.Ratios.class,
            description = "Train/validation/test percentages (default ${DEFAULT-VALUE}).")
    SplitRatios ratios;

    @Option(
            names = "--init",
            paramLabel = "scratch|imagenet|FILE",
            converter = Converters.Init.class,
            description = {
                "Start from torchvision's random init (default), torchvision's ImageNet weights"
                        + " (IMAGENET1K_V1; cached, downloaded once), or a torchvision state dict (.pth or .safetensors)."
            })
    Pretrained.Choice init;

    @Option(
            names = "--finetune",
            paramLabel = "full|last-block|head",
            converter = Converters.Finetune.class,
            description =
                    "What trains: everything (default, the paper), layer4 + head, or only the head (a linear probe).")
    FineTune finetune;

    @Option(
            names = "--backbone-lr-factor",
            paramLabel = "F",
            description =
                    "The backbone's learning rate as a fraction of the head's (discriminative learning rates; default ${DEFAULT-VALUE}).")
    double backboneLrFactor;

    @Option(
            names = "--warmup-epochs",
            paramLabel = "E",
            description =
                    "Ramp the learning rate up linearly over the first E epochs (default ${DEFAULT-VALUE}: none).")
    double warmupEpochs;

    @Option(
            names = "--window",
            paramLabel = "PRESET",
            converter = Converters.Window.class,
            description = "Read DICOM images with this window: brain, lung, abdomen, bone, mediastinum"
                    + " (default: each file's own window, else a robust min/max). Recorded in the model.")
    WindowPreset window;

    @picocli.CommandLine.Mixin
    VolumeOptions volumes;

    @Option(names = "--resume", description = "Continue an interrupted run in MODEL.")
    boolean resume;

    @Option(names = "--workers", description = "Image decoding threads (default: one per core).")
    Integer workers;

    @Option(
            names = {"-q", "--quiet"},
            description = "No progress bars.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        // every option is checked before the scan, the weights and the model, which take minutes
        TrainingRecipe recipe = recipe();
        if (workers != null && workers < 1) {
            throw new MedsearchException("--workers must be at least 1, got " + workers);
        }
        UnaryOperator<DatasetScanner> scanner = volumes.scannerOptions(); // checks --slices and --plane now
        WindowPreset preset = window;
        Progress progress = Output.progress(quiet);
        Pretrained.Init start = Pretrained.resolve(init, Pretrained.cacheDir(), Pretrained.Source.imagenet(), progress);
        ModelManifest m = TrainingJob.builder()
                .setData(data)
                .setOutput(this.out)
                .setRecipe(recipe)
                .optSplit(ratios)
                .optInit(start)
                .optWindow(preset)
                .optScanner(scanner)
                .optWorkers(workers)
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
        out.printf(
                "Model written to %s (best epoch %d: val accuracy %.4f; fingerprint %s; %.0f s)%n",
                this.out,
                best.epoch(),
                best.valAccuracy(),
                m.fingerprint(),
                m.provenance().trainingSeconds());
        return 0;
    }

    /** The options as a recipe, each checked (a bad one is named by its flag). */
    TrainingRecipe recipe() throws MedsearchException {
        try {
            TrainingRecipe.validate(
                    imageSize,
                    epochs,
                    lr,
                    lrStep,
                    lrGamma,
                    batch,
                    momentum,
                    weightDecay,
                    backboneLrFactor,
                    warmupEpochs,
                    OPTION_NAMES::get);
        } catch (IllegalArgumentException e) { // its message names the option
            throw new MedsearchException(e.getMessage());
        }
        return new TrainingRecipe(
                imageSize,
                epochs,
                lr,
                lrStep,
                lrGamma,
                batch,
                momentum,
                weightDecay,
                seed,
                finetune,
                backboneLrFactor,
                warmupEpochs);
    }

    /** The recipe's component names as this command's options, for its messages. */
    static final Map<String, String> OPTION_NAMES = Map.of(
            "imageSize",
            "--image-size",
            "epochs",
            "--epochs",
            "learningRate",
            "--lr",
            "lrStep",
            "--lr-step",
            "lrGamma",
            "--lr-gamma",
            "batchSize",
            "--batch",
            "momentum",
            "--momentum",
            "weightDecay",
            "--weight-decay",
            "backboneLrFactor",
            "--backbone-lr-factor",
            "warmupEpochs",
            "--warmup-epochs");
}

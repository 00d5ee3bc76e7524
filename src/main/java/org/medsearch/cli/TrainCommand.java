package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.service.TrainingJob;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.dicom.WindowPreset;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.FineTune;
import org.medsearch.model.Pretrained;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code medsearch train}: scan, split, fine-tune a ResNet-18, write a model bundle. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a ResNet-18 classifier on a labelled data set and write a model bundle.",
            "DATA is a folder with one sub-folder per class, or a CSV manifest path,label[,patient_id,modality].",
            "Defaults follow the paper: 256x256, 25 epochs, SGD lr 0.001 decayed x0.1 every 3 epochs, batch 32."})
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR|CSV", description = "Labelled images.")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "MODEL", description = "Directory for the model bundle.")
    Path out;

    @Option(names = "--image-size", defaultValue = "256", description = "Input side in pixels (default ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--epochs", defaultValue = "25", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--lr", defaultValue = "0.001", description = "Initial learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--lr-step", defaultValue = "3", description = "Epochs between decays (default ${DEFAULT-VALUE}).")
    int lrStep;

    @Option(names = "--lr-gamma", defaultValue = "0.1", description = "Decay factor (default ${DEFAULT-VALUE}).")
    double lrGamma;

    @Option(names = "--batch", defaultValue = "32", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", defaultValue = "0", description = "L2 penalty (default ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of split, init and shuffling (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--split", defaultValue = "70/15/15", paramLabel = "T/V/T",
            description = "Train/validation/test percentages (default ${DEFAULT-VALUE}).")
    String splitRatios;

    @Option(names = "--init", defaultValue = "scratch", paramLabel = "scratch|imagenet|FILE",
            description = {"Start from torchvision's random init (default), torchvision's ImageNet weights"
                    + " (IMAGENET1K_V1; cached, downloaded once), or a torchvision state dict (.pth or .safetensors)."})
    String init;

    @Option(names = "--finetune", defaultValue = "full", paramLabel = "full|last-block|head",
            description = "What trains: everything (default, the paper), layer4 + head, or only the head (a linear probe).")
    String finetune;

    @Option(names = "--backbone-lr-factor", defaultValue = "1", paramLabel = "F",
            description = "The backbone's learning rate as a fraction of the head's (discriminative learning rates; default ${DEFAULT-VALUE}).")
    double backboneLrFactor;

    @Option(names = "--warmup-epochs", defaultValue = "0", paramLabel = "E",
            description = "Ramp the learning rate up linearly over the first E epochs (default ${DEFAULT-VALUE}: none).")
    double warmupEpochs;

    @Option(names = "--window", paramLabel = "PRESET",
            description = "Read DICOM images with this window: brain, lung, abdomen, bone, mediastinum"
                    + " (default: each file's own window, else a robust min/max). Recorded in the model.")
    String window;

    @picocli.CommandLine.Mixin
    VolumeOptions volumes;

    @Option(names = "--resume", description = "Continue an interrupted run in MODEL.")
    boolean resume;

    @Option(names = "--workers", description = "Image decoding threads (default: one per core).")
    Integer workers;

    @Option(names = {"-q", "--quiet"}, description = "No progress bars.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        // every option is checked before the scan, the weights and the model, which take minutes
        TrainingRecipe.validate(imageSize, epochs, lr, lrStep, lrGamma, batch, momentum, weightDecay,
                backboneLrFactor, warmupEpochs, OPTION_NAMES::get);
        TrainingRecipe recipe = new TrainingRecipe(imageSize, epochs, lr, lrStep, lrGamma, batch, momentum,
                weightDecay, seed, FineTune.parse(finetune), backboneLrFactor, warmupEpochs);
        SplitRatios ratios = parseSplit(splitRatios);
        if (workers != null && workers < 1) {
            throw new MedsearchException("--workers must be at least 1, got " + workers);
        }
        UnaryOperator<DatasetScanner> scanner = volumes.scannerOptions(); // checks --slices and --plane now
        WindowPreset preset;
        try {
            preset = window == null ? null : WindowPreset.parse(window);
        } catch (IllegalArgumentException e) {
            throw new MedsearchException("--window: " + e.getMessage());
        }
        Progress progress = Output.progress(quiet);
        Pretrained.Init start = Pretrained.resolve(init, Pretrained.cacheDir(), progress);
        ModelManifest m = TrainingJob.builder().setData(data).setOutput(this.out).setRecipe(recipe).optSplit(ratios)
                .optInit(start).optWindow(preset).optScanner(scanner).optWorkers(workers).optResume(resume)
                .optProgress(progress).optLog(line -> {
                    out.println(line);
                    out.flush();
                }).build().run();
        ModelManifest.EpochMetrics best = m.provenance().epochs().get(m.provenance().bestEpoch() - 1);
        out.printf("Model written to %s (best epoch %d: val accuracy %.4f; fingerprint %s; %.0f s)%n", this.out,
                best.epoch(), best.valAccuracy(), m.fingerprint(), m.provenance().trainingSeconds());
        return 0;
    }

    /** The recipe's component names as this command's options, for its messages. */
    static final Map<String, String> OPTION_NAMES = Map.of("imageSize", "--image-size", "epochs", "--epochs",
            "learningRate", "--lr", "lrStep", "--lr-step", "lrGamma", "--lr-gamma", "batchSize", "--batch",
            "momentum", "--momentum", "weightDecay", "--weight-decay", "backboneLrFactor", "--backbone-lr-factor",
            "warmupEpochs", "--warmup-epochs");

    /** {@code --split}, with the option's name in any complaint. */
    static SplitRatios parseSplit(String s) throws MedsearchException {
        try {
            return SplitRatios.parse(s);
        } catch (IllegalArgumentException e) { // NumberFormatException included
            throw new MedsearchException("--split must be three non-negative numbers like 70/15/15 (train > 0), got '"
                    + s + "'");
        }
    }
}

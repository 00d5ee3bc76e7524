package org.medsearch.cli;

import java.io.IOException;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dicom.WindowPreset;
import org.medsearch.model.FineTune;
import org.medsearch.model.Pretrained;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The options of a training run, shared by {@code train} and {@code cv}: the recipe ({@code paper} or
 * {@code strong}) and every knob of it, the start, the DICOM window, volume slices and workers.
 * Each knob given on the command line overrides the chosen recipe's value; the others keep it (the
 * help shows the paper's values, and {@code --recipe}'s help the strong one's).
 */
final class TrainingOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(
            names = "--recipe",
            paramLabel = "paper|strong",
            converter = Converters.Recipes.class,
            description = {
                "paper (default): the paper's SGD schedule, the best validation-accuracy epoch kept.",
                "strong: lr 0.01, 1 warm-up epoch then cosine, weight decay 0.0005, label smoothing 0.1, class-balanced"
                        + " loss, augmentation (scale, shift, rotation, brightness, contrast; no flip), at most 20"
                        + " epochs with early stopping after 8 without a better validation mAP@10."
                        + " Any option below overrides the recipe's value."
            })
    String recipe;

    @Option(names = "--image-size", description = "Input side in pixels (default ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--epochs", description = "Epochs, the most with early stopping (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--lr", description = "Initial learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(
            names = "--schedule",
            paramLabel = "step|cosine",
            converter = Converters.Schedules.class,
            description =
                    "Learning-rate schedule: step (decay every --lr-step epochs) or cosine (default ${DEFAULT-VALUE}).")
    TrainingRecipe.Schedule schedule;

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

    @Option(
            names = "--seed",
            description = "Seed of split, init, shuffling and augmentation (default ${DEFAULT-VALUE}).")
    long seed;

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
            names = "--label-smoothing",
            paramLabel = "E",
            description = "Share of the target spread over all classes (default ${DEFAULT-VALUE}).")
    double labelSmoothing;

    @Option(
            names = "--balance",
            negatable = true,
            description = "Weigh the loss so that every class counts alike on imbalanced data (default: off).")
    boolean balance;

    @Option(
            names = "--augment",
            negatable = true,
            description = "Random scale, shift, rotation, brightness and contrast on training images (default: off).")
    boolean augment;

    @Option(
            names = "--flip",
            negatable = true,
            description = "Also mirror half of the training images (implies --augment; off by default, as"
                    + " laterality matters in some data sets).")
    boolean flip;

    @Option(
            names = "--early-stop",
            paramLabel = "N",
            description = "Stop after N epochs without a better validation mAP@10 and keep the best epoch"
                    + " (default ${DEFAULT-VALUE}: off, the best validation accuracy is kept).")
    int earlyStop;

    @Option(
            names = "--metric-loss",
            paramLabel = "W",
            description = "Add a supervised contrastive loss on the 512-d features with weight W, for retrieval"
                    + " across classes (default ${DEFAULT-VALUE}: off).")
    double metricLoss;

    @Option(
            names = "--metric-temperature",
            paramLabel = "T",
            description = "That loss's temperature (default ${DEFAULT-VALUE}).")
    double metricTemperature;

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
            names = "--window",
            paramLabel = "PRESET",
            converter = Converters.Window.class,
            description = "Read DICOM images with this window: brain, lung, abdomen, bone, mediastinum"
                    + " (default: each file's own window, else a robust min/max). Recorded in the model.")
    WindowPreset window;

    @Mixin
    VolumeOptions volumes;

    @Option(names = "--workers", description = "Image decoding threads (default: one per core).")
    Integer workers;

    /** The recipe: {@code --recipe}'s values, overridden by each knob given. Each is checked, named by its flag. */
    TrainingRecipe recipe() throws MedsearchException {
        try {
            TrainingRecipe base = TrainingRecipe.named(recipe == null ? TrainingRecipe.PAPER : recipe);
            ParseResult given = spec.commandLine().getParseResult();
            TrainingRecipe.Builder b = base.toBuilder();
            if (given.hasMatchedOption("--image-size")) {
                b.optImageSize(imageSize);
            }
            if (given.hasMatchedOption("--epochs")) {
                b.optEpochs(epochs);
            }
            if (given.hasMatchedOption("--lr")) {
                b.optLearningRate(lr);
            }
            if (given.hasMatchedOption("--schedule")) {
                b.optSchedule(schedule);
            }
            if (given.hasMatchedOption("--lr-step")) {
                b.optLrStep(lrStep);
            }
            if (given.hasMatchedOption("--lr-gamma")) {
                b.optLrGamma(lrGamma);
            }
            if (given.hasMatchedOption("--batch")) {
                b.optBatchSize(batch);
            }
            if (given.hasMatchedOption("--momentum")) {
                b.optMomentum(momentum);
            }
            if (given.hasMatchedOption("--weight-decay")) {
                b.optWeightDecay(weightDecay);
            }
            if (given.hasMatchedOption("--seed")) {
                b.optSeed(seed);
            }
            if (given.hasMatchedOption("--finetune")) {
                b.optFineTune(finetune);
            }
            if (given.hasMatchedOption("--backbone-lr-factor")) {
                b.optBackboneLrFactor(backboneLrFactor);
            }
            if (given.hasMatchedOption("--warmup-epochs")) {
                b.optWarmupEpochs(warmupEpochs);
            }
            if (given.hasMatchedOption("--label-smoothing")) {
                b.optLabelSmoothing(labelSmoothing);
            }
            if (given.hasMatchedOption("--balance")) {
                b.optClassBalanced(balance);
            }
            if (given.hasMatchedOption("--augment")) {
                b.optAugment(augment);
            }
            if (given.hasMatchedOption("--flip")) {
                b.optFlip(flip);
            }
            if (given.hasMatchedOption("--early-stop")) {
                b.optEarlyStopPatience(earlyStop);
            }
            if (given.hasMatchedOption("--metric-loss")) {
                b.optMetricLossWeight(metricLoss);
            }
            if (given.hasMatchedOption("--metric-temperature")) {
                b.optMetricTemperature(metricTemperature);
            }
            return b.build();
        } catch (IllegalArgumentException e) { // its message names the component; say the flag instead
            String msg = e.getMessage();
            for (Map.Entry<String, String> n : OPTION_NAMES.entrySet()) {
                if (msg.startsWith(n.getKey() + " ")) {
                    msg = n.getValue() + msg.substring(n.getKey().length());
                    break;
                }
            }
            throw new MedsearchException(msg);
        }
    }

    /** The initial weights, resolved (the ImageNet ones may be downloaded). */
    Pretrained.Init start(Progress progress) throws IOException {
        return Pretrained.resolve(init, Pretrained.cacheDir(), Pretrained.Source.imagenet(), progress);
    }

    /** The scanner's volume options, checked now. */
    UnaryOperator<DatasetScanner> scanner() throws MedsearchException {
        if (workers != null && workers < 1) {
            throw new MedsearchException("--workers must be at least 1, got " + workers);
        }
        return volumes.scannerOptions();
    }

    /** The recipe's component names as these options, for messages. */
    static final Map<String, String> OPTION_NAMES = Map.ofEntries(
            Map.entry("imageSize", "--image-size"),
            Map.entry("epochs", "--epochs"),
            Map.entry("learningRate", "--lr"),
            Map.entry("lrStep", "--lr-step"),
            Map.entry("lrGamma", "--lr-gamma"),
            Map.entry("batchSize", "--batch"),
            Map.entry("momentum", "--momentum"),
            Map.entry("weightDecay", "--weight-decay"),
            Map.entry("backboneLrFactor", "--backbone-lr-factor"),
            Map.entry("warmupEpochs", "--warmup-epochs"),
            Map.entry("labelSmoothing", "--label-smoothing"),
            Map.entry("earlyStopPatience", "--early-stop"),
            Map.entry("metricLossWeight", "--metric-loss"),
            Map.entry("metricTemperature", "--metric-temperature"));
}

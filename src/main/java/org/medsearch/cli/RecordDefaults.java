package org.medsearch.cli;

import java.util.Map;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.server.ServerConfig;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Option defaults read from the records that own them, so that each default is stated once: the
 * paper's recipe ({@link TrainingRecipe#paper()}) for {@code train}, {@link ServerConfig#defaults()}
 * for {@code serve}. The help's {@code ${DEFAULT-VALUE}} shows them; {@code RecordDefaultsTest}
 * checks that a command given no option builds exactly the record's defaults.
 */
final class RecordDefaults {
    private RecordDefaults() {}

    private static String of(Map<String, String> values, ArgSpec arg) {
        return arg instanceof OptionSpec o ? values.get(o.longestName()) : null;
    }

    /** {@code train}'s defaults: the paper's recipe, the 70/15/15 split, a scratch start. */
    static final class Train implements IDefaultValueProvider {
        static Map<String, String> values() {
            TrainingRecipe p = TrainingRecipe.paper();
            return Map.ofEntries(
                    Map.entry("--image-size", String.valueOf(p.imageSize())),
                    Map.entry("--epochs", String.valueOf(p.epochs())),
                    Map.entry("--lr", String.valueOf(p.learningRate())),
                    Map.entry("--lr-step", String.valueOf(p.lrStep())),
                    Map.entry("--lr-gamma", String.valueOf(p.lrGamma())),
                    Map.entry("--batch", String.valueOf(p.batchSize())),
                    Map.entry("--momentum", String.valueOf(p.momentum())),
                    Map.entry("--weight-decay", String.valueOf(p.weightDecay())),
                    Map.entry("--seed", String.valueOf(p.seed())),
                    Map.entry("--finetune", p.fineTune().key()),
                    Map.entry("--backbone-lr-factor", String.valueOf(p.backboneLrFactor())),
                    Map.entry("--warmup-epochs", String.valueOf(p.warmupEpochs())),
                    Map.entry("--recipe", p.name()),
                    Map.entry("--schedule", p.schedule().key()),
                    Map.entry("--label-smoothing", String.valueOf(p.labelSmoothing())),
                    Map.entry("--early-stop", String.valueOf(p.earlyStopPatience())),
                    Map.entry("--metric-loss", String.valueOf(p.metricLossWeight())),
                    Map.entry("--metric-temperature", String.valueOf(p.metricTemperature())),
                    Map.entry("--split", SplitRatios.DEFAULT.toString()),
                    Map.entry("--init", "scratch"));
        }

        @Override
        public String defaultValue(ArgSpec arg) {
            return of(values(), arg);
        }
    }

    /** {@code serve}'s defaults: {@link ServerConfig#defaults()}, in the units of the flags. */
    static final class Serve implements IDefaultValueProvider {
        static Map<String, String> values() {
            ServerConfig d = ServerConfig.defaults();
            return Map.ofEntries(
                    Map.entry("--host", d.host()),
                    Map.entry("--port", String.valueOf(d.port())),
                    Map.entry("--queue", String.valueOf(d.queueSlots())),
                    Map.entry("--batch", String.valueOf(d.maxBatch())),
                    Map.entry("--workers", String.valueOf(d.workers())),
                    Map.entry("--max-upload", String.valueOf(d.maxUploadBytes() >> 20)),
                    Map.entry("--max-pixels", String.valueOf(d.maxPixels() >> 20)),
                    Map.entry("--max-decoded", String.valueOf(d.maxDecodedBytes() >> 20)),
                    Map.entry("--decode-memory", String.valueOf(d.decodeMemoryBytes() >> 20)),
                    Map.entry("--min-upload-rate", String.valueOf(d.minUploadBytesPerSecond() >> 10)),
                    Map.entry(
                            "--upload-deadline",
                            String.valueOf(d.uploadDeadline().toSeconds())),
                    Map.entry("--grace", String.valueOf(d.grace().toSeconds())),
                    Map.entry("--plain-http", ServerConfig.PlainHttp.REDIRECT.key()),
                    // the command keeps a trail unless told 'off'; the library's default has none
                    Map.entry("--audit", "~/.medsearch/audit.jsonl"),
                    Map.entry("--audit-max-size", String.valueOf(ServerConfig.Audit.OFF.maxBytes() >> 20)),
                    Map.entry("--audit-keep", String.valueOf(ServerConfig.Audit.OFF.keep())),
                    Map.entry("--stats-access", "open"));
        }

        @Override
        public String defaultValue(ArgSpec arg) {
            return of(values(), arg);
        }
    }
}

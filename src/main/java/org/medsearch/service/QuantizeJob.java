package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.medsearch.dataset.SampleLoader;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.image.BatchLoader;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.Preprocessing;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.onnx.OnnxBackend;
import org.medsearch.model.onnx.OnnxCodec;
import org.medsearch.model.onnx.OnnxGraphs;
import org.medsearch.model.onnx.Quantizer;
import org.medsearch.util.Hashing;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * {@code medsearch quantize}: the bundle's int8 graph, calibrated on images of its own training
 * split. The images are a seeded sample of the split's {@code train} part (never validation or test
 * images), read with the model's readers and pre-processing; the result is written into the bundle
 * beside the fp32 graph ({@link OnnxGraphs}) with how it was calibrated.
 *
 * <pre>{@code
 * QuantizeJob.Report r = QuantizeJob.builder().setModel(Path.of("model")).optCalibration(500).build().run();
 * }</pre>
 */
public final class QuantizeJob {

    /** Calibration images when the user gives no number. */
    public static final int DEFAULT_CALIBRATION = 500;

    /** What a run did. */
    public record Report(int images, int unreadable, Path graph, long bytes, String sha256, double seconds) {}

    private final Path model;
    private final Path data;
    private final int calibration;
    private final long seed;
    private final double percentile;
    private final Progress progress;

    private QuantizeJob(Builder b) {
        this.model = b.model;
        this.data = b.data;
        this.calibration = b.calibration;
        this.seed = b.seed;
        this.percentile = b.percentile;
        this.progress = b.progress;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Report run() throws IOException {
        long t0 = System.nanoTime();
        ModelManifest m = ModelBundle.readManifest(model);
        Path root = data != null
                ? data
                : m.provenance() == null ? null : Path.of(m.provenance().data().source());
        if (root == null || !Files.isDirectory(root)) {
            throw new MedsearchException("the training images are not at " + root
                    + ": give their folder with --data (calibration reads images of the model's training split)");
        }
        Path splitFile = model.resolve(ModelBundle.SPLIT);
        if (!Files.isRegularFile(splitFile)) {
            throw new MedsearchException(
                    model + " has no " + ModelBundle.SPLIT + ": calibration needs its training split");
        }
        Split split = Split.read(splitFile, seed, SplitRatios.DEFAULT);
        List<String> train = new ArrayList<>();
        split.entries().values().stream()
                .filter(e -> e.part() == Split.Part.TRAIN)
                .forEach(e -> train.add(e.relativePath()));
        Collections.sort(train);
        Collections.shuffle(train, new Random(seed));

        OnnxGraphs.Loaded fp32 = OnnxGraphs.load(model, OnnxBackend.FP32);
        Preprocessing prep = fp32.manifest().preprocessing().toPreprocessing();
        ImageReaders readers = ModelBundle.readers(fp32.manifest());
        int batchSize = prep.imageSize() >= 160 ? 8 : 32; // every intermediate tensor is an output while calibrating
        List<BatchLoader.Source> sources = train.stream()
                .<BatchLoader.Source>map(
                        rel -> r -> SampleLoader.load(root.resolve(rel).toString(), r))
                .toList();
        Calibration c = calibration(readers, prep, sources, calibration, batchSize, progress);
        int used = c.images();
        int unreadable = c.unreadable();
        List<float[]> batches = c.batches();
        if (used == 0) {
            throw new MedsearchException("none of the model's training images could be read from " + root
                    + (unreadable > 0 ? " (" + unreadable + " unreadable)" : "") + ": give their folder with --data");
        }
        byte[] int8;
        try (Progress.Task task = progress.start("Calibrating and quantizing", 1, "graph")) {
            int8 = OnnxCodec.write(Quantizer.quantize(OnnxCodec.read(fp32.bytes()), batches, percentile));
            task.step(1);
        }
        Map<String, Object> cal = new LinkedHashMap<>();
        cal.put("images", used);
        cal.put("part", "train");
        cal.put("split", ModelBundle.SPLIT);
        cal.put("splitSha256", Hashing.sha256Hex(splitFile));
        cal.put("seed", seed);
        cal.put("method", percentile < 100 ? "percentile " + percentile : "minmax");
        cal.put("activations", "uint8, per tensor, asymmetric");
        cal.put("weights", "int8, per output channel, symmetric");
        OnnxGraphs.saveInt8(model, int8, cal);
        return new Report(
                used,
                unreadable,
                model.resolve(OnnxGraphs.INT8_FILE),
                int8.length,
                Hashing.sha256Hex(int8),
                (System.nanoTime() - t0) / 1e9);
    }

    /** Calibration images, pre-processed, in batches; and how many of those tried could not be read. */
    record Calibration(List<float[]> batches, int images, int unreadable) {}

    /**
     * The first {@code max} of {@code sources} that decode, pre-processed (decoded on worker threads,
     * in order), in batches of {@code batchSize}; quantizing a bundle and benchmarking int8 both
     * calibrate through here.
     */
    static Calibration calibration(
            ImageReaders readers,
            Preprocessing prep,
            List<BatchLoader.Source> sources,
            int max,
            int batchSize,
            Progress progress) {
        List<float[]> batches = new ArrayList<>();
        int images = 0;
        int unreadable = 0;
        try (BatchLoader loader = new BatchLoader(
                        readers, prep, sources, batchSize, Runtime.getRuntime().availableProcessors());
                Progress.Task task =
                        progress.start("Reading calibration images", Math.min(max, sources.size()), "img")) {
            for (BatchLoader.Batch b : loader) {
                unreadable += b.failures().size();
                int take = Math.min(b.size(), max - images);
                if (take > 0) {
                    batches.add(
                            take == b.size() ? b.data() : java.util.Arrays.copyOf(b.data(), take * prep.inputLength()));
                    images += take;
                    task.step(take);
                }
                if (images >= max) {
                    break;
                }
            }
        }
        return new Calibration(batches, images, unreadable);
    }

    /** Settings: {@code set} ones are required, {@code opt} ones have defaults. */
    public static final class Builder {
        private Path model;
        private Path data;
        private int calibration = DEFAULT_CALIBRATION;
        private long seed;
        private double percentile = Quantizer.PERCENTILE;
        private Progress progress = Progress.NONE;

        public Builder setModel(Path model) {
            this.model = model;
            return this;
        }

        /** The training images' folder (default: where the manifest says training read them). */
        public Builder optData(Path data) {
            this.data = data;
            return this;
        }

        /** How many training images to calibrate on (default {@value #DEFAULT_CALIBRATION}). */
        public Builder optCalibration(int images) {
            this.calibration = images;
            return this;
        }

        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Each activation's range keeps this percentile of its calibration values (100: min and max). */
        public Builder optPercentile(double percentile) {
            this.percentile = percentile;
            return this;
        }

        public Builder optProgress(Progress progress) {
            this.progress = progress;
            return this;
        }

        public QuantizeJob build() throws MedsearchException {
            if (model == null) {
                throw new IllegalStateException("setModel is required");
            }
            if (calibration < 1 || calibration > 100_000) {
                throw new MedsearchException("--calibration must be between 1 and 100000 images, not " + calibration);
            }
            if (!(percentile > 99 && percentile <= 100)) {
                throw new MedsearchException("--percentile must be above 99 and at most 100, not " + percentile);
            }
            return new QuantizeJob(this);
        }
    }
}

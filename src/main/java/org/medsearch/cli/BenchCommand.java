package org.medsearch.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Sample;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbedBenchmark;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.Engines;
import org.medsearch.model.Trainer;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.service.Models;
import org.medsearch.service.SearchService;
import org.medsearch.service.Stores;
import org.medsearch.util.Figures;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code medsearch bench}: throughput of training and embedding, from image files on disk (decoding
 * included), beside the PyTorch reference ({@code pytorch_cbir.py bench}, model cost alone on
 * synthetic input) run in the same session, and search latency against an index.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Benchmark training and embedding throughput against the PyTorch reference, and search latency.",
            "Figures are printed, not asserted: compare the ratios, which hold on a noisy machine where times do not."
        })
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Labelled images to read (MedNIST).")
    Path data;

    @Option(
            names = "--sizes",
            defaultValue = "64,224",
            split = ",",
            description = "Image sizes (default ${DEFAULT-VALUE}).")
    List<Integer> sizes;

    @Option(
            names = "--seconds",
            defaultValue = "20",
            description = "Measuring time per figure (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(
            names = "--batch",
            defaultValue = "32",
            description = "Training batch, both sides (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(
            names = "--embed-batch",
            defaultValue = "64",
            description = "medsearch's embedding batch, as 'index' uses it (default ${DEFAULT-VALUE}).")
    int embedBatch;

    @Option(
            names = "--reference",
            paramLabel = "PY",
            description = "pytorch_cbir.py (default: ../shared/reference/pytorch_cbir.py if present).")
    Path reference;

    @Option(
            names = "--python",
            defaultValue = "/usr/bin/python3",
            description = "Python with torch (default ${DEFAULT-VALUE}).")
    String python;

    @Option(names = "--model", paramLabel = "MODEL", description = "With --index: also measure search latency.")
    Path model;

    @Option(names = "--index", paramLabel = "INDEX", description = "An index built with --model.")
    Path index;

    @Option(names = "--queries", defaultValue = "200", description = "Latency samples (default ${DEFAULT-VALUE}).")
    int queries;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        Path ref = reference != null ? reference : Path.of("../shared/reference/pytorch_cbir.py");
        boolean haveRef = Files.isRegularFile(ref);
        if (reference != null && !haveRef) {
            throw new MedsearchException("--reference: no such file " + reference);
        }
        Dataset ds = new DatasetScanner(ImageReaders.standard())
                .optDecode(false)
                .optLimitPerClass(2000, 1)
                .scan(data);
        List<Sample> samples = new ArrayList<>(ds.samples());
        java.util.Collections.shuffle(samples, new java.util.Random(1));
        out.printf(
                "medsearch bench: %d images from %s; %s; %d threads; %.0f s per figure%n",
                samples.size(), data, Engines.versions(), Engines.threads(), seconds);
        out.printf("medsearch reads files from disk (decode + resize included); the reference runs the model alone on"
                + " synthetic tensors.%n");
        out.printf("%-5s %-10s %12s %12s %7s%n", "size", "figure", "medsearch", "reference", "ratio");
        out.flush();
        Trainer trainer = new Trainer(ImageReaders.standard(), Progress.NONE, line -> {});
        for (int size : sizes) {
            TrainingRecipe p = TrainingRecipe.paper();
            TrainingRecipe recipe = new TrainingRecipe(
                    size, 1, p.learningRate(), p.lrStep(), p.lrGamma(), batch, p.momentum(), p.weightDecay(), 1);
            double[] refFig = haveRef ? reference(ref, size) : null;
            double train = trainer.benchmark(samples, ds.classes(), recipe, seconds);
            double embed = EmbedBenchmark.run(
                    samples.stream().map(Sample::path).toList(), ds.classes().size(), size, embedBatch, seconds);
            row(out, size, "train img/s", train, refFig == null ? Double.NaN : refFig[1]);
            row(out, size, "embed img/s", embed, refFig == null ? Double.NaN : refFig[0]);
        }
        if (!haveRef) {
            out.println("(reference not found: pass --reference PATH/pytorch_cbir.py for the ratios)");
        }
        if (model != null && index != null) {
            latency(out, samples);
        }
        out.flush();
        return 0;
    }

    private static void row(PrintWriter out, int size, String what, double ours, double ref) {
        out.printf(
                "%-5d %-12s %10.1f %12s %7s%n",
                size,
                what,
                ours,
                Double.isNaN(ref) ? "-" : String.format("%.1f", ref),
                Double.isNaN(ref) ? "-" : String.format("%.2fx", ours / ref));
        out.flush();
    }

    private static final Pattern FIG = Pattern.compile("infer_img_s=([0-9.]+) train_img_s=([0-9.]+)");

    /** {infer, train} images/s from the reference, run in a child process. */
    private double[] reference(Path script, int size) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(
                python,
                script.toString(),
                "bench",
                "--size",
                Integer.toString(size),
                "--batch",
                Integer.toString(batch),
                "--seconds",
                Double.toString(seconds));
        pb.redirectErrorStream(true);
        pb.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
        Process p;
        try {
            p = pb.start();
        } catch (java.io.IOException e) {
            throw new MedsearchException("cannot run the reference with " + python + " (" + e.getMessage()
                    + "); install python3-torchvision or pass --python");
        }
        StringBuilder text = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                text.append(line).append('\n');
            }
        }
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new MedsearchException("the reference failed: " + Main.oneLine(text.toString()));
        }
        Matcher m = FIG.matcher(text);
        if (!m.find()) {
            throw new MedsearchException("unexpected reference output: " + Main.oneLine(text.toString()));
        }
        return new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))};
    }

    private void latency(PrintWriter out, List<Sample> samples) throws Exception {
        try (EmbeddingBackend backend =
                        Models.open(model, 0, org.medsearch.model.InferenceRuntime.DEFAULT, Progress.NONE);
                VectorStore idx = Stores.open(index, false)) {
            SearchService r = new SearchService(backend, idx);
            ImageReaders readers = r.readers(); // the model's DICOM window, as search applies it
            int n = Math.max(10, queries);
            long[] total = new long[n];
            long[] search = new long[n];
            for (int i = -5; i < n; i++) {
                Path q = samples.get(Math.floorMod(i, samples.size())).path();
                long t0 = System.nanoTime();
                MedicalImage img = readers.read(q);
                SearchResult res = r.search(img, SearchRequest.of(10, Scope.PREDICTED));
                long t1 = System.nanoTime();
                if (i >= 0) {
                    total[i] = t1 - t0;
                    search[i] = res.searchNanos();
                }
            }
            Arrays.sort(total);
            Arrays.sort(search);
            out.printf(
                    "search latency, one query at a time, k=10, predicted-class scope, %d images in the index:%n",
                    idx.size());
            out.printf(
                    "  end to end (read + decode + model + search): p50 %.2f ms, p99 %.2f ms%n",
                    total[Figures.nearestRank(n, 50)] / 1e6, total[Figures.nearestRank(n, 99)] / 1e6);
            out.printf(
                    "  index search alone: p50 %.3f ms, p99 %.3f ms%n",
                    search[Figures.nearestRank(n, 50)] / 1e6, search[Figures.nearestRank(n, 99)] / 1e6);
        }
    }
}

package org.medsearch.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
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
import org.medsearch.model.InferenceRuntime;
import org.medsearch.model.Trainer;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.service.IndexLocation;
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
 * {@code medsearch bench}: throughput of training (PyTorch) and of embedding on each inference
 * runtime, from image files on disk (decoding included), beside the PyTorch reference
 * ({@code pytorch_cbir.py bench}, model cost alone on synthetic input) run in the same session, and
 * end-to-end search latency on each runtime against an index. The machine (CPU, its int8
 * instructions, the load) and the engines' versions and threads are printed with the figures.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Benchmark training and embedding throughput against the PyTorch reference, and search latency.",
            "Figures are printed, not asserted. Compare the ratios, measured on a quiet machine: the 'others' column"
                    + " gives the share of the CPUs other processes took during each figure and the reference's."
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

    @Option(
            names = "--runtimes",
            defaultValue = "torch,onnx,onnx-int8",
            split = ",",
            paramLabel = "R",
            description = "Inference runtimes to measure embedding and latency on (default ${DEFAULT-VALUE}).")
    List<String> runtimes;

    @Option(names = "--model", paramLabel = "MODEL", description = "With --index: also measure search latency.")
    Path model;

    @Option(
            converter = Converters.Index.class,
            names = "--index",
            paramLabel = "INDEX",
            description = "An index built with --model.")
    IndexLocation index;

    @Option(names = "--queries", defaultValue = "200", description = "Latency samples (default ${DEFAULT-VALUE}).")
    int queries;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        List<InferenceRuntime> rts = runtimes();
        if (seconds <= 0 || batch < 1 || embedBatch < 1) {
            throw new MedsearchException("--seconds, --batch and --embed-batch must be positive");
        }
        Path ref = reference != null ? reference : Path.of("../shared/reference/pytorch_cbir.py");
        boolean haveRef = Files.isRegularFile(ref);
        if (reference != null && !haveRef) {
            throw new MedsearchException("--reference: no such file " + reference);
        }
        Dataset ds = new DatasetScanner(ImageReaders.standard())
                .optDecode(false)
                .optLimitPerClass(6000, 1) // enough files for 20 s of the fastest runtime at 64 (each is read once)
                .scan(data);
        List<Sample> samples = new ArrayList<>(ds.samples());
        java.util.Collections.shuffle(samples, new java.util.Random(1));
        List<Path> files = samples.stream().map(Sample::path).toList();
        // int8 calibration images: real ones, from the end of the shuffled list (the benchmark starts at the front)
        List<Path> calibration = files.subList(Math.max(0, files.size() - Models.CALIBRATION_IMAGES), files.size());
        out.printf(
                "medsearch bench: %d images from %s; %.0f s per figure; runtimes %s%n",
                samples.size(),
                data,
                seconds,
                String.join(", ", rts.stream().map(InferenceRuntime::label).toList()));
        out.printf("machine: %s; %d processors; load average %s at start%n", cpu(), procs(), loadAverage());
        out.printf(
                "engines: %s, %d threads; %s, %d intra-op threads, 1 inter-op; %d decode threads; embedding batch %d,"
                        + " training batch %d (the reference: batch %d for both)%n",
                Engines.versions(),
                Engines.threads(),
                Models.onnxRuntimeVersion(),
                Models.onnxThreads(),
                procs(),
                embedBatch,
                batch,
                batch);
        out.printf("medsearch reads files from disk (decode + resize included); the reference runs the model alone on"
                + " synthetic tensors.%n");
        out.printf("others: the share of the CPUs other processes used while the figure was measured, medsearch's/the"
                + " reference's; a figure measured beside more than a few percent is disturbed.%n");
        out.printf(
                "%-5s %-12s %-10s %10s %10s %7s  %s%n",
                "size", "figure", "runtime", "medsearch", "reference", "ratio", "others");
        out.flush();
        Trainer trainer = new Trainer(ImageReaders.standard(), Progress.NONE, line -> {});
        for (int size : sizes) {
            TrainingRecipe p = TrainingRecipe.paper();
            TrainingRecipe recipe = new TrainingRecipe(
                    size, 1, p.learningRate(), p.lrStep(), p.lrGamma(), batch, p.momentum(), p.weightDecay(), 1);
            OtherLoad r0 = OtherLoad.now();
            double[] refFig = haveRef ? reference(ref, size) : null;
            double refOthers = OtherLoad.now().since(r0);
            OtherLoad t0 = OtherLoad.now();
            double train = trainer.benchmark(samples, ds.classes(), recipe, seconds);
            String trainOthers = others(OtherLoad.now().since(t0), haveRef ? refOthers : Double.NaN);
            row(out, size, "train img/s", "torch", train, refFig == null ? Double.NaN : refFig[1], trainOthers);
            double onnx = Double.NaN;
            double int8 = Double.NaN;
            for (InferenceRuntime rt : rts) {
                EmbedBenchmark.Result r;
                double embedOthers;
                try (EmbeddingBackend backend = Models.untrained(rt, ds.classes(), size, calibration)) {
                    OtherLoad e0 = OtherLoad.now();
                    r = EmbedBenchmark.run(backend, files, embedBatch, seconds);
                    embedOthers = OtherLoad.now().since(e0);
                }
                String note = others(embedOthers, haveRef ? refOthers : Double.NaN)
                        + (r.seconds() < 0.9 * seconds
                                ? String.format(
                                        Locale.ROOT,
                                        "  (the files ran out: %d images in %.1f s)",
                                        r.images(),
                                        r.seconds())
                                : "");
                double rate = r.imagesPerSecond();
                row(out, size, "embed img/s", rt.label(), rate, refFig == null ? Double.NaN : refFig[0], note);
                if (rt == InferenceRuntime.ONNX) {
                    onnx = rate;
                } else if (rt == InferenceRuntime.ONNX_INT8) {
                    int8 = rate;
                }
            }
            if (!Double.isNaN(onnx) && !Double.isNaN(int8)) {
                out.printf(
                        Locale.ROOT,
                        "%-5d onnx-int8 embeds %.2fx as fast as onnx (%+.0f%%)%n",
                        size,
                        int8 / onnx,
                        (int8 / onnx - 1) * 100);
                out.flush();
            }
        }
        if (!haveRef) {
            out.println("(reference not found: pass --reference PATH/pytorch_cbir.py for the ratios)");
        }
        if (model != null && index != null) {
            latency(out, samples, rts);
        }
        out.printf("load average %s at the end (this run's own threads included)%n", loadAverage());
        out.flush();
        return 0;
    }

    /** The distinct runtimes of {@code --runtimes}, in the order given. */
    private List<InferenceRuntime> runtimes() throws MedsearchException {
        Set<InferenceRuntime> out = new LinkedHashSet<>();
        for (String r : runtimes) {
            try {
                out.add(InferenceRuntime.parse(r));
            } catch (IllegalArgumentException e) {
                throw new MedsearchException("--runtimes: " + e.getMessage());
            }
        }
        if (out.isEmpty()) {
            throw new MedsearchException("--runtimes: name at least one of onnx, onnx-int8, torch");
        }
        return List.copyOf(out);
    }

    /** "3%/48%": other processes' share of the CPUs during our figure and the reference's. */
    private static String others(double ours, double ref) {
        return percent(ours) + "/" + percent(ref);
    }

    private static String percent(double share) {
        return Double.isNaN(share) ? "-" : String.format(Locale.ROOT, "%.0f%%", share * 100);
    }

    private static int procs() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * The CPU's model name and whether it has the int8 dot-product instructions ONNX Runtime's int8
     * kernels use (AVX512-VNNI, AMX-INT8), from /proc/cpuinfo.
     */
    static String cpu() {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8);
        } catch (java.io.IOException | RuntimeException e) {
            return "CPU unknown (no /proc/cpuinfo)";
        }
        String name = "CPU unknown";
        Set<String> flags = Set.of();
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            if (key.equals("model name") && name.equals("CPU unknown")) {
                name = value;
            } else if (key.equals("flags") && flags.isEmpty()) {
                flags = new java.util.HashSet<>(Arrays.asList(value.split("\\s+")));
            }
        }
        return String.format(
                "%s, avx512_vnni %s, amx_int8 %s",
                name, flags.contains("avx512_vnni") ? "yes" : "no", flags.contains("amx_int8") ? "yes" : "no");
    }

    /** The one-minute load average, or "?" where /proc/loadavg cannot be read. */
    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg"), StandardCharsets.UTF_8)
                    .trim()
                    .split("\\s+")[0];
        } catch (java.io.IOException | RuntimeException e) {
            return "?";
        }
    }

    private static void row(
            PrintWriter out, int size, String what, String runtime, double ours, double ref, String note) {
        out.printf(
                Locale.ROOT,
                "%-5d %-12s %-10s %10.1f %10s %7s  %s%n",
                size,
                what,
                runtime,
                ours,
                Double.isNaN(ref) ? "-" : String.format(Locale.ROOT, "%.1f", ref),
                Double.isNaN(ref) ? "-" : String.format(Locale.ROOT, "%.2fx", ours / ref),
                note);
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

    private void latency(PrintWriter out, List<Sample> samples, List<InferenceRuntime> rts) throws Exception {
        try (VectorStore idx = Stores.open(index, false)) {
            out.printf(
                    "search latency, one query at a time, k=10, predicted-class scope, %d images in the index:%n",
                    idx.size());
            out.flush();
            for (InferenceRuntime rt : rts) {
                EmbeddingBackend backend;
                try {
                    backend = Models.openFor(model, idx, rt, Progress.NONE);
                } catch (MedsearchException e) {
                    if (rt != InferenceRuntime.ONNX_INT8) {
                        throw e;
                    }
                    out.printf("  %-10s skipped: %s%n", rt.label(), e.getMessage());
                    out.flush();
                    continue;
                }
                try (backend) {
                    latency(out, rt, new SearchService(backend, idx), samples);
                }
            }
        }
    }

    private void latency(PrintWriter out, InferenceRuntime rt, SearchService r, List<Sample> samples) throws Exception {
        ImageReaders readers = r.readers(); // the model's DICOM window, as search applies it
        int n = Math.max(10, queries);
        long[] total = new long[n];
        long[] search = new long[n];
        OtherLoad l0 = OtherLoad.now();
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
        double others = OtherLoad.now().since(l0);
        Arrays.sort(total);
        Arrays.sort(search);
        out.printf(
                Locale.ROOT,
                "  %-10s end to end (read + decode + model + search): p50 %.2f ms, p99 %.2f ms;"
                        + " index search alone: p50 %.3f ms, p99 %.3f ms; others %s%n",
                rt.label(),
                total[Figures.nearestRank(n, 50)] / 1e6,
                total[Figures.nearestRank(n, 99)] / 1e6,
                search[Figures.nearestRank(n, 50)] / 1e6,
                search[Figures.nearestRank(n, 99)] / 1e6,
                percent(others));
        out.flush();
    }
}

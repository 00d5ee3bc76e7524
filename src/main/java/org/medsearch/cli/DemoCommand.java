package org.medsearch.cli;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.Callable;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.MedNist;
import org.medsearch.dataset.Sample;
import org.medsearch.dataset.SampleLoader;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.eval.EvaluationReport;
import org.medsearch.eval.ReportWriter;
import org.medsearch.image.MedicalImage;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.VectorFormat;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.search.ContactSheet;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.server.ServerConfig;
import org.medsearch.service.EvaluationJob;
import org.medsearch.service.IndexLocation;
import org.medsearch.service.IndexingJob;
import org.medsearch.service.Models;
import org.medsearch.service.SearchService;
import org.medsearch.service.Stores;
import org.medsearch.service.TrainingJob;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code medsearch demo}: the whole pipeline in one go, sized to finish in minutes on a laptop CPU:
 * train (64x64, 3 epochs, a sample of each class), index the training split, evaluate on the test
 * split, search with one test image per class, then serve the search page over what it built
 * until Ctrl-C ({@code --no-serve} ends there instead).
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Train, index, evaluate and search in one go, with settings that finish in minutes on a CPU; "
                    + "then serve the search page over the result (Ctrl-C stops it; --no-serve skips it).",
            "Without --data it downloads MedNIST (58,954 images, 6 classes) once into the cache "
                    + "($MEDSEARCH_CACHE, else ~/.cache/medsearch)."
        })
final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR|CSV", description = "A labelled data set instead of MedNIST.")
    Path data;

    @Option(
            names = "--workdir",
            defaultValue = "medsearch-demo",
            paramLabel = "DIR",
            description = "Where model, index and reports go (default: ./${DEFAULT-VALUE}).")
    Path workdir;

    @Option(names = "--image-size", defaultValue = "64", description = "Input side (default ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--epochs", defaultValue = "3", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(
            names = "--per-class",
            defaultValue = "1500",
            paramLabel = "N",
            description = "Images per class, a seeded sample; 0 for all (default ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--seed", defaultValue = "1", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = {"-q", "--quiet"},
            description = "No progress bars.")
    boolean quiet;

    @picocli.CommandLine.Mixin
    RuntimeOption runtime;

    @Option(names = "--no-serve", description = "Stop after the search instead of serving the search page.")
    boolean noServe;

    @Option(
            names = "--port",
            defaultValue = "8080",
            description = "Port of the search page on 127.0.0.1, 0 for any free one (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--mednist-url", hidden = true, description = "Another MedNIST mirror (tests).")
    URI mednistUrl;

    @Option(names = "--mednist-md5", hidden = true, description = "Its MD5 (tests).")
    String mednistMd5;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        Progress progress = Output.progress(quiet);
        long t0 = System.nanoTime();
        Path source = data;
        if (source == null) {
            MedNist.Source src = mednistUrl == null
                    ? MedNist.defaultSource()
                    : new MedNist.Source(mednistUrl, mednistMd5 == null ? MedNist.MD5 : mednistMd5);
            out.println("Data: MedNIST (cache " + MedNist.cacheDir().toAbsolutePath() + ")");
            out.flush();
            source = MedNist.ensure(src, MedNist.cacheDir(), progress);
        }
        Files.createDirectories(workdir);
        Path modelDir = workdir.resolve("model");
        Path indexDir = workdir.resolve("index");
        Path reportDir = workdir.resolve("report");

        out.println("== 1/4 train: " + imageSize + "x" + imageSize + ", " + epochs + " epochs"
                + (perClass > 0 ? ", " + perClass + " images per class" : ""));
        out.flush();
        TrainingRecipe recipe = TrainingRecipe.paper()
                .withImageSize(imageSize)
                .withEpochs(epochs)
                .withSeed(seed);
        TrainingJob training = TrainingJob.builder()
                .setData(source)
                .setOutput(modelDir)
                .setRecipe(recipe)
                .optScanner(s -> s.optLimitPerClass(perClass, seed))
                .optProgress(progress)
                .optLog(line -> {
                    out.println(line);
                    out.flush();
                })
                .build();
        Dataset ds = training.scan();
        Split split = training.split(ds);
        // the demo trains, then evaluates: refuse a split it cannot use before the training
        TrainingJob.requireImages(split, SplitRatios.DEFAULT, Split.Part.TRAIN, Split.Part.VAL, Split.Part.TEST);
        if (!reusable(modelDir, ds, recipe, out)) {
            FileUtil.deleteTree(modelDir);
            FileUtil.deleteTree(indexDir);
            training.train(ds, split);
        }

        try (EmbeddingBackend backend = Models.open(modelDir, 0, runtime.value(), progress)) {
            out.println("== 2/4 index the training split into " + indexDir);
            out.flush();
            IndexInfo info = Models.indexInfo(backend, VectorFormat.FLOAT32);
            try (VectorStore index = openFresh(indexDir, info, out)) {
                IndexingJob.Report r = new IndexingJob(backend, backend.readers(), progress, out::println)
                        .index(
                                ds,
                                index,
                                IndexingJob.Options.defaults().withSplit(split, EnumSet.of(Split.Part.TRAIN)));
                out.printf("Indexed %d images (%d new, %.0f img/s)%n", index.size(), r.added(), r.imagesPerSecond());

                out.println("== 3/4 evaluate on the test split");
                out.flush();
                SearchService retriever = new SearchService(backend, index);
                EvaluationReport report = new EvaluationJob(retriever, backend.readers(), progress)
                        .optModelSource(modelDir.toString())
                        .run(ds, split, EvaluationJob.Options.defaults());
                Path html = ReportWriter.write(report, reportDir);
                Printing.evaluation(out, report);
                out.println("Report: " + html.toAbsolutePath());

                out.println("== 4/4 search: one test image per class (the paper's rule: predicted class, top 10)");
                out.flush();
                List<ContactSheet.Row> rows = new ArrayList<>();
                EvaluationReport.Protocol paper = report.retrieval().get("paper/predicted");
                List<String> seen = new ArrayList<>();
                for (String rel : paper.queryIds()) {
                    Sample s = ds.samples().stream()
                            .filter(x -> x.relativePath().equals(rel))
                            .findFirst()
                            .orElseThrow();
                    if (seen.contains(s.label())) {
                        continue;
                    }
                    seen.add(s.label());
                    MedicalImage img = SampleLoader.load(s, backend.readers());
                    SearchResult res = retriever.search(img, SearchRequest.of(10, Scope.PREDICTED));
                    out.println("query (" + s.label() + "):");
                    Printing.search(out, s.path(), res);
                    rows.add(new ContactSheet.Row(rel, img, res));
                }
                Path sheet = workdir.resolve("search.png");
                ContactSheet.write(sheet, rows, backend.readers());
                out.printf(
                        "Contact sheet: %s%nDone in %.0f s. Model %s, index %s.%n",
                        sheet.toAbsolutePath(), (System.nanoTime() - t0) / 1e9, modelDir, indexDir);
            }
        }
        out.flush();
        if (!noServe) {
            out.println("== serving the search page over this model and index");
            Serving.run(
                    modelDir,
                    IndexLocation.of(indexDir),
                    runtime.value(),
                    ServerConfig.defaults().withPort(port),
                    Stores.DEFAULT_FETCH,
                    out,
                    Output.err(spec));
        }
        return 0;
    }

    /** A finished model of an earlier demo run with the same data and recipe is used again. */
    private static boolean reusable(Path modelDir, Dataset ds, TrainingRecipe recipe, PrintWriter out) {
        try {
            ModelManifest m = ModelBundle.readManifest(modelDir);
            if (m.provenance() != null
                    && ds.contentHash().equals(m.provenance().data().sha256())
                    && recipe.equals(m.provenance().recipe())) {
                out.println(
                        "Reusing the model trained by an earlier demo run in " + modelDir + " (delete it to retrain)");
                return true;
            }
        } catch (java.io.IOException e) {
            // no usable model there: train one
        }
        return false;
    }

    /** The demo's index, rebuilt when it belongs to an earlier model. */
    private static VectorStore openFresh(Path dir, IndexInfo info, PrintWriter out) throws java.io.IOException {
        if (Stores.exists(dir)) {
            boolean same;
            try (VectorStore old = Stores.open(dir, false)) {
                same = old.info().modelFingerprint().equals(info.modelFingerprint());
            }
            if (!same) {
                out.println("(rebuilding the index: it belongs to an earlier model)");
                FileUtil.deleteTree(dir);
            }
        }
        return Stores.openOrCreate(dir, info);
    }
}

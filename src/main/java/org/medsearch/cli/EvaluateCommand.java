package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.eval.EvaluationReport;
import org.medsearch.eval.ReportWriter;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.InferenceRuntime;
import org.medsearch.service.EvaluationJob;
import org.medsearch.service.IndexLocation;
import org.medsearch.service.IndexingJob;
import org.medsearch.service.Models;
import org.medsearch.service.SearchService;
import org.medsearch.service.Stores;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code medsearch evaluate}: accuracy and retrieval metrics on the model's test split. */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        description = {
            "Evaluate a model and an index on the test split of the model's split file.",
            "Writes evaluation.json and evaluation.html (confusion matrix, per-class bars, precision-at-k curves)."
        })
final class EvaluateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "MODEL",
            description = "The model to evaluate (a bundle, or 'imagenet' for the bare ImageNet backbone).")
    Path model;

    @Option(
            converter = Converters.Index.class,
            names = "--index",
            required = true,
            paramLabel = "INDEX",
            description = "An index built with that model.")
    IndexLocation index;

    @Option(names = "--data", required = true, paramLabel = "DIR|CSV", description = "The model's training data set.")
    Path data;

    @Option(
            names = "--split-file",
            paramLabel = "CSV",
            description =
                    "The split file whose test part to use (default: the model's own split.csv; needed with --model imagenet).")
    Path splitFile;

    @Option(
            names = "--report",
            defaultValue = "evaluation",
            paramLabel = "DIR",
            description = "Where to write the reports (default: ./${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--k", description = "Cut-off of P@k, R@k and mAP@k (default ${DEFAULT-VALUE}).")
    int k = EvaluationJob.Options.defaults().k();

    @Option(names = "--seed", description = "Seed of the paper protocol's queries (default ${DEFAULT-VALUE}).")
    long seed = EvaluationJob.Options.defaults().seed();

    @picocli.CommandLine.Mixin
    RuntimeOption runtime;

    @picocli.CommandLine.Mixin
    VolumeOptions volumes;

    @Option(
            names = {"-q", "--quiet"},
            description = "No progress bars.")
    boolean quiet;

    @Option(
            names = "--compare-runtime",
            paramLabel = "R",
            description = "Also embed the queries with runtime R and report both side by side: accuracy, mAP,"
                    + " feature differences, top-k agreement (default: onnx for an onnx-int8 run, else none).")
    String compareRuntime;

    @Override
    public Integer call() throws Exception {
        InferenceRuntime chosen = runtime.value(); // user mistakes first, before anything is opened
        if (compareRuntime != null) {
            try {
                InferenceRuntime.parse(compareRuntime);
            } catch (IllegalArgumentException e) {
                throw new MedsearchException("--compare-runtime: " + e.getMessage());
            }
        }
        PrintWriter out = Output.out(spec);
        Progress progress = Output.progress(quiet);
        try (VectorStore idx = Stores.open(index, false);
                EmbeddingBackend backend = Models.openFor(model, idx, chosen, progress)) {
            SearchService retriever = new SearchService(backend, idx);
            Dataset ds = volumes.configure(new DatasetScanner(backend.readers()))
                    .optDecode(false)
                    .optProgress(progress)
                    .scan(data);
            Printing.labelConflicts(out, ds.report());
            Split split = splitFile != null
                    ? Split.read(splitFile, 0, SplitRatios.DEFAULT)
                    : IndexingJob.modelSplit(Models.isImagenet(model) ? null : model, backend.manifest(), ds, true);
            EvaluationJob.Options d = EvaluationJob.Options.defaults();
            if (k < 1) {
                throw new MedsearchException("--k must be at least 1, got " + k);
            }
            EvaluationJob.Options opts = new EvaluationJob.Options(
                    k, Math.max(k, d.curveLength()), d.paperQueriesPerClass(), seed, d.threads());
            EvaluationJob job = new EvaluationJob(retriever, backend.readers(), progress)
                    .optPatientKeys(Stores.patientKeys(index, idx, false))
                    .optModelSource(model.toString());
            EvaluationReport r;
            // an int8 run states what quantization costs: the same queries through the fp32 graph
            InferenceRuntime other = compareRuntime != null
                    ? InferenceRuntime.parse(compareRuntime)
                    : runtime.value() == InferenceRuntime.ONNX_INT8 ? InferenceRuntime.ONNX : null;
            if (other != null && other != runtime.value()) {
                try (EmbeddingBackend ref = Models.openFor(model, idx, other, progress)) {
                    r = job.optCompareWith(ref).run(ds, split, opts);
                }
            } else {
                r = job.run(ds, split, opts);
            }
            Path html = ReportWriter.write(r, report);
            Printing.evaluation(out, r);
            out.println("Report: " + html.toAbsolutePath() + " (and evaluation.json)");
        }
        return 0;
    }
}

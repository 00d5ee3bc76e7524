package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Split;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.VectorFormat;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.service.IndexLocation;
import org.medsearch.service.IndexingJob;
import org.medsearch.service.Models;
import org.medsearch.service.Stores;
import org.medsearch.util.Figures;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code medsearch index}: embed a folder of images into a persistent index; check it; show its stats. */
@Command(
        name = "index",
        mixinStandardHelpOptions = true,
        description = {
            "Embed every image of a data set with a model and store the vectors in an index.",
            "Re-running on an indexed folder adds new files, re-embeds changed ones (by content hash) and skips the rest;"
                    + " an interrupted run continues where it stopped.",
            "With --check or --stats, only the index is needed."
        })
final class IndexCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--model",
            paramLabel = "MODEL",
            description =
                    "A model bundle from 'train', or 'imagenet' for torchvision's ImageNet backbone without a classifier.")
    Path model;

    @Option(names = "--data", paramLabel = "DIR|CSV", description = "Images to index.")
    Path data;

    @Option(
            names = "--from",
            paramLabel = "SOURCE",
            description = "Where the images are: a folder or CSV manifest (as --data), or a PACS's DICOMweb service,"
                    + " dicomweb://HOST:PORT/PATH (dicomwebs:// for HTTPS). From a PACS, re-runs retrieve only"
                    + " instances not yet indexed.")
    String from;

    @picocli.CommandLine.Mixin
    PacsOptions pacs;

    @Option(
            names = "--modality",
            paramLabel = "CODE",
            description = "From a PACS: only series of this modality (e.g. CT).")
    String modality;

    @Option(
            names = "--study-date",
            paramLabel = "RANGE",
            description = "From a PACS: only studies of this date or range (YYYYMMDD, YYYYMMDD-, -YYYYMMDD, A-B).")
    String studyDate;

    @Option(
            names = "--body-part",
            paramLabel = "CODE",
            description = "From a PACS: only series of this body part (e.g. HEAD).")
    String bodyPart;

    @Option(
            names = "--follow",
            description = "From a PACS: keep polling it for new instances every --interval, until Ctrl-C or SIGTERM"
                    + " (which stop it after the chunk being embedded, with everything before committed).")
    boolean follow;

    @Option(
            names = "--interval",
            paramLabel = "DURATION",
            converter = Converters.Durations.class,
            description = "With --follow: the pause between polls, e.g. 30s, 5m (default ${DEFAULT-VALUE}).")
    java.time.Duration interval = java.time.Duration.ofSeconds(60);

    @Option(
            names = "--link-back",
            description = "From a PACS: also store each image's Study, Series and SOP Instance UIDs, so that"
                    + " 'serve --viewer-url' can link hits to the PACS viewer. These are identifiers: without"
                    + " this flag only salted keys of them are stored.")
    boolean linkBack;

    @Option(
            converter = Converters.Index.class,
            names = "--index",
            required = true,
            paramLabel = "INDEX",
            description = "Index directory (created if absent).")
    IndexLocation index;

    @Option(
            names = "--split",
            paramLabel = "PARTS",
            converter = Converters.Parts.class,
            description =
                    "Index only these parts of the model's split, e.g. 'train' or 'train+val' (default: all images). "
                            + "Needs the model's training data as --data.")
    Set<Split.Part> parts;

    @Option(names = "--prune", description = "Remove indexed images whose files are gone.")
    boolean prune;

    @Option(
            names = "--vectors",
            defaultValue = "float32",
            paramLabel = "float32|int8",
            converter = Converters.Vectors.class,
            description = "Vector format of a new index's HNSW graph: float32, or int8 (scalar-quantised, about 4x"
                    + " fewer bytes per graph search, re-ranked exactly) (default ${DEFAULT-VALUE}).")
    VectorFormat vectors;

    @Option(
            names = "--image-size",
            defaultValue = "0",
            paramLabel = "N",
            description = "Input size for --model imagenet (default 224); a trained model records its own.")
    int imageSize;

    @Option(names = "--batch", description = "Images per forward pass (default ${DEFAULT-VALUE}).")
    int batch = IndexingJob.Options.defaults().batchSize();

    @Option(
            names = "--commit-every",
            paramLabel = "N",
            description = "Commit after every N-th image added (also in the middle of a --batch) and after the last;"
                    + " an interrupted run loses fewer than N images (default ${DEFAULT-VALUE}).")
    int commitEvery = IndexingJob.Options.defaults().commitEvery();

    @Option(
            names = "--worker",
            paramLabel = "I/N",
            converter = Converters.Workers.class,
            description = "Embed only this worker's share of the files (by a hash of the path): N processes, on N"
                    + " machines, each with --worker 0/N .. N-1/N, fill one index (a Solr collection) with every file"
                    + " exactly once. Each prunes only its share.")
    IndexingJob.Worker worker;

    @Option(names = "--workers", description = "Image decoding threads (default: one per core).")
    Integer workers;

    @picocli.CommandLine.Mixin
    RuntimeOption runtime;

    @picocli.CommandLine.Mixin
    VolumeOptions volumes;

    @Option(names = "--check", description = "Check the index's consistency and exit (status 2 if damaged).")
    boolean check;

    @Option(
            names = "--stats",
            description = "Print counts per class, bytes on disk, model fingerprint and vector format.")
    boolean stats;

    @Option(
            names = {"-q", "--quiet"},
            description = "No progress bars.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        if (check) {
            VectorStore.CheckReport r = Stores.check(index);
            if (r.ok()) {
                out.printf("Index %s is consistent: %d images%n", index, r.images());
                return 0;
            }
            out.printf("Index %s has %d problems:%n", index, r.problems().size());
            r.problems().stream().limit(50).forEach(p -> out.println("  " + p));
            return 2;
        }
        if (stats) {
            try (VectorStore idx = Stores.open(index, false)) {
                printStats(out, idx.stats());
            }
            return 0;
        }
        if (from != null) {
            if (data != null) {
                throw new MedsearchException("give --data or --from, not both");
            }
            if (org.medsearch.dicomweb.DicomWebLocation.looksLike(from)) {
                return new PacsIndexing(this, out).run();
            }
            data = Path.of(from);
        }
        if (modality != null || studyDate != null || bodyPart != null || follow || linkBack) {
            throw new MedsearchException(
                    "--modality, --study-date, --body-part, --follow and --link-back are for a PACS (--from dicomweb://...)");
        }
        if (model == null || data == null) {
            throw new MedsearchException("index needs --model and --data (or --check / --stats)");
        }
        // checked before the model loads and the data is scanned
        if (commitEvery < 1) {
            throw new MedsearchException("--commit-every must be at least 1, got " + commitEvery);
        }
        if (batch < 1) {
            throw new MedsearchException("--batch must be at least 1, got " + batch);
        }
        if (workers != null && workers < 1) {
            throw new MedsearchException("--workers must be at least 1, got " + workers);
        }
        Progress progress = Output.progress(quiet);
        VectorFormat format = vectors;
        try (EmbeddingBackend backend = Models.open(model, imageSize, runtime.value(), progress)) {
            if (!backend.hasClassifier()) {
                out.println("Note: " + model + " has no classifier: images are indexed by their ImageNet features"
                        + " alone, and searches must use --scope all");
            }
            Dataset ds = volumes.configure(new DatasetScanner(backend.readers()))
                    .optDecode(false)
                    .optProgress(progress)
                    .scan(data);
            Printing.labelConflicts(out, ds.report());
            IndexingJob.Options opts =
                    new IndexingJob.Options(null, null, prune, batch, commitEvery).withWorker(worker);
            Split split = IndexingJob.modelSplit(
                    Models.isImagenet(model) ? null : model, backend.manifest(), ds, parts != null);
            if (split != null) {
                opts = opts.withSplit(split, parts);
            }
            IndexInfo info = Models.indexInfo(backend, format);
            try (VectorStore idx = Stores.openOrCreate(index, info)) {
                if (idx.info().vectorFormat() != format
                        && spec.commandLine().getParseResult().hasMatchedOption("--vectors")) {
                    out.println("Note: the index keeps its vector format "
                            + idx.info().vectorFormat().key());
                }
                IndexingJob indexer = new IndexingJob(backend, backend.readers(), progress, out::println);
                if (ds.samples().stream().anyMatch(s -> s.patientId() != null)) {
                    indexer.optPatientKeys(Stores.patientKeys(index, idx, true));
                }
                if (workers != null) {
                    indexer.optWorkers(workers);
                }
                IndexingJob.Report r = indexer.index(ds, idx, opts);
                out.printf(
                        "Indexed %s: %d added, %d updated, %d unchanged%s, %d skipped; %d images in the index"
                                + " (%.1f s, %.0f img/s)%n",
                        index,
                        r.added(),
                        r.updated(),
                        r.unchanged(),
                        prune ? ", " + r.pruned() + " removed" : "",
                        r.skipped().size(),
                        idx.size(),
                        r.seconds(),
                        r.imagesPerSecond());
                r.skipped().stream()
                        .limit(10)
                        .forEach(s -> out.println("  skipped " + s.relativePath() + ": " + s.reason()));
                if (r.skipped().size() > 10) {
                    out.println("  ... and " + (r.skipped().size() - 10) + " more");
                }
            }
        }
        return 0;
    }

    static void printStats(PrintWriter out, VectorStore.Stats s) {
        out.printf("images            %d (next id %d)%n", s.images(), s.nextId());
        out.printf("model fingerprint %s%n", s.modelFingerprint());
        out.printf("vector format     %s%n", s.vectorFormat());
        out.printf("segments          %d%n", s.segments());
        out.printf("exact kernel      %s%n", s.exactKernel());
        out.printf("bytes on disk     %s%n", Figures.bytes(s.bytesOnDisk()));
        s.bytesByKind().forEach((k, v) -> out.printf("  %-24s %s%n", k, Figures.bytes(v)));
        out.printf("created by        medsearch %s%n", s.createdBy());
        out.println("per class");
        s.perClass().forEach((k, v) -> out.printf("  %-24s %d%n", k, v));
        if (!(s.perSplit().size() == 1 && s.perSplit().containsKey("none"))) {
            out.println("per split");
            s.perSplit().forEach((k, v) -> out.printf("  %-24s %d%n", k, v));
        }
        if (!(s.perModality().size() == 1 && s.perModality().containsKey("none"))) {
            out.println("per modality");
            s.perModality().forEach((k, v) -> out.printf("  %-24s %d%n", k, v));
        }
    }
}

package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.PatientKeys;
import org.medsearch.dataset.Sample;
import org.medsearch.dataset.SampleLoader;
import org.medsearch.dataset.ScanReport;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.image.BatchLoader;
import org.medsearch.image.ImageReaders;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.VectorStore;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * Embeds a data set's images and writes them into a {@link VectorStore}, incrementally: a file
 * already indexed with the same bytes is left alone, a changed file is re-embedded and replaced,
 * and with {@code prune} a file that vanished is removed.
 *
 * <p>Contract: a commit follows every {@code commitEvery}-th image added (counted one by one, so
 * also in the middle of a batch of {@code batchSize}) and the last image, so indexing n images
 * commits ceil(n / commitEvery) times; a run that adds nothing commits once (its pruning, if any).
 * An interrupted run loses fewer than {@code commitEvery} added images (plus the batch being
 * embedded) and the next run continues where it stopped (the committed images are "unchanged").
 * Files that fail to decode are skipped and reported; they never stop the run.
 *
 * <pre>{@code
 * IndexingJob.Report r = new IndexingJob(backend, backend.readers(), progress, System.out::println)
 *         .index(dataset, index, IndexingJob.Options.defaults());
 * }</pre>
 */
public final class IndexingJob {

    /**
     * What to index.
     *
     * @param split the model's split, to record each image's part, or null
     * @param parts only these parts of {@code split} (null: every image)
     * @param prune remove indexed images whose files are no longer in the data set
     * @param batchSize images per forward pass
     * @param commitEvery images added between commits, at least 1
     * @param worker this process's share of the files when several fill one index, or null for all
     */
    public record Options(
            Split split, Set<Split.Part> parts, boolean prune, int batchSize, int commitEvery, Worker worker) {

        public Options(Split split, Set<Split.Part> parts, boolean prune, int batchSize, int commitEvery) {
            this(split, parts, prune, batchSize, commitEvery, null);
        }

        public static Options defaults() {
            return new Options(null, null, false, 64, 10_000);
        }

        public Options withSplit(Split s, Set<Split.Part> p) {
            return new Options(s, p, prune, batchSize, commitEvery, worker);
        }

        public Options withPrune(boolean p) {
            return new Options(split, parts, p, batchSize, commitEvery, worker);
        }

        public Options withCommitEvery(int n) {
            return new Options(split, parts, prune, batchSize, n, worker);
        }

        public Options withWorker(Worker w) {
            return new Options(split, parts, prune, batchSize, commitEvery, w);
        }
    }

    /**
     * Worker {@code index} of {@code count} ({@code index --worker I/N}): it embeds the files whose
     * stored path hashes to it (SHA-256 of the path, mod N), so N processes on N machines fill one
     * index with every file exactly once, and each prunes only its own share. The hash depends on
     * the path alone: every worker must see the data under the same path.
     *
     * @param index 0 .. count-1
     * @param count workers, at least 1
     */
    public record Worker(int index, int count) {
        public Worker {
            if (count < 1 || index < 0 || index >= count) {
                throw new IllegalArgumentException("a worker is I/N with 0 <= I < N, got " + index + "/" + count);
            }
        }

        /** Parses "I/N". */
        public static Worker parse(String s) {
            String[] p = s.trim().split("/", -1);
            try {
                if (p.length == 2) {
                    return new Worker(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
                }
            } catch (NumberFormatException e) {
                // refused below
            }
            throw new IllegalArgumentException("expected I/N (e.g. 0/4), got '" + s + "'");
        }

        /** Whether this worker owns {@code path}. */
        public boolean owns(String path) {
            try {
                byte[] h = java.security.MessageDigest.getInstance("SHA-256")
                        .digest(path.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                long v = java.nio.ByteBuffer.wrap(h).getLong() & Long.MAX_VALUE;
                return v % count == index;
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is always available", e);
            }
        }

        @Override
        public String toString() {
            return index + "/" + count;
        }
    }

    /** What a run did. */
    public record Report(
            int added,
            int updated,
            int unchanged,
            int pruned,
            List<ScanReport.Skipped> skipped,
            double seconds,
            double imagesPerSecond) {}

    private final EmbeddingBackend embedder;
    private final ImageReaders readers;
    private final Progress progress;
    private final Consumer<String> log;
    private int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
    private PatientKeys patientKeys;
    private java.util.function.Function<Sample, String> keys = IndexingJob::key;
    private java.util.function.Function<Sample, Map<String, String>> extraMetadata = s -> Map.of();

    public IndexingJob(EmbeddingBackend embedder, ImageReaders readers, Progress progress, Consumer<String> log) {
        this.embedder = embedder;
        this.readers = readers;
        this.progress = progress;
        this.log = log;
    }

    public IndexingJob optWorkers(int n) {
        this.workers = Math.max(1, n);
        return this;
    }

    /** Stores each image's patient as a salted key (see {@link PatientKeys}); without, no patient is stored. */
    public IndexingJob optPatientKeys(PatientKeys keys) {
        this.patientKeys = keys;
        return this;
    }

    /**
     * How an image is named in the index (default: its file's absolute path, plus the slice): a
     * source that is not a folder, such as a PACS, names its images by their place there.
     */
    public IndexingJob optKeys(java.util.function.Function<Sample, String> k) {
        this.keys = k;
        return this;
    }

    /** Metadata stored with each image beside what its reader reports (default: none). */
    public IndexingJob optExtraMetadata(java.util.function.Function<Sample, Map<String, String>> m) {
        this.extraMetadata = m;
        return this;
    }

    public Report index(Dataset ds, VectorStore index, Options opts) throws IOException {
        return index(ds, index, opts, new java.util.HashMap<>(index.contentHashesByPath()));
    }

    /**
     * As {@link #index(Dataset, VectorStore, Options)}, against a caller's view of what the index
     * holds (path to content hash), which this run updates: a caller that indexes in chunks reads
     * the index once.
     */
    public Report index(Dataset ds, VectorStore index, Options opts, Map<String, String> existing) throws IOException {
        long t0 = System.nanoTime();
        List<Sample> todo = new ArrayList<>();
        Set<String> present = new HashSet<>();
        int unchanged = 0;
        int updated = 0;
        for (Sample s : ds.samples()) {
            Split.Part part = opts.split() == null ? null : opts.split().partOf(s.relativePath());
            if (opts.parts() != null && (part == null || !opts.parts().contains(part))) {
                continue;
            }
            String key = keys.apply(s);
            if (opts.worker() != null && !opts.worker().owns(key)) {
                continue; // another worker's file
            }
            present.add(key);
            String old = existing.get(key);
            if (s.contentHash().equals(old)) {
                unchanged++;
            } else {
                if (old != null) {
                    updated++;
                }
                todo.add(s);
            }
        }
        int pruned = 0;
        if (opts.prune()) {
            List<String> gone = new ArrayList<>();
            for (String path : existing.keySet()) {
                if (!present.contains(path)
                        && (opts.worker() == null || opts.worker().owns(path))) {
                    index.deleteByPath(path);
                    gone.add(path);
                    pruned++;
                }
            }
            existing.keySet().removeAll(gone);
        }
        List<ScanReport.Skipped> skipped = new ArrayList<>(ds.report().skipped());
        List<String> classes = embedder.classes();
        int[] counts = new int[2]; // images embedded, and since the last commit
        try (BatchLoader loader = new BatchLoader(
                        readers, embedder.preprocessing(), SampleLoader.sources(todo), opts.batchSize(), workers);
                Progress.Task task = progress.start("Indexing", todo.size(), "img")) {
            long started = System.nanoTime();
            loader.forEach(
                    task,
                    f -> skipped.add(new ScanReport.Skipped(todo.get(f.index()).relativePath(), f.reason())),
                    b -> {
                        List<Embedding> es = embedder.embed(b.data(), b.size());
                        for (int i = 0; i < b.size(); i++) {
                            Sample s = todo.get(b.indices()[i]);
                            Embedding e = es.get(i);
                            Split.Part part =
                                    opts.split() == null ? null : opts.split().partOf(s.relativePath());
                            String key = keys.apply(s);
                            if (existing.containsKey(key)) {
                                index.deleteByPath(key);
                            }
                            existing.put(key, s.contentHash());
                            Map<String, String> meta = b.metadata().get(i);
                            Map<String, String> extra = extraMetadata.apply(s);
                            if (!extra.isEmpty()) {
                                meta = new java.util.LinkedHashMap<>(meta == null ? Map.of() : meta);
                                meta.putAll(extra);
                            }
                            index.add(new IndexedImage(
                                    -1,
                                    key,
                                    s.label(),
                                    e.predictedName(classes),
                                    e.confidence(),
                                    s.contentHash(),
                                    e.vector(),
                                    part == null ? null : part.key(),
                                    s.modality(),
                                    patientKeys == null ? null : patientKeys.key(s.patientId()),
                                    patientKeys == null ? null : patientKeys.key(s.studyId()),
                                    meta));
                            // per image, not per batch: --commit-every 7 with batches of 64 commits after image 7
                            if (++counts[1] >= opts.commitEvery()) {
                                index.commit();
                                counts[1] = 0;
                            }
                        }
                        counts[0] += b.size();
                        task.extra(String.format("%.0f img/s", counts[0] / ((System.nanoTime() - started) / 1e9)));
                    });
        }
        int done = counts[0];
        int sinceCommit = counts[1];
        if (sinceCommit > 0 || done == 0) {
            // what is left; with nothing embedded this commits the pruning (or nothing, harmlessly)
            index.commit();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        int added = done - updated;
        return new Report(Math.max(0, added), updated, unchanged, pruned, skipped, seconds, done / seconds);
    }

    /**
     * The split a trained model recorded (its {@code split.csv}), matched against {@code ds}; null
     * when it does not apply and is not required.
     *
     * @param modelDir the model bundle's directory (null for a model without one, such as the ImageNet backbone)
     */
    public static Split modelSplit(Path modelDir, ModelManifest m, Dataset ds, boolean required) throws IOException {
        Path f = modelDir == null ? null : modelDir.resolve(ModelBundle.SPLIT);
        boolean classifier = !m.classes().isEmpty();
        if (!classifier || f == null || !Files.isRegularFile(f)) {
            if (required) {
                throw new MedsearchException(
                        classifier
                                ? modelDir + " has no " + ModelBundle.SPLIT
                                : "a bare backbone has no split of its own: give a split file (a trained model's split.csv)");
            }
            return null;
        }
        ModelManifest.SplitInfo si =
                m.provenance() == null ? null : m.provenance().split();
        Split split = Split.read(
                f, si == null ? 0 : si.seed(), si == null ? SplitRatios.DEFAULT : SplitRatios.parse(si.ratios()));
        long known = ds.samples().stream()
                .filter(s -> split.partOf(s.relativePath()) != null)
                .count();
        if (known == 0) {
            if (required) {
                throw new MedsearchException("the model's split needs the model's training data: none of the "
                        + ds.size() + " images given appear in " + f);
            }
            return null;
        }
        return split;
    }

    /** The stored path of a sample: absolute and normalised (see {@link SampleLoader#reference}). */
    static String key(Sample s) {
        return SampleLoader.reference(s);
    }
}

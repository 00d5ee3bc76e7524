package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.PatientKeys;
import org.medsearch.dataset.Sample;
import org.medsearch.dataset.ScanReport;
import org.medsearch.dicom.DicomFile;
import org.medsearch.dicom.Identifiers;
import org.medsearch.dicomweb.DicomJson;
import org.medsearch.dicomweb.DicomWebClient;
import org.medsearch.dicomweb.QidoFilter;
import org.medsearch.image.ImageFormatException;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Hashing;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import org.medsearch.volume.Plane;
import org.medsearch.volume.SliceSelector;
import org.medsearch.volume.Volume;
import org.medsearch.volume.Volumes;

/**
 * Brings a DICOMweb archive's images into an index, incrementally: QIDO-RS lists the series that
 * match a {@link QidoFilter} and their instances, WADO-RS retrieves only what the index does not
 * hold yet, and {@link IndexingJob} embeds it. The archive is only read.
 *
 * <p>What becomes an image:
 * <ul>
 *   <li>a series of at least 3 single-frame CT, MR, PT or NM instances that share one geometry is a
 *       volume: it gives the paper's slices (the middle one and its neighbours, as a NIfTI file does);
 *       a series that turns out not to be one volume is indexed instance by instance;</li>
 *   <li>every other image instance is one image, multi-frame and compressed ones through the same
 *       DICOM reader as files on disk;</li>
 *   <li>instances that QIDO-RS shows without Rows (structured reports, presentation states, key
 *       objects) are not images and are never retrieved.</li>
 * </ul>
 *
 * <p>Contract:
 * <ul>
 *   <li>An image is stored under {@code LOCATION/instances/KEY} or {@code LOCATION/series/KEY#plane/i},
 *       where a KEY is the SOP Instance or Series Instance UID keyed with the installation's salt
 *       ({@link PatientKeys}): a re-run retrieves no instance the index holds, and the index holds no
 *       UID. With {@link Options#linkBack} each image also stores its Study, Series and (for a 2D
 *       image) SOP Instance UID, which a viewer link needs.</li>
 *   <li>A series that gained instances since it was indexed as a volume is retrieved and indexed
 *       again; its old slices are replaced.</li>
 *   <li>An instance that cannot be decoded is named in {@link Report#skipped} and remembered in a
 *       ledger file, so later runs do not retrieve it again.</li>
 *   <li>Retrieved instances are held in a private temporary folder (mode 0700) only until their
 *       chunk is embedded; the next chunk is retrieved while one is embedded.</li>
 *   <li>Work is committed after each chunk: a stop request ({@link #optStop}) ends the run after
 *       the chunk being embedded, with everything before it committed.</li>
 *   <li>The archive being unreachable or refusing the credentials ends the run with a
 *       {@link MedsearchException}; what was committed stays.</li>
 * </ul>
 *
 * <pre>{@code
 * PacsSync.Report r = new PacsSync(pacs, backend, progress, System.out::println)
 *         .setKeys(keys)
 *         .optLedger(ledgerFile)
 *         .sync(store, PacsSync.Options.defaults().withFilter(QidoFilter.of("CT", null, null)));
 * }</pre>
 */
public final class PacsSync {

    /** Modalities whose multi-slice series are volumes. */
    static final Set<String> VOLUMETRIC = Set.of("CT", "MR", "PT", "NM");

    /** Metadata keys of the identifiers stored with {@link Options#linkBack}. */
    public static final String STUDY_UID = org.medsearch.search.ViewerLink.KEYS.get("study");

    public static final String SERIES_UID = org.medsearch.search.ViewerLink.KEYS.get("series");
    public static final String INSTANCE_UID = org.medsearch.search.ViewerLink.KEYS.get("instance");

    /**
     * How to sync.
     *
     * @param filter which series
     * @param linkBack store the Study, Series and SOP Instance UIDs with each image
     * @param batchSize images per forward pass
     * @param commitEvery images between commits within a chunk
     * @param chunk instances retrieved, then embedded, together (a volume's series is never split)
     * @param slices slices per volume
     * @param plane their plane
     */
    public record Options(
            QidoFilter filter, boolean linkBack, int batchSize, int commitEvery, int chunk, int slices, Plane plane) {

        public static Options defaults() {
            return new Options(QidoFilter.ALL, false, 64, 10_000, 512, SliceSelector.DEFAULT_COUNT, Plane.AXIAL);
        }

        public Options withFilter(QidoFilter f) {
            return new Options(f, linkBack, batchSize, commitEvery, chunk, slices, plane);
        }

        public Options withLinkBack(boolean b) {
            return new Options(filter, b, batchSize, commitEvery, chunk, slices, plane);
        }

        public Options withBatch(int batch, int commit) {
            return new Options(filter, linkBack, batch, commit, chunk, slices, plane);
        }

        public Options withChunk(int n) {
            return new Options(filter, linkBack, batchSize, commitEvery, Math.max(1, n), slices, plane);
        }

        public Options withVolumeSlices(int n, Plane p) {
            return new Options(filter, linkBack, batchSize, commitEvery, chunk, n, p);
        }
    }

    /**
     * What one pass did.
     *
     * @param series series matching the filter
     * @param instances image instances listed in them
     * @param notImages instances listed without pixel data (not retrieved)
     * @param known instances already indexed, or known to be undecodable, before this pass
     * @param retrieved instances retrieved by WADO-RS
     * @param added images added to the index (a volume gives several)
     * @param skipped why each retrieved instance that gave no image gave none
     * @param bytes bytes retrieved
     * @param seconds the pass's wall time
     * @param stopped whether a stop request ended it early
     * @param listSeconds of which listing the series' instances (QIDO-RS)
     */
    public record Report(
            int series,
            int instances,
            int notImages,
            int known,
            int retrieved,
            int added,
            List<ScanReport.Skipped> skipped,
            long bytes,
            double seconds,
            boolean stopped,
            double listSeconds) {

        public double imagesPerSecond() {
            return seconds <= 0 ? 0 : added / seconds;
        }
    }

    /** One instance as listed. */
    private record Ref(String study, String series, String instance, String modality, int seriesNumber, int number) {
        String describe(String key, boolean linkBack) {
            String m = modality == null ? "" : modality + " ";
            return linkBack
                    ? m + "instance " + instance + " of series " + series
                    : m + "instance #" + number + " of series #" + seriesNumber + " (key " + key.substring(0, 12) + ")";
        }
    }

    /** What to retrieve: one 2D instance, or every instance of a volume's series. */
    private record Unit(String seriesKey, String setHash, List<Ref> refs) {
        boolean volume() {
            return seriesKey != null;
        }
    }

    /** A retrieved instance: its file, hash and identifiers (in memory only). */
    private record Fetched(Ref ref, String key, Path file, String sha256, Identifiers ids) {}

    /** A retrieved chunk: its folder, what it holds, and what failed. */
    private record Chunk(
            Path dir,
            List<Unit> units,
            Map<String, Fetched> fetched,
            List<ScanReport.Skipped> failed,
            List<String> tooLarge,
            long bytes) {}

    private final DicomWebClient pacs;
    private final EmbeddingBackend backend;
    private final Progress progress;
    private final Consumer<String> log;
    private PatientKeys keys;
    private Path ledgerFile;
    private AtomicBoolean stop = new AtomicBoolean();
    private Integer decodeWorkers;

    public PacsSync(DicomWebClient pacs, EmbeddingBackend backend, Progress progress, Consumer<String> log) {
        this.pacs = pacs;
        this.backend = backend;
        this.progress = progress;
        this.log = log;
    }

    /** The installation's salt: it keys UIDs and patients (required). */
    public PacsSync setKeys(PatientKeys k) {
        this.keys = k;
        return this;
    }

    /** Where undecodable instances are remembered (default: nowhere; each pass tries them again). */
    public PacsSync optLedger(Path file) {
        this.ledgerFile = file;
        return this;
    }

    /** A flag that, once set, ends the pass after the chunk being embedded. */
    public PacsSync optStop(AtomicBoolean flag) {
        this.stop = flag;
        return this;
    }

    public PacsSync optWorkers(Integer n) {
        this.decodeWorkers = n;
        return this;
    }

    /** The stored path of a 2D instance. */
    public String instancePath(String sopInstanceUid) {
        return pacs.location() + "/instances/" + keys.key("sop:" + sopInstanceUid);
    }

    public Report sync(VectorStore store, Options opts) throws IOException {
        if (keys == null) {
            throw new IllegalStateException("setKeys is required");
        }
        long t0 = System.nanoTime();
        String source = pacs.location().toString();
        String instancePrefix = source + "/instances/";
        String seriesPrefix = source + "/series/";
        Map<String, String> existing = new HashMap<>(store.contentHashesByPath());
        Set<String> indexedInstances = new java.util.HashSet<>();
        Map<String, String> indexedSeries = new HashMap<>();
        for (Map.Entry<String, String> e : existing.entrySet()) {
            String p = e.getKey();
            if (p.startsWith(instancePrefix)) {
                indexedInstances.add(cut(p.substring(instancePrefix.length())));
            } else if (p.startsWith(seriesPrefix)) {
                indexedSeries.put(cut(p.substring(seriesPrefix.length())), seriesHash(e.getValue()));
            }
        }
        Ledger ledger = Ledger.load(ledgerFile);

        List<DicomJson> seriesList = new ArrayList<>(pacs.searchSeries(opts.filter()));
        seriesList.sort(Comparator.comparing((DicomJson d) -> String.valueOf(d.string(DicomJson.STUDY_UID)))
                .thenComparing(d -> String.valueOf(d.string(DicomJson.SERIES_UID))));
        int instances = 0;
        int notImages = 0;
        int known = 0;
        List<Unit> units = new ArrayList<>();
        // every listing first: whether this archive returns Rows at all decides what "no Rows" means
        long listStart = System.nanoTime();
        List<Map.Entry<DicomJson, List<DicomJson>>> listings = list(seriesList, opts.filter());
        double listSeconds = (System.nanoTime() - listStart) / 1e9;
        boolean rowsKnown =
                listings.stream().flatMap(e -> e.getValue().stream()).anyMatch(d -> d.integer(DicomJson.ROWS, 0) > 0);
        for (Map.Entry<DicomJson, List<DicomJson>> listing : listings) {
            DicomJson s = listing.getKey();
            List<DicomJson> listed = listing.getValue();
            String study = s.string(DicomJson.STUDY_UID);
            String series = s.string(DicomJson.SERIES_UID);
            String modality = s.string(DicomJson.MODALITY);
            int seriesNumber = s.integer("00200011", 0);
            List<Ref> images = new ArrayList<>();
            for (DicomJson d : listed) {
                String sop = d.string(DicomJson.SOP_INSTANCE_UID);
                if (sop == null) {
                    continue;
                }
                if (notAnImage(d.string(DicomJson.SOP_CLASS_UID)) || (rowsKnown && d.integer(DicomJson.ROWS, 0) <= 0)) {
                    notImages++;
                    continue;
                }
                images.add(
                        new Ref(study, series, sop, modality, seriesNumber, d.integer(DicomJson.INSTANCE_NUMBER, 0)));
            }
            instances += images.size();
            String seriesKey = keys.key("series:" + series);
            boolean volume = modality != null
                    && VOLUMETRIC.contains(modality.toUpperCase(Locale.ROOT))
                    && images.size() >= 3
                    && listed.stream().allMatch(d -> d.integer(DicomJson.NUMBER_OF_FRAMES, 1) <= 1)
                    && !ledger.notVolume(seriesKey);
            if (volume) {
                String setHash = setHash(images);
                if (setHash.equals(indexedSeries.get(seriesKey))) {
                    known += images.size();
                } else {
                    units.add(new Unit(seriesKey, setHash, images));
                }
                continue;
            }
            for (Ref r : images) {
                String k = keys.key("sop:" + r.instance());
                if (indexedInstances.contains(k) || ledger.failure(k) != null) {
                    known++;
                } else {
                    units.add(new Unit(null, null, List.of(r)));
                }
            }
        }

        List<List<Unit>> chunks = chunks(units, opts.chunk());
        int toRetrieve = units.stream().mapToInt(u -> u.refs().size()).sum();
        List<ScanReport.Skipped> skipped = new ArrayList<>();
        int added = 0;
        int retrieved = 0;
        long bytes = 0;
        Path spool = Spool.create();
        ExecutorService fetchers = Executors.newFixedThreadPool(pacs.parallel(), daemon("dicomweb-retrieve"));
        ExecutorService ahead = Executors.newSingleThreadExecutor(daemon("dicomweb-prefetch"));
        try (Progress.Task task = progress.start("Indexing from PACS", toRetrieve, "inst")) {
            Future<Chunk> next = chunks.isEmpty() ? null : ahead.submit(() -> fetch(chunks.get(0), spool, 0, fetchers));
            for (int c = 0; c < chunks.size(); c++) {
                Chunk chunk = get(next);
                int following = c + 1;
                // the next chunk arrives while this one is embedded: the model, not the network, sets the pace
                next = following < chunks.size() && !stop.get()
                        ? ahead.submit(() -> fetch(chunks.get(following), spool, following, fetchers))
                        : null;
                retrieved += chunk.fetched().size();
                bytes += chunk.bytes();
                skipped.addAll(chunk.failed());
                chunk.tooLarge().forEach(k -> ledger.fail(k, "over the size limit"));
                added += embed(chunk, store, opts, existing, ledger, skipped);
                FileUtil.deleteTree(chunk.dir());
                ledger.save();
                task.step(chunk.units().stream().mapToInt(u -> u.refs().size()).sum());
                if (stop.get()) {
                    if (next != null) {
                        next.cancel(true);
                    }
                    break;
                }
            }
        } finally {
            fetchers.shutdownNow();
            ahead.shutdownNow();
            FileUtil.deleteTree(spool);
        }
        if (added == 0) {
            store.commit(); // nothing new; a commit keeps the contract "every run commits"
        }
        return new Report(
                seriesList.size(),
                instances,
                notImages,
                known,
                retrieved,
                added,
                List.copyOf(skipped),
                bytes,
                (System.nanoTime() - t0) / 1e9,
                stop.get(),
                listSeconds);
    }

    /**
     * Each series' instances: by one paged search over all instances when the archive answers it,
     * else series by series, {@link DicomWebClient#parallel()} listings at a time (one QIDO-RS
     * request per series: for an archive of single-image series, as many requests as images).
     */
    private List<Map.Entry<DicomJson, List<DicomJson>>> list(List<DicomJson> seriesList, QidoFilter filter)
            throws IOException {
        if (seriesList.size() > 1) {
            try {
                return listAtOnce(seriesList, filter);
            } catch (org.medsearch.dicomweb.DicomWebException e) {
                if (e.kind() == org.medsearch.dicomweb.DicomWebException.Kind.CREDENTIALS
                        || e.kind() == org.medsearch.dicomweb.DicomWebException.Kind.UNREACHABLE
                        || e.kind() == org.medsearch.dicomweb.DicomWebException.Kind.TLS) {
                    throw e;
                }
                // an archive without searches over all instances: series by series, then
                log.accept("  the PACS refused one search over all instances (" + e.getMessage()
                        + "): listing series by series");
            }
        }
        return listEach(seriesList);
    }

    /** One paged search of all matching instances, grouped by series (only the series listed). */
    private List<Map.Entry<DicomJson, List<DicomJson>>> listAtOnce(List<DicomJson> seriesList, QidoFilter filter)
            throws IOException {
        Map<String, List<DicomJson>> bySeries = new HashMap<>();
        for (DicomJson d : pacs.searchAllInstances(filter)) {
            String series = d.string(DicomJson.SERIES_UID);
            if (series != null) {
                bySeries.computeIfAbsent(series, k -> new ArrayList<>()).add(d);
            }
        }
        List<Map.Entry<DicomJson, List<DicomJson>>> out = new ArrayList<>(seriesList.size());
        for (DicomJson s : seriesList) {
            String series = s.string(DicomJson.SERIES_UID);
            if (series != null && s.string(DicomJson.STUDY_UID) != null) {
                out.add(Map.entry(s, bySeries.getOrDefault(series, List.of())));
            }
        }
        return out;
    }

    private List<Map.Entry<DicomJson, List<DicomJson>>> listEach(List<DicomJson> seriesList) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(pacs.parallel(), daemon("dicomweb-list"));
        try {
            List<Map.Entry<DicomJson, Future<List<DicomJson>>>> pending = new ArrayList<>();
            for (DicomJson s : seriesList) {
                String study = s.string(DicomJson.STUDY_UID);
                String series = s.string(DicomJson.SERIES_UID);
                if (study != null && series != null) {
                    pending.add(Map.entry(
                            s, pool.submit(() -> stop.get() ? List.of() : pacs.searchInstances(study, series))));
                }
            }
            List<Map.Entry<DicomJson, List<DicomJson>>> out = new ArrayList<>(pending.size());
            for (Map.Entry<DicomJson, Future<List<DicomJson>>> e : pending) {
                out.add(Map.entry(e.getKey(), get(e.getValue())));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Retrieves a chunk's instances, {@link DicomWebClient#parallel()} at a time. */
    private Chunk fetch(List<Unit> units, Path spool, int index, ExecutorService fetchers) throws IOException {
        Path dir = Files.createDirectory(spool.resolve("chunk-" + index));
        Files.createDirectory(dir.resolve("flat"));
        List<Future<Object>> futures = new ArrayList<>();
        List<Ref> order = new ArrayList<>();
        for (Unit u : units) {
            Path folder = u.volume()
                    ? Files.createDirectories(dir.resolve("vol").resolve(u.seriesKey()))
                    : dir.resolve("flat");
            for (Ref r : u.refs()) {
                order.add(r);
                futures.add(fetchers.submit(() -> fetchOne(r, folder)));
            }
        }
        Map<String, Fetched> fetched = new LinkedHashMap<>();
        List<ScanReport.Skipped> failed = new ArrayList<>();
        List<String> tooLarge = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < futures.size(); i++) {
            Object o;
            try {
                o = get(futures.get(i));
            } catch (org.medsearch.dicomweb.DicomWebException e) {
                if (e.kind() == org.medsearch.dicomweb.DicomWebException.Kind.NO_SUCH_INSTANCE
                        || e.kind() == org.medsearch.dicomweb.DicomWebException.Kind.TOO_LARGE) {
                    Ref r = order.get(i);
                    String key = keys.key("sop:" + r.instance());
                    boolean gone = e.kind() == org.medsearch.dicomweb.DicomWebException.Kind.NO_SUCH_INSTANCE;
                    if (!gone) {
                        tooLarge.add(key);
                    }
                    failed.add(new ScanReport.Skipped(
                            r.describe(key, false),
                            gone ? "deleted from the PACS since it was listed" : e.getMessage()));
                    continue;
                }
                futures.forEach(f -> f.cancel(true));
                FileUtil.deleteTree(dir);
                throw e;
            }
            if (o instanceof Fetched f) {
                fetched.put(f.key(), f);
                bytes += Files.size(f.file());
            } else if (o instanceof ScanReport.Skipped s) {
                failed.add(s);
            }
        }
        return new Chunk(dir, units, fetched, failed, tooLarge, bytes);
    }

    private Object fetchOne(Ref r, Path folder) throws IOException {
        if (stop.get()) {
            return null;
        }
        String key = keys.key("sop:" + r.instance());
        byte[] bytes = pacs.retrieve(r.study(), r.series(), r.instance());
        Identifiers ids = null;
        try {
            ids = DicomFile.parse(bytes, backend.readers().limits()).identifiers();
        } catch (ImageFormatException e) {
            // the reader will name the problem when it decodes; the identifiers are only for grouping
        }
        Path file = folder.resolve(key + ".dcm");
        Files.write(file, bytes);
        return new Fetched(r, key, file, Hashing.sha256Hex(bytes), ids);
    }

    /** Turns a retrieved chunk into samples and embeds them; returns the images added. */
    private int embed(
            Chunk chunk,
            VectorStore store,
            Options opts,
            Map<String, String> existing,
            Ledger ledger,
            List<ScanReport.Skipped> skipped)
            throws IOException {
        String source = pacs.location().toString();
        List<Sample> samples = new ArrayList<>();
        Map<String, String> storedKey = new HashMap<>();
        Map<String, Map<String, String>> uids = new HashMap<>();
        Map<String, Fetched> bySample = new HashMap<>();
        for (Unit u : chunk.units()) {
            List<Fetched> files = u.refs().stream()
                    .map(r -> chunk.fetched().get(keys.key("sop:" + r.instance())))
                    .filter(java.util.Objects::nonNull)
                    .toList();
            if (u.volume()) {
                List<Sample> slices = volumeSamples(u, files, chunk.dir(), opts, ledger);
                if (slices != null) {
                    Set<String> fresh = new java.util.HashSet<>();
                    for (Sample s : slices) {
                        String k = source + "/series/" + u.seriesKey() + "#" + s.slice();
                        storedKey.put(s.relativePath(), k);
                        fresh.add(k);
                        if (opts.linkBack()) {
                            Ref r = u.refs().get(0);
                            uids.put(s.relativePath(), Map.of(STUDY_UID, r.study(), SERIES_UID, r.series()));
                        }
                    }
                    // a series that grew: its old slices give way to the new ones
                    String prefix = source + "/series/" + u.seriesKey() + "#";
                    for (String old : List.copyOf(existing.keySet())) {
                        if (old.startsWith(prefix) && !fresh.contains(old)) {
                            store.deleteByPath(old);
                            existing.remove(old);
                        }
                    }
                    samples.addAll(slices);
                    continue;
                }
                // not one volume: each instance on its own (the files move to the flat folder)
                List<Fetched> moved = new ArrayList<>();
                for (Fetched f : files) {
                    Path to = chunk.dir().resolve("flat").resolve(f.file().getFileName());
                    Files.move(f.file(), to);
                    moved.add(new Fetched(f.ref(), f.key(), to, f.sha256(), f.ids()));
                }
                files = moved;
            }
            for (Fetched f : files) {
                String rel = f.key() + ".dcm";
                samples.add(new Sample(
                        rel,
                        f.file(),
                        null,
                        f.ids() == null ? null : f.ids().patientId(),
                        f.ref().modality(),
                        f.sha256(),
                        f.ids() == null ? null : f.ids().studyInstanceUid(),
                        null));
                storedKey.put(rel, source + "/instances/" + f.key());
                bySample.put(rel, f);
                if (opts.linkBack()) {
                    uids.put(
                            rel,
                            Map.of(
                                    STUDY_UID,
                                    f.ref().study(),
                                    SERIES_UID,
                                    f.ref().series(),
                                    INSTANCE_UID,
                                    f.ref().instance()));
                }
            }
        }
        if (samples.isEmpty()) {
            return 0;
        }
        IndexingJob job = new IndexingJob(backend, backend.readers(), Progress.NONE, log)
                .optPatientKeys(keys)
                .optKeys(s -> storedKey.get(s.relativePath()))
                .optExtraMetadata(s -> uids.getOrDefault(s.relativePath(), Map.of()));
        if (decodeWorkers != null) {
            job.optWorkers(decodeWorkers);
        }
        Dataset ds = new Dataset(chunk.dir(), samples, new ScanReport(samples.size(), Map.of(), List.of()));
        IndexingJob.Report r = job.index(
                ds, store, new IndexingJob.Options(null, null, false, opts.batchSize(), opts.commitEvery()), existing);
        for (ScanReport.Skipped s : r.skipped()) {
            Fetched f = bySample.get(s.relativePath());
            if (f != null) {
                ledger.fail(f.key(), s.reason());
                skipped.add(new ScanReport.Skipped(f.ref().describe(f.key(), opts.linkBack()), s.reason()));
            } else {
                skipped.add(s);
            }
        }
        return r.added() + r.updated();
    }

    /** A volume series' slices, or null when its instances are not one volume (then remembered). */
    private List<Sample> volumeSamples(Unit u, List<Fetched> files, Path chunkDir, Options opts, Ledger ledger) {
        if (files.size() < 3) {
            return null;
        }
        Path folder = chunkDir.resolve("vol").resolve(u.seriesKey());
        Volume v;
        try {
            v = Volumes.read(folder, backend.readers().limits()).toCanonical();
        } catch (ImageFormatException | RuntimeException e) {
            log.accept("  series #" + u.refs().get(0).seriesNumber() + " ("
                    + u.refs().get(0).modality()
                    + ", " + files.size() + " instances) is not one volume (" + e.getMessage()
                    + "): its instances are indexed one by one");
            ledger.notVolume(u.seriesKey(), String.valueOf(e.getMessage()));
            return null;
        }
        int n = v.dim(opts.plane().axis());
        int[] range = SliceSelector.range(n / 2, opts.slices(), n);
        Identifiers ids = files.stream()
                .map(Fetched::ids)
                .filter(java.util.Objects::nonNull)
                .findFirst()
                .orElse(null);
        List<Sample> out = new ArrayList<>();
        for (int i = range[0]; i <= range[1]; i++) {
            Sample.SliceRef ref = new Sample.SliceRef(opts.plane().label(), i);
            out.add(new Sample(
                    u.seriesKey() + "#" + ref,
                    folder,
                    null,
                    ids == null ? null : ids.patientId(),
                    u.refs().get(0).modality(),
                    u.setHash() + "#" + ref,
                    ids == null ? null : ids.studyInstanceUid(),
                    ref));
        }
        return out;
    }

    private static List<List<Unit>> chunks(List<Unit> units, int size) {
        List<List<Unit>> out = new ArrayList<>();
        List<Unit> cur = new ArrayList<>();
        int n = 0;
        for (Unit u : units) {
            if (n > 0 && n + u.refs().size() > size) {
                out.add(cur);
                cur = new ArrayList<>();
                n = 0;
            }
            cur.add(u);
            n += u.refs().size();
        }
        if (!cur.isEmpty()) {
            out.add(cur);
        }
        return out;
    }

    /** The hash of a series' instance set: it changes when the series gains or loses an instance. */
    private String setHash(List<Ref> refs) {
        return Hashing.sha256Hex(String.join(
                ",",
                refs.stream().map(r -> keys.key("sop:" + r.instance())).sorted().toList()));
    }

    /**
     * SOP classes that never hold an image: structured reports and key objects (…88.*), presentation
     * states (…11.*), encapsulated documents (…104.*), raw data (…66), waveforms (…9.*) and RT
     * structure sets, plans and doses other than RT images (…481.2 and up).
     */
    static boolean notAnImage(String sopClass) {
        if (sopClass == null) {
            return false;
        }
        String storage = "1.2.840.10008.5.1.4.1.1.";
        if (!sopClass.startsWith(storage)) {
            return false;
        }
        String rest = sopClass.substring(storage.length());
        return rest.startsWith("88.")
                || rest.startsWith("11.")
                || rest.startsWith("104.")
                || rest.equals("66")
                || rest.startsWith("9.")
                || (rest.startsWith("481.") && !rest.equals("481.1"));
    }

    /** A stored slice's content hash is "SETHASH#plane/i": the set hash. */
    private static String seriesHash(String contentHash) {
        int hash = contentHash == null ? -1 : contentHash.indexOf('#');
        return hash < 0 ? contentHash : contentHash.substring(0, hash);
    }

    private static String cut(String keyAndSlice) {
        int hash = keyAndSlice.indexOf('#');
        return hash < 0 ? keyAndSlice : keyAndSlice.substring(0, hash);
    }

    private static <T> T get(Future<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MedsearchException("interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(c);
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * The private folder retrieved instances wait in: they hold patient data, so only this user may
     * read it, and folders a killed process left behind are removed at the next start.
     */
    static final class Spool {
        private Spool() {}

        static Path create() throws IOException {
            Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
            removeStale(tmp);
            String prefix = "medsearch-dicomweb-" + ProcessHandle.current().pid() + "-";
            try {
                return Files.createTempDirectory(
                        tmp,
                        prefix,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (UnsupportedOperationException e) {
                return Files.createTempDirectory(tmp, prefix);
            }
        }

        private static void removeStale(Path tmp) {
            try (var dirs = Files.newDirectoryStream(tmp, "medsearch-dicomweb-*")) {
                for (Path d : dirs) {
                    String[] parts = d.getFileName().toString().split("-");
                    if (parts.length < 4) {
                        continue;
                    }
                    try {
                        long pid = Long.parseLong(parts[2]);
                        if (ProcessHandle.of(pid).isEmpty()) {
                            FileUtil.deleteTree(d);
                        }
                    } catch (NumberFormatException | IOException e) {
                        // not ours, or not removable: leave it
                    }
                }
            } catch (IOException e) {
                // an unreadable temp folder: nothing to clean
            }
        }
    }

    /**
     * What earlier passes learnt that the index does not hold: instances that gave no image (with
     * why), and series that are not one volume. A lost ledger only costs one more retrieval of each.
     */
    static final class Ledger {
        private final Path file;
        private final Map<String, String> failed = new TreeMap<>();
        private final Map<String, String> notVolumes = new TreeMap<>();
        private boolean dirty;

        private Ledger(Path file) {
            this.file = file;
        }

        @SuppressWarnings("unchecked")
        static Ledger load(Path file) throws IOException {
            Ledger l = new Ledger(file);
            if (file != null && Files.isRegularFile(file)) {
                try {
                    Map<String, Object> m = org.medsearch.util.Json.MAPPER.readValue(file.toFile(), Map.class);
                    l.failed.putAll((Map<String, String>) m.getOrDefault("failed", Map.of()));
                    l.notVolumes.putAll((Map<String, String>) m.getOrDefault("notVolumes", Map.of()));
                } catch (IOException | ClassCastException e) {
                    // a damaged ledger is only a cache: start afresh
                }
            }
            return l;
        }

        String failure(String key) {
            return failed.get(key);
        }

        void fail(String key, String reason) {
            failed.put(key, reason);
            dirty = true;
        }

        boolean notVolume(String seriesKey) {
            return notVolumes.containsKey(seriesKey);
        }

        void notVolume(String seriesKey, String reason) {
            notVolumes.put(seriesKey, reason);
            dirty = true;
        }

        void save() throws IOException {
            if (file == null || !dirty) {
                return;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("failed", failed);
            m.put("notVolumes", notVolumes);
            Files.createDirectories(file.toAbsolutePath().getParent());
            FileUtil.writeAtomically(file, org.medsearch.util.Json.MAPPER.writeValueAsBytes(m));
            dirty = false;
        }
    }
}

package org.medsearch.dataset;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.medsearch.dicom.DicomFile;
import org.medsearch.dicom.Identifiers;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.util.Hashing;
import org.medsearch.util.Progress;
import org.medsearch.volume.NiftiReader;
import org.medsearch.volume.Plane;
import org.medsearch.volume.SliceSelector;
import org.medsearch.volume.Volume;
import org.medsearch.volume.Volumes;

/**
 * Finds the images of a data set and checks each one once: it reads the bytes, hashes them, and
 * (by default) decodes them, so that training never meets a broken file half-way through an epoch.
 *
 * <p>Two layouts are accepted:
 * <ul>
 *   <li>a folder with one sub-folder per class (the ImageFolder layout); files directly in the root
 *       of such a folder are skipped; a folder with no sub-folders at all is an unlabelled set;</li>
 *   <li>a CSV manifest {@code path,label[,patient_id,modality[,mask]]} (a header row is optional;
 *       paths are relative to the manifest's folder or absolute; an empty label means unlabelled; a
 *       mask, for a volume, picks its slices).</li>
 * </ul>
 *
 * <p>Images are 2D files (PNG, JPEG, BMP, GIF, TIFF, PGM/PPM/PBM/PAM, WebP, DICOM) or slices of
 * volumes: a NIfTI file becomes {@link #optVolumeSlices} images. A DICOM file's PatientID and
 * StudyInstanceUID (in memory only) and its Modality fill the sample's fields the manifest leaves
 * empty.
 *
 * <p>Contract: unusable files (empty, truncated, not an image, unreadable, symlink loops) are skipped
 * and listed in the {@link ScanReport} with their reason; they never abort the scan. A class whose
 * folder or manifest rows yield no usable image is a {@link DatasetException} naming it. Hidden files
 * (names starting with '.') are ignored silently.
 *
 * <pre>{@code
 * Dataset ds = new DatasetScanner(ImageReaders.standard())
 *         .optProgress(ConsoleProgress.stderr())
 *         .scan(Path.of("MedNIST"));
 * System.out.println(ds.report().summary(10));
 * }</pre>
 */
public final class DatasetScanner {

    private final ImageReaders readers;
    private boolean decode = true;
    private int threads = Runtime.getRuntime().availableProcessors();
    private Progress progress = Progress.NONE;
    private int limitPerClass;
    private long limitSeed;
    private int volumeSlices = SliceSelector.DEFAULT_COUNT;
    private Plane volumePlane = Plane.AXIAL;

    public DatasetScanner(ImageReaders readers) {
        this.readers = readers;
    }

    /** Whether to decode every image (default true); false only hashes, for a quick look. */
    public DatasetScanner optDecode(boolean decodeImages) {
        this.decode = decodeImages;
        return this;
    }

    public DatasetScanner optThreads(int n) {
        this.threads = Math.max(1, n);
        return this;
    }

    public DatasetScanner optProgress(Progress p) {
        this.progress = p;
        return this;
    }

    /**
     * How volume files (NIfTI) become images: {@code count} slices along {@code plane} around the
     * middle slice, or around the largest slice of the volume's mask when the manifest names one
     * (default: 5 axial slices, as the paper).
     */
    public DatasetScanner optVolumeSlices(int count, Plane plane) {
        if (count < 1) {
            throw new IllegalArgumentException("slices per volume must be at least 1");
        }
        this.volumeSlices = count;
        this.volumePlane = plane;
        return this;
    }

    /** Keeps at most {@code n} files per class (a seeded random sample), for quick runs; 0 keeps all. */
    public DatasetScanner optLimitPerClass(int n, long seed) {
        this.limitPerClass = Math.max(0, n);
        this.limitSeed = seed;
        return this;
    }

    /** One file to check, before it is read. */
    private record Candidate(
            String relativePath, Path path, String label, String patientId, String modality, Path mask) {}

    private record Outcome(List<Sample> samples, ScanReport.Skipped skipped) {}

    /** Scans a class-per-folder directory or a CSV manifest. */
    public Dataset scan(Path source) throws IOException {
        if (!Files.exists(source)) {
            throw new DatasetException("data set not found: " + source);
        }
        List<Candidate> candidates = new ArrayList<>();
        List<ScanReport.Skipped> skipped = new ArrayList<>();
        Set<String> declaredClasses = new HashSet<>();
        Path root;
        if (Files.isDirectory(source)) {
            root = source;
            listFolder(source, candidates, skipped, declaredClasses);
        } else {
            root = source.toAbsolutePath().getParent();
            readManifest(source, candidates, skipped, declaredClasses);
        }
        if (limitPerClass > 0) {
            candidates = sample(candidates);
        }
        List<Outcome> outcomes = check(candidates);
        List<Sample> samples = new ArrayList<>();
        for (Outcome o : outcomes) {
            if (o.samples != null) {
                samples.addAll(o.samples);
            } else {
                skipped.add(o.skipped);
            }
        }
        skipped.sort((a, b) -> a.relativePath().compareTo(b.relativePath()));
        Map<String, Integer> perClass = Dataset.countLabels(samples);
        for (String c : new java.util.TreeSet<>(declaredClasses)) {
            if (!perClass.containsKey(c)) {
                long bad = skipped.stream()
                        .filter(s -> s.relativePath().startsWith(c + "/"))
                        .count();
                throw new DatasetException("class '" + c + "' has no usable image (" + bad + " files skipped"
                        + (bad > 0 ? ", e.g. " + firstSkipped(skipped, c) : "") + ")");
            }
        }
        if (samples.isEmpty()) {
            throw new DatasetException("no usable image in " + source
                    + (skipped.isEmpty() ? "" : " (" + skipped.size() + " files skipped)"));
        }
        return new Dataset(
                root,
                samples,
                new ScanReport(samples.size(), perClass, List.copyOf(skipped), ScanReport.labelConflicts(samples)));
    }

    private List<Candidate> sample(List<Candidate> all) {
        Map<String, List<Candidate>> byClass = new TreeMap<>();
        for (Candidate c : all) {
            byClass.computeIfAbsent(String.valueOf(c.label), k -> new ArrayList<>())
                    .add(c);
        }
        List<Candidate> out = new ArrayList<>();
        for (Map.Entry<String, List<Candidate>> e : byClass.entrySet()) {
            List<Candidate> l = e.getValue();
            l.sort((a, b) -> a.relativePath.compareTo(b.relativePath));
            java.util.Collections.shuffle(
                    l, new java.util.Random(limitSeed * 31 + e.getKey().hashCode()));
            out.addAll(l.subList(0, Math.min(limitPerClass, l.size())));
        }
        return out;
    }

    private static String firstSkipped(List<ScanReport.Skipped> skipped, String c) {
        for (ScanReport.Skipped s : skipped) {
            if (s.relativePath().startsWith(c + "/")) {
                return s.relativePath() + ": " + s.reason();
            }
        }
        return "";
    }

    private void listFolder(Path root, List<Candidate> out, List<ScanReport.Skipped> skipped, Set<String> classes)
            throws IOException {
        boolean hasClassFolders;
        try (var s = Files.list(root)) {
            hasClassFolders = s.anyMatch(p -> Files.isDirectory(p) && !hidden(p));
        }
        Files.walkFileTree(
                root, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                        if (!dir.equals(root) && hidden(dir)) {
                            return FileVisitResult.SKIP_SUBTREE;
                        }
                        if (dir.getParent() != null && dir.getParent().equals(root)) {
                            classes.add(dir.getFileName().toString());
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                        if (hidden(file) || !attrs.isRegularFile()) {
                            return FileVisitResult.CONTINUE;
                        }
                        String rel = relative(root, file);
                        int slash = rel.indexOf('/');
                        if (slash < 0) {
                            if (hasClassFolders) {
                                skipped.add(new ScanReport.Skipped(rel, "not inside a class folder"));
                            } else {
                                out.add(new Candidate(rel, file, null, null, null, null));
                            }
                        } else {
                            out.add(new Candidate(rel, file, rel.substring(0, slash), null, null, null));
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path file, IOException e) {
                        String why = e instanceof FileSystemLoopException
                                ? "symbolic link loop"
                                : e instanceof java.nio.file.AccessDeniedException
                                        ? "permission denied"
                                        : "cannot read: " + e.getMessage();
                        skipped.add(new ScanReport.Skipped(relative(root, file), why));
                        return FileVisitResult.CONTINUE;
                    }
                });
    }

    private static boolean hidden(Path p) {
        Path name = p.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    private static String relative(Path root, Path file) {
        return root.relativize(file).toString().replace('\\', '/');
    }

    private void readManifest(Path manifest, List<Candidate> out, List<ScanReport.Skipped> skipped, Set<String> classes)
            throws IOException {
        Path base = manifest.toAbsolutePath().getParent();
        Set<String> seen = new HashSet<>();
        try (Reader r = Files.newBufferedReader(manifest, StandardCharsets.UTF_8);
                CSVParser parser = CSVFormat.DEFAULT
                        .builder()
                        .setIgnoreEmptyLines(true)
                        .setTrim(true)
                        .get()
                        .parse(r)) {
            boolean first = true;
            for (CSVRecord rec : parser) {
                if (first) {
                    first = false;
                    if (rec.size() > 0 && rec.get(0).equalsIgnoreCase("path")) {
                        continue;
                    }
                }
                if (rec.size() < 2 || rec.get(0).isEmpty()) {
                    throw new DatasetException(manifest + " line " + rec.getRecordNumber()
                            + ": expected path,label[,patient_id,modality[,mask]]");
                }
                String p = rec.get(0);
                String label = emptyToNull(rec.get(1));
                String patient = rec.size() > 2 ? emptyToNull(rec.get(2)) : null;
                String modality = rec.size() > 3 ? emptyToNull(rec.get(3)) : null;
                String maskPath = rec.size() > 4 ? emptyToNull(rec.get(4)) : null;
                Path mask = maskPath == null ? null : base.resolve(maskPath).normalize();
                Path file = base.resolve(p).normalize();
                String rel = Path.of(p).isAbsolute()
                        ? file.toString()
                        : base.relativize(file).toString().replace('\\', '/');
                if (!seen.add(rel)) {
                    skipped.add(new ScanReport.Skipped(rel, "listed twice in the manifest"));
                    continue;
                }
                if (label != null) {
                    classes.add(label);
                }
                out.add(new Candidate(rel, file, label, patient, modality, mask));
            }
        } catch (java.io.UncheckedIOException | IllegalStateException e) {
            throw new DatasetException(manifest + ": not a readable CSV manifest (" + e.getMessage() + ")");
        }
    }

    private static String emptyToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private List<Outcome> check(List<Candidate> candidates) throws IOException {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try (Progress.Task task = progress.start("Scanning", candidates.size(), "files")) {
            return pool.submit(() -> candidates.parallelStream()
                            .map(c -> {
                                Outcome o = check(c);
                                task.step(1);
                                return o;
                            })
                            .toList())
                    .get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("scan interrupted");
        } catch (ExecutionException e) {
            throw new IOException("scan failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdown();
        }
    }

    private Outcome check(Candidate c) {
        try {
            byte[] bytes = ImageReaders.readBytes(c.path, readers.limits());
            if (bytes.length == 0) {
                return skip(c, "empty file");
            }
            byte[] head = java.util.Arrays.copyOf(bytes, Math.min(1024, bytes.length));
            String hash = Hashing.sha256Hex(bytes);
            if (NiftiReader.looksLikeNifti(head)) {
                return volume(c, bytes, hash);
            }
            if (decode) {
                readers.read(bytes);
            } else if (readers.readerFor(head) == null) {
                return skip(c, "not an image medsearch can read");
            }
            String patient = c.patientId;
            String modality = c.modality;
            String study = null;
            if (DicomFile.looksLikeDicom(head)) {
                // identifiers group the split (and are keyed, never stored, by the index)
                DicomFile d = DicomFile.parse(bytes, readers.limits());
                Identifiers ids = d.identifiers();
                patient = patient != null ? patient : ids.patientId();
                study = ids.studyInstanceUid();
                modality = modality != null ? modality : d.technicalMetadata().get("modality");
            }
            return new Outcome(
                    List.of(new Sample(c.relativePath, c.path, c.label, patient, modality, hash, study, null)), null);
        } catch (ImageFormatException e) {
            return skip(c, e.getMessage());
        } catch (IllegalArgumentException e) {
            return skip(c, e.getMessage());
        } catch (RuntimeException | OutOfMemoryError e) {
            // a decoder bug must not end a scan of 50,000 files; the file is reported like any other
            return skip(c, "cannot decode (" + e + ")");
        }
    }

    private static Outcome skip(Candidate c, String why) {
        return new Outcome(null, new ScanReport.Skipped(c.relativePath, why));
    }

    /** A volume becomes the paper's slices: the centre (middle, or largest mask slice) and its neighbours. */
    private Outcome volume(Candidate c, byte[] bytes, String hash) throws ImageFormatException {
        Path name = c.path.getFileName();
        Volume v = NiftiReader.read(bytes, name == null ? "volume" : name.toString(), readers.limits())
                .toCanonical();
        int n = v.dim(volumePlane.axis());
        int center = n / 2;
        if (c.mask != null) {
            center = SliceSelector.largestMaskSlice(
                    Volumes.read(c.mask, readers.limits()).toCanonical(), volumePlane);
        }
        int[] range = SliceSelector.range(center, volumeSlices, n);
        List<Sample> out = new java.util.ArrayList<>();
        for (int i = range[0]; i <= range[1]; i++) {
            Sample.SliceRef ref = new Sample.SliceRef(volumePlane.label(), i);
            out.add(new Sample(
                    c.relativePath + "#" + ref,
                    c.path,
                    c.label,
                    c.patientId,
                    c.modality,
                    Hashing.sha256Hex(hash + "#" + ref),
                    null,
                    ref));
        }
        return new Outcome(out, null);
    }
}

package org.medsearch.dataset;

import java.nio.file.Path;
import java.util.List;
import org.medsearch.image.BatchLoader;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.volume.IntensityWindow;
import org.medsearch.volume.Plane;
import org.medsearch.volume.SliceSelector;
import org.medsearch.volume.Volume;
import org.medsearch.volume.Volumes;

/**
 * Turns a {@link Sample} into pixels: a 2D file through the readers, a volume slice by cutting it
 * from its volume. A thread keeps the last volume it read, so the slices of one volume, which come
 * one after another, read the file once.
 *
 * <pre>{@code
 * MedicalImage img = SampleLoader.load(sample, readers);
 * BatchLoader loader = new BatchLoader(readers, prep, SampleLoader.sources(samples), 32, 2);
 * }</pre>
 */
public final class SampleLoader {
    private SampleLoader() {}

    private record Cached(Path path, Volume canonical, IntensityWindow window) {}

    private static final ThreadLocal<Cached> LAST = new ThreadLocal<>();

    public static MedicalImage load(Sample s, ImageReaders readers) throws ImageFormatException {
        if (s.slice() == null) {
            return readers.read(s.path());
        }
        Cached c = LAST.get();
        if (c == null || !c.path().equals(s.path())) {
            Volume v = Volumes.read(s.path(), readers.limits()).toCanonical();
            c = new Cached(s.path(), v, IntensityWindow.of(v));
            LAST.set(c);
        }
        Plane plane = Plane.parse(s.slice().plane());
        int n = c.canonical().dim(plane.axis());
        if (s.slice().index() < 0 || s.slice().index() >= n) {
            throw new ImageFormatException("the volume has no " + s.slice() + " slice (it has " + n + ")");
        }
        return SliceSelector.selectCanonical(
                        c.canonical(), c.window(), plane, s.slice().index(), 1)
                .get(0);
    }

    private static final java.util.regex.Pattern SLICE_REF =
            java.util.regex.Pattern.compile("^(.*)#(axial|coronal|sagittal)/(\\d+)$");

    /**
     * What the index stores as an image's source: the absolute, normalised path, plus
     * {@code #plane/index} for a volume slice (e.g. {@code /data/ct/case7.nii.gz#axial/045}).
     */
    public static String reference(Sample s) {
        String p = s.path().toAbsolutePath().normalize().toString();
        return s.slice() == null ? p : p + "#" + s.slice();
    }

    /** Loads an image from a stored {@link #reference}. */
    public static MedicalImage load(String reference, ImageReaders readers) throws ImageFormatException {
        java.util.regex.Matcher m = SLICE_REF.matcher(reference);
        if (m.matches() && java.nio.file.Files.exists(Path.of(m.group(1)))) {
            Path p = Path.of(m.group(1));
            return load(
                    new Sample(
                            reference,
                            p,
                            null,
                            null,
                            null,
                            "",
                            null,
                            new Sample.SliceRef(m.group(2), Integer.parseInt(m.group(3)))),
                    readers);
        }
        return readers.read(Path.of(reference));
    }

    /** Batch-loader sources for samples, in order. */
    public static List<BatchLoader.Source> sources(List<Sample> samples) {
        return samples.stream()
                .<BatchLoader.Source>map(s -> readers -> load(s, readers))
                .toList();
    }
}

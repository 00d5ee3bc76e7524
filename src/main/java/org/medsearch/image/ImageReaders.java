package org.medsearch.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The set of readers medsearch knows, tried in order by content. This is the one entry point for
 * "turn a file into pixels"; training, indexing, search and the server all go through it, so a new
 * format added here is available everywhere.
 *
 * <pre>{@code
 * ImageReaders readers = ImageReaders.standard();
 * MedicalImage img = readers.read(Path.of("case42.jpg"));
 * ImageReaders custom = ImageReaders.standard().with(new MyFormatReader());
 * }</pre>
 */
public final class ImageReaders {

    private final List<ImageReader> readers;
    private final ReadLimits limits;

    private ImageReaders(List<ImageReader> readers, ReadLimits limits) {
        this.readers = List.copyOf(readers);
        this.limits = limits;
    }

    /** Readers found through {@link ServiceLoader} ({@code META-INF/services}), in their declared order. */
    private static final List<ImageReader> INSTALLED =
            ServiceLoader.load(ImageReader.class, ImageReaders.class.getClassLoader()).stream()
                    .map(ServiceLoader.Provider::get)
                    .toList();

    /**
     * Every installed reader (PNG/JPEG/BMP/GIF/TIFF/PNM/WebP, DICOM, NIfTI: see
     * {@code META-INF/services/org.medsearch.image.ImageReader}) with {@link ReadLimits#DEFAULT}.
     * A new format plugs in by adding its reader to that file; no code here changes.
     */
    public static ImageReaders standard() {
        return new ImageReaders(INSTALLED, ReadLimits.DEFAULT);
    }

    /** A copy that also tries {@code reader}, after the existing ones. */
    public ImageReaders with(ImageReader reader) {
        List<ImageReader> l = new ArrayList<>(readers);
        l.add(reader);
        return new ImageReaders(l, limits);
    }

    /** A copy with every reader passed through {@code f} (to configure one, e.g. a DICOM window). */
    public ImageReaders map(java.util.function.UnaryOperator<ImageReader> f) {
        return new ImageReaders(readers.stream().map(f).toList(), limits);
    }

    /** A copy with other limits. */
    public ImageReaders withLimits(ReadLimits newLimits) {
        return new ImageReaders(readers, newLimits);
    }

    public ReadLimits limits() {
        return limits;
    }

    /** The reader for these leading bytes, or null. */
    public ImageReader readerFor(byte[] head) {
        for (ImageReader r : readers) {
            if (r.canRead(head)) {
                return r;
            }
        }
        return null;
    }

    /** Reads and decodes a file; every failure is an {@link ImageFormatException} with a plain message. */
    public MedicalImage read(Path file) throws ImageFormatException {
        return read(readBytes(file, limits));
    }

    /** Decodes bytes already in memory (an upload, say). */
    public MedicalImage read(byte[] bytes) throws ImageFormatException {
        limits.checkFileSize(bytes.length);
        ImageReader r = readerFor(Arrays.copyOf(bytes, Math.min(bytes.length, 512)));
        if (r == null) {
            throw new ImageFormatException("not an image medsearch can read (" + describe(bytes) + ")");
        }
        return r.read(bytes, limits);
    }

    /**
     * Reads a whole file, refusing one larger than {@code limits} and turning file-system errors
     * into one-line messages.
     */
    public static byte[] readBytes(Path file, ReadLimits limits) throws ImageFormatException {
        try {
            if (Files.isDirectory(file)) {
                throw new ImageFormatException("is a directory");
            }
            long size = Files.size(file);
            if (size > 0) {
                limits.checkFileSize(size); // empty files pass: callers such as DicomSeries skip them
            }
            try (InputStream in = Files.newInputStream(file)) {
                // read at most limit + 1 bytes: the file may grow between size() and here
                byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 16, limits.maxFileBytes() + 1));
                if (b.length > limits.maxFileBytes()) {
                    throw new ImageFormatException("file exceeds the limit of " + limits.maxFileBytes() + " bytes");
                }
                return b;
            }
        } catch (NoSuchFileException e) {
            throw new ImageFormatException("no such file");
        } catch (AccessDeniedException e) {
            throw new ImageFormatException("permission denied");
        } catch (ImageFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new ImageFormatException("cannot read: " + e.getMessage(), e);
        }
    }

    private static String describe(byte[] b) {
        int n = Math.min(b.length, 512);
        int printable = 0;
        for (int i = 0; i < n; i++) {
            int c = b[i] & 0xff;
            if (c == 9 || c == 10 || c == 13 || (c >= 32 && c < 127)) {
                printable++;
            }
        }
        if (printable == n) {
            return "looks like text";
        }
        return "unrecognised content, " + b.length + " bytes";
    }
}

package org.medsearch.image;

/**
 * Decodes one image format. Readers are chosen by content ({@link #canRead}), never by file
 * extension, and are stateless and thread-safe.
 *
 * <p>Contract: {@link #read} either returns an image whose pixels lie in [0, 1] or throws
 * {@link ImageFormatException}; it never returns garbage pixels for a file it half understood, and
 * it bounds its allocations by {@link ReadLimits} and by the real size of the input.
 *
 * <pre>{@code
 * ImageReader png = new RasterImageReader();
 * if (png.canRead(bytes)) {
 *     MedicalImage img = png.read(bytes, ReadLimits.DEFAULT);
 * }
 * }</pre>
 */
public interface ImageReader {

    /** A short name for messages and metadata, e.g. {@code "png"} or {@code "dicom"}. */
    String name();

    /** Whether the leading bytes (at least the first 132 when the file has them) look like this format. */
    boolean canRead(byte[] head);

    /** Decodes the whole file. */
    MedicalImage read(byte[] bytes, ReadLimits limits) throws ImageFormatException;
}

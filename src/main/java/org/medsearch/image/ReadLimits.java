package org.medsearch.image;

/**
 * Bounds on what a reader may accept, against decompression bombs and hostile headers.
 *
 * <pre>{@code
 * ReadLimits strict = ReadLimits.DEFAULT.withMaxPixels(4096L * 4096);
 * }</pre>
 *
 * @param maxFileBytes the largest file read into memory
 * @param maxPixels the largest decoded raster (width x height x frames)
 */
public record ReadLimits(long maxFileBytes, long maxPixels) {

    /** 1 GiB files, 256 megapixels: more than any single medical image, less than a bomb. */
    public static final ReadLimits DEFAULT = new ReadLimits(1L << 30, 256L * 1024 * 1024);

    public ReadLimits {
        if (maxFileBytes < 1 || maxPixels < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    public ReadLimits withMaxPixels(long pixels) {
        return new ReadLimits(maxFileBytes, pixels);
    }

    public ReadLimits withMaxFileBytes(long bytes) {
        return new ReadLimits(bytes, maxPixels);
    }

    /** Throws for an empty file or one larger than {@link #maxFileBytes()}; every reader words it alike. */
    public void checkFileSize(long size) throws ImageFormatException {
        if (size == 0) {
            throw new ImageFormatException("empty file");
        }
        if (size > maxFileBytes) {
            throw new ImageFormatException("file of " + size + " bytes exceeds the limit of " + maxFileBytes + " bytes");
        }
    }

    /** {@link #maxFileBytes()}, capped where Java arrays end (just below 2^31) whatever the limit says. */
    public long maxInMemoryBytes() {
        return Math.min(maxFileBytes, Integer.MAX_VALUE - 16);
    }

    /** Throws when a declared raster is larger than allowed (or nonsensical). */
    public void checkPixels(long width, long height, long frames) throws ImageFormatException {
        if (width < 1 || height < 1 || frames < 1) {
            throw new ImageFormatException("invalid image size " + width + "x" + height + "x" + frames);
        }
        if (width > maxPixels || height > maxPixels || width * height > maxPixels / frames) {
            throw new ImageFormatException(
                    "image of " + width + "x" + height + (frames > 1 ? "x" + frames : "")
                            + " pixels exceeds the limit of " + maxPixels + " pixels");
        }
    }
}

package org.medsearch.image;

/**
 * Bounds on what a reader may accept, against decompression bombs and hostile headers.
 *
 * <p>Contract for readers: before a reader allocates anything in proportion to what a header
 * declares, it calls {@link #admitDecode} with the declared shape. That refuses a decode whose
 * bytes (width x height x samples x bytes per sample x frames or planes, plus the reader's own
 * working arrays) exceed {@link #maxDecodedBytes()}, and, when a {@link MemoryBudget} is attached,
 * waits until the budget can hold it, so that concurrent decodes share one bound on memory. The
 * reader holds the returned lease until its decode is done.
 *
 * <pre>{@code
 * ReadLimits strict = ReadLimits.DEFAULT.withMaxPixels(4096L * 4096).withMaxDecodedBytes(256L << 20);
 * ReadLimits shared = strict.withBudget(new MemoryBudget(1L << 30, Duration.ofSeconds(10)));
 * try (MemoryBudget.Lease lease = shared.admitDecode(width, height, 3, 16, 1, 4L * width * height)) {
 *     ... decode ...
 * }
 * }</pre>
 *
 * @param maxFileBytes the largest file read into memory
 * @param maxPixels the largest decoded raster (width x height x frames)
 * @param maxDecodedBytes the most memory one decode may take, as {@link #admitDecode} counts it
 * @param budget the memory shared by all decodes that use these limits, or null for none
 */
public record ReadLimits(long maxFileBytes, long maxPixels, long maxDecodedBytes, MemoryBudget budget) {

    /**
     * 1 GiB files, 256 megapixels, 4 GiB per decode, no shared budget: more than any single medical
     * image, less than a bomb. The server sets far tighter limits.
     */
    public static final ReadLimits DEFAULT = new ReadLimits(1L << 30, 256L * 1024 * 1024, 4L << 30, null);

    public ReadLimits {
        if (maxFileBytes < 1 || maxPixels < 1 || maxDecodedBytes < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    /** File and pixel limits with the default decoded-bytes limit and no budget. */
    public ReadLimits(long maxFileBytes, long maxPixels) {
        this(maxFileBytes, maxPixels, DEFAULT.maxDecodedBytes, null);
    }

    public ReadLimits withMaxPixels(long pixels) {
        return new ReadLimits(maxFileBytes, pixels, maxDecodedBytes, budget);
    }

    public ReadLimits withMaxFileBytes(long bytes) {
        return new ReadLimits(bytes, maxPixels, maxDecodedBytes, budget);
    }

    public ReadLimits withMaxDecodedBytes(long bytes) {
        return new ReadLimits(maxFileBytes, maxPixels, bytes, budget);
    }

    /** A copy whose decodes reserve their bytes from {@code shared} (null: none). */
    public ReadLimits withBudget(MemoryBudget shared) {
        return new ReadLimits(maxFileBytes, maxPixels, maxDecodedBytes, shared);
    }

    /** Throws for an empty file or one larger than {@link #maxFileBytes()}; every reader words it alike. */
    public void checkFileSize(long size) throws ImageFormatException {
        if (size == 0) {
            throw new ImageFormatException("empty file");
        }
        if (size > maxFileBytes) {
            throw new ImageFormatException(
                    "file of " + size + " bytes exceeds the limit of " + maxFileBytes + " bytes");
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
            throw new ImageFormatException("image of " + width + "x" + height + (frames > 1 ? "x" + frames : "")
                    + " pixels exceeds the limit of " + maxPixels + " pixels");
        }
    }

    /**
     * The bytes of a decoded raster: {@code width x height x samples x ceil(bitsPerSample / 8) x
     * frames}, saturating at {@link Long#MAX_VALUE} instead of overflowing.
     */
    public static long rasterBytes(long width, long height, long samples, int bitsPerSample, long frames) {
        long bytesPerSample = Math.max(1, (bitsPerSample + 7) / 8);
        long n = 1;
        for (long f : new long[] {width, height, samples, bytesPerSample, frames}) {
            if (f < 0 || (f > 0 && n > Long.MAX_VALUE / f)) {
                return Long.MAX_VALUE;
            }
            n *= f;
        }
        return n;
    }

    /**
     * Checks a declared decode against {@link #maxDecodedBytes()} and reserves its bytes from the
     * budget, waiting for room if others hold it. Call it from the header, before decoding.
     *
     * @param workingBytes what the reader allocates beside the raster (its float output, say)
     * @return the reservation, to close when the decode is done (a no-op without a budget)
     * @throws ImageFormatException when the decode would exceed the limit (the message names the
     *     shape and the limit); {@link DecodeCapacityException} when the budget stays full too long
     */
    public MemoryBudget.Lease admitDecode(
            long width, long height, long samples, int bitsPerSample, long frames, long workingBytes)
            throws ImageFormatException {
        long total = checkDecoded(width, height, samples, bitsPerSample, frames, workingBytes);
        return budget == null ? MemoryBudget.Lease.NONE : budget.acquire(total);
    }

    /**
     * The check of {@link #admitDecode} without the reservation, for a header parsed long before
     * its pixels are decoded.
     *
     * @return the bytes the decode takes, as counted here
     */
    public long checkDecoded(long width, long height, long samples, int bitsPerSample, long frames, long workingBytes)
            throws ImageFormatException {
        long raster = rasterBytes(width, height, samples, bitsPerSample, frames);
        long total = raster > Long.MAX_VALUE - Math.max(0, workingBytes)
                ? Long.MAX_VALUE
                : raster + Math.max(0, workingBytes);
        if (total > maxDecodedBytes) {
            throw new ImageFormatException("decoding this " + width + "x" + height
                    + (frames > 1 ? "x" + frames + " frames" : "") + " image with " + samples + " sample"
                    + (samples == 1 ? "" : "s") + " of " + bitsPerSample + " bits per pixel takes "
                    + mib(total) + ", over the limit of " + mib(maxDecodedBytes));
        }
        return total;
    }

    static String mib(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "more than 8 EiB";
        }
        double m = bytes / (double) (1 << 20);
        return (m >= 10
                        ? String.format(java.util.Locale.ROOT, "%.0f", m)
                        : String.format(java.util.Locale.ROOT, "%.1f", m))
                + " MiB";
    }
}

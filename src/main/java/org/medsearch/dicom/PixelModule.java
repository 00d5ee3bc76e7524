package org.medsearch.dicom;

import java.util.Locale;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ReadLimits;

/**
 * The Image Pixel module of a file, validated: size, sample layout, bit depth and photometric
 * interpretation. Everything that later indexes pixel arrays relies on these checks.
 *
 * @param rows image height, 1 to 65535
 * @param columns image width, 1 to 65535
 * @param samples samples per pixel, 1 or 3
 * @param bitsAllocated 1, 8, 16 or 32
 * @param bitsStored 1 to bitsAllocated
 * @param highBit the bit of the sample's most significant bit, bitsStored - 1 to bitsAllocated - 1
 * @param signed two's complement samples (PixelRepresentation 1)
 * @param planar colour by plane (PlanarConfiguration 1) rather than by pixel, native data only
 * @param photometric one of the supported photometric interpretations
 * @param frames number of frames, at least 1
 */
record PixelModule(
        int rows,
        int columns,
        int samples,
        int bitsAllocated,
        int bitsStored,
        int highBit,
        boolean signed,
        boolean planar,
        String photometric,
        int frames) {

    static PixelModule of(Dataset ds, ReadLimits limits) throws ImageFormatException {
        int rows = required(ds, Tags.ROWS, "Rows");
        int columns = required(ds, Tags.COLUMNS, "Columns");
        int samples = orDefault(ds, Tags.SAMPLES_PER_PIXEL, 1);
        int bitsAllocated = required(ds, Tags.BITS_ALLOCATED, "BitsAllocated");
        int bitsStored = orDefault(ds, Tags.BITS_STORED, bitsAllocated);
        int highBit = orDefault(ds, Tags.HIGH_BIT, bitsStored - 1);
        int representation = orDefault(ds, Tags.PIXEL_REPRESENTATION, 0);
        int planar = orDefault(ds, Tags.PLANAR_CONFIGURATION, 0);
        int frames = orDefault(ds, Tags.NUMBER_OF_FRAMES, 1);
        String pi = ds.string(Tags.PHOTOMETRIC_INTERPRETATION);
        if (pi == null) {
            pi = samples == 3 ? "RGB" : "MONOCHROME2";
        }
        pi = pi.toUpperCase(Locale.ROOT);
        if (rows < 1 || rows > 0xffff || columns < 1 || columns > 0xffff) {
            throw new ImageFormatException("invalid image size " + columns + "x" + rows);
        }
        if (frames < 1) {
            throw new ImageFormatException("invalid NumberOfFrames " + frames);
        }
        if (samples != 1 && samples != 3) {
            throw new ImageFormatException("unsupported SamplesPerPixel " + samples);
        }
        if (bitsAllocated != 1 && bitsAllocated != 8 && bitsAllocated != 16 && bitsAllocated != 32) {
            throw new ImageFormatException("unsupported BitsAllocated " + bitsAllocated);
        }
        if (bitsStored < 1 || bitsStored > bitsAllocated) {
            throw new ImageFormatException("invalid BitsStored " + bitsStored + " for BitsAllocated " + bitsAllocated);
        }
        if (highBit < bitsStored - 1 || highBit >= bitsAllocated) {
            highBit = bitsStored - 1; // a wrong HighBit is common and harmless when the samples sit in the low bits
        }
        if (representation != 0 && representation != 1) {
            throw new ImageFormatException("invalid PixelRepresentation " + representation);
        }
        boolean colour = switch (pi) {
            case "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR" -> false;
            case "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT" -> true;
            default ->
                throw new ImageFormatException("unsupported photometric interpretation " + Text.sanitize(pi, 32));
        };
        if (colour != (samples == 3)) {
            throw new ImageFormatException(pi + " with " + samples + " samples per pixel");
        }
        if (bitsAllocated == 1 && samples != 1) {
            throw new ImageFormatException("1-bit colour images are not supported");
        }
        if (pi.equals("PALETTE COLOR") && bitsStored > 16) {
            throw new ImageFormatException("palette indices of " + bitsStored + " bits");
        }
        limits.checkPixels(columns, rows, frames);
        limits.checkDecoded(columns, rows, samples, bitsAllocated, frames, workingBytes(rows, columns, samples));
        if ((long) rows * columns * samples > Integer.MAX_VALUE - 16) {
            throw new ImageFormatException("frames of " + columns + "x" + rows + " pixels are too large for one array");
        }
        return new PixelModule(
                rows,
                columns,
                samples,
                bitsAllocated,
                bitsStored,
                highBit,
                representation == 1,
                planar == 1,
                pi,
                frames);
    }

    /** What decoding one frame allocates: its int samples, the float values, the windowed copy. */
    static long workingBytes(long rows, long columns, long samples) {
        return rows * columns * (4 * samples + 8);
    }

    private static int required(Dataset ds, int tag, String name) throws ImageFormatException {
        Integer v = ds.integer(tag);
        if (v == null) {
            throw new ImageFormatException("missing " + name);
        }
        return v;
    }

    private static int orDefault(Dataset ds, int tag, int dflt) throws ImageFormatException {
        Integer v = ds.integer(tag);
        return v == null ? dflt : v;
    }

    boolean monochrome() {
        return photometric.startsWith("MONOCHROME");
    }

    /** Pixels per frame. */
    int pixels() {
        return rows * columns;
    }

    /** Samples per frame (pixels times samples per pixel): the length of a decoded frame. */
    int samplesPerFrame() {
        return rows * columns * samples;
    }

    /** Bytes of one frame in native (uncompressed) encoding; frames of 1-bit data need not start on a byte. */
    long nativeFrameBits() {
        long px = (long) rows * columns;
        if (photometric.equals("YBR_FULL_422")) {
            return px * 2 * bitsAllocated; // two luma and two chroma samples for each pair of pixels
        }
        return px * samples * bitsAllocated;
    }

    /** Turns a decoded sample's bit pattern into its value: shift by HighBit, keep BitsStored bits, sign-extend. */
    int value(int raw, int shift) {
        int v = raw >>> shift;
        if (bitsStored == 32) {
            return v;
        }
        v &= (1 << bitsStored) - 1;
        if (signed && (v & (1 << (bitsStored - 1))) != 0) {
            v -= 1 << bitsStored;
        }
        return v;
    }

    /** Unsigned 32-bit samples do not fit an int: {@link #value} keeps their bit pattern, read it with this. */
    double numeric(int value) {
        return bitsStored == 32 && !signed ? Integer.toUnsignedLong(value) : value;
    }
}

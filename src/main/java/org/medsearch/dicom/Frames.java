package org.medsearch.dicom;

import java.util.ArrayList;
import java.util.List;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.Intensities;

/**
 * Turns the pixel data element into frames of sample values: locates a frame (a slice of native data,
 * or the fragments of encapsulated data that make it up), decodes it, applies BitsStored, HighBit and
 * PixelRepresentation, and converts colour to gray.
 */
final class Frames {
    private final Dataset ds;
    private final Dataset.Element pixelData;
    private final PixelModule pm;
    private final TransferSyntax ts;
    // lazily computed, idempotent; volatile for safe publication between threads
    private volatile List<List<Dataset.Fragment>> frameFragments;
    private volatile Palette palette;

    Frames(Dataset ds, PixelModule pm, TransferSyntax ts) throws ImageFormatException {
        this.ds = ds;
        this.pm = pm;
        this.ts = ts;
        this.pixelData = ds.element(Tags.PIXEL_DATA);
        boolean encapsulated = pixelData.fragments() != null;
        if (encapsulated != ts.encapsulated()) {
            throw new ImageFormatException(
                    encapsulated
                            ? "encapsulated pixel data in a " + ts.displayName() + " file"
                            : "native pixel data in a " + ts.displayName() + " file");
        }
        if (!encapsulated) {
            long need = (pm.nativeFrameBits() * pm.frames() + 7) / 8;
            if (pixelData.length() < need) {
                throw new ImageFormatException("pixel data holds " + pixelData.length() + " bytes, " + pm.frames()
                        + " frame(s) of " + pm.columns() + "x" + pm.rows() + " need " + need);
            }
            if (pm.photometric().equals("YBR_FULL_422") && pm.columns() % 2 != 0) {
                throw new ImageFormatException("YBR_FULL_422 with an odd number of columns");
            }
        } else if (pm.bitsAllocated() != 8 && pm.bitsAllocated() != 16) {
            throw new ImageFormatException("compressed pixel data with BitsAllocated " + pm.bitsAllocated());
        }
    }

    /** Sample values of frame {@code i}, pixel-interleaved. */
    int[] samples(int i) throws ImageFormatException {
        if (i < 0 || i >= pm.frames()) {
            throw new ImageFormatException("frame " + i + " requested, the file has " + pm.frames());
        }
        int[] raw;
        int shift = 0;
        if (pixelData.fragments() == null) {
            raw = nativeFrame(i);
            shift = pm.highBit() + 1 - pm.bitsStored();
        } else {
            Span b = frameBytes(i);
            raw = switch (ts.codec()) {
                case RLE -> RleDecoder.decode(b.buf(), b.off(), b.len(), pm);
                case JPEG_LS -> JpegLsDecoder.decode(b.buf(), b.off(), b.len(), pm);
                case JPEG -> ImageIoDecoder.decodeJpeg(b.buf(), b.off(), b.len(), pm);
                case JPEG_2000 -> ImageIoDecoder.decodeJpeg2000(b.buf(), b.off(), b.len(), pm);
                case NATIVE -> throw new IllegalStateException();
            };
        }
        if (pm.monochrome() || pm.photometric().equals("PALETTE COLOR")) {
            for (int k = 0; k < raw.length; k++) {
                raw[k] = pm.value(raw[k], shift);
            }
        } else {
            int mask = pm.bitsStored() == 32 ? -1 : (1 << pm.bitsStored()) - 1;
            for (int k = 0; k < raw.length; k++) {
                raw[k] = (raw[k] >>> shift) & mask; // colour samples are unsigned whatever PixelRepresentation says
            }
        }
        return raw;
    }

    /**
     * One gray value per pixel: the samples themselves for monochrome images, ITU-R 601 luma (PIL's
     * integer formula) of the RGB colour otherwise, after palette lookup or YCbCr to RGB conversion.
     */
    int[] gray(int[] samples) throws ImageFormatException {
        switch (pm.photometric()) {
            case "MONOCHROME1", "MONOCHROME2":
                return samples;
            case "PALETTE COLOR": {
                Palette lut = palette;
                if (lut == null) {
                    lut = Palette.of(ds, pm);
                    palette = lut;
                }
                int[] out = new int[samples.length];
                for (int k = 0; k < samples.length; k++) {
                    out[k] = lut.luma(samples[k]);
                }
                return out;
            }
            default: {
                boolean ybr =
                        pm.photometric().equals("YBR_FULL") || pm.photometric().equals("YBR_FULL_422");
                int max = grayMax();
                double half = (max + 1) / 2.0;
                int[] out = new int[pm.pixels()];
                for (int k = 0, s = 0; k < out.length; k++, s += 3) {
                    long r = samples[s];
                    long g = samples[s + 1];
                    long b = samples[s + 2];
                    if (ybr) {
                        double y = r;
                        double cb = g - half;
                        double cr = b - half;
                        r = clamp(Math.round(y + 1.402 * cr), max);
                        g = clamp(Math.round(y - 0.344136 * cb - 0.714136 * cr), max);
                        b = clamp(Math.round(y + 1.772 * cb), max);
                    }
                    out[k] = Intensities.luma(r, g, b);
                }
                return out;
            }
        }
    }

    /** The largest gray value of a colour image: 255 for palettes (reduced to 8 bits), else the sample maximum. */
    int grayMax() {
        if (pm.photometric().equals("PALETTE COLOR")) {
            return 255;
        }
        return pm.bitsStored() >= 31 ? Integer.MAX_VALUE : (1 << pm.bitsStored()) - 1;
    }

    private static long clamp(long v, int max) {
        return v < 0 ? 0 : Math.min(v, max);
    }

    private int[] nativeFrame(int i) {
        byte[] b = ds.buf;
        int n = pm.samplesPerFrame();
        int[] out = new int[n];
        long startBit = pm.nativeFrameBits() * i;
        int base = pixelData.offset();
        switch (pm.bitsAllocated()) {
            case 1 -> {
                for (int k = 0; k < n; k++) {
                    long bit = startBit + k;
                    out[k] = (b[base + (int) (bit >>> 3)] >> (int) (bit & 7)) & 1; // least significant bit first
                }
                return out;
            }
            case 8 -> {
                int o = base + (int) (startBit >>> 3);
                if (pm.photometric().equals("YBR_FULL_422")) {
                    return expand422(b, o, n, 1);
                }
                for (int k = 0; k < n; k++) {
                    out[k] = b[o + k] & 0xff;
                }
            }
            case 16 -> {
                int o = base + (int) (startBit >>> 3);
                if (pm.photometric().equals("YBR_FULL_422")) {
                    return expand422(b, o, n, 2);
                }
                for (int k = 0; k < n; k++) {
                    out[k] = ds.u16(o + 2 * k);
                }
            }
            default -> {
                int o = base + (int) (startBit >>> 3);
                for (int k = 0; k < n; k++) {
                    out[k] = ds.i32(o + 4 * k);
                }
            }
        }
        if (pm.samples() == 3 && pm.planar()) {
            int px = pm.pixels();
            int[] interleaved = new int[n];
            for (int k = 0; k < px; k++) {
                interleaved[3 * k] = out[k];
                interleaved[3 * k + 1] = out[px + k];
                interleaved[3 * k + 2] = out[2 * px + k];
            }
            return interleaved;
        }
        return out;
    }

    /** YBR_FULL_422: Y1 Y2 Cb Cr for each pair of pixels, to Y Cb Cr for each pixel. */
    private int[] expand422(byte[] b, int o, int n, int bytes) {
        int[] out = new int[n];
        for (int k = 0, s = o; k < n; k += 6, s += 4 * bytes) {
            int y1 = bytes == 1 ? b[s] & 0xff : ds.u16(s);
            int y2 = bytes == 1 ? b[s + 1] & 0xff : ds.u16(s + 2);
            int cb = bytes == 1 ? b[s + 2] & 0xff : ds.u16(s + 4);
            int cr = bytes == 1 ? b[s + 3] & 0xff : ds.u16(s + 6);
            out[k] = y1;
            out[k + 1] = cb;
            out[k + 2] = cr;
            out[k + 3] = y2;
            out[k + 4] = cb;
            out[k + 5] = cr;
        }
        return out;
    }

    /** A range of a byte array; the decoders read only inside it. */
    private record Span(byte[] buf, int off, int len) {}

    /** The compressed bytes of frame {@code i}: one fragment in place in the file's buffer, several concatenated. */
    private Span frameBytes(int i) throws ImageFormatException {
        List<List<Dataset.Fragment>> assigned = frameFragments;
        if (assigned == null) {
            assigned = assignFragments();
            frameFragments = assigned;
        }
        List<Dataset.Fragment> parts = assigned.get(i);
        if (parts.size() == 1) {
            return new Span(ds.buf, parts.get(0).offset(), parts.get(0).length());
        }
        long total = 0;
        for (Dataset.Fragment f : parts) {
            total += f.length();
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new ImageFormatException("compressed frame larger than 2 GiB");
        }
        byte[] out = new byte[(int) total];
        int o = 0;
        for (Dataset.Fragment f : parts) {
            System.arraycopy(ds.buf, f.offset(), out, o, f.length());
            o += f.length();
        }
        return new Span(out, 0, out.length);
    }

    /**
     * Which fragments make up each frame (PS3.5 A.4): all of them for a single frame; else by the basic
     * or extended offset table; else one fragment per frame when the counts agree; else split where a
     * fragment starts with a JPEG or JPEG 2000 start-of-image marker.
     */
    private List<List<Dataset.Fragment>> assignFragments() throws ImageFormatException {
        List<Dataset.Fragment> all = pixelData.fragments();
        List<Dataset.Fragment> data = all.subList(1, all.size());
        int frames = pm.frames();
        if (data.isEmpty()) {
            throw new ImageFormatException("encapsulated pixel data without fragments");
        }
        if (frames == 1) {
            return List.of(data);
        }
        long[] offsets = offsetTable(all.get(0), frames);
        if (offsets != null) {
            List<List<Dataset.Fragment>> byTable = byOffsets(data, offsets);
            if (byTable != null) {
                return byTable;
            }
        }
        if (data.size() == frames) {
            List<List<Dataset.Fragment>> out = new ArrayList<>(frames);
            for (Dataset.Fragment f : data) {
                out.add(List.of(f));
            }
            return out;
        }
        List<List<Dataset.Fragment>> out = new ArrayList<>();
        for (Dataset.Fragment f : data) {
            if (startsFrame(f)) {
                out.add(new ArrayList<>());
            } else if (out.isEmpty()) {
                break; // the first fragment must start a frame
            }
            out.get(out.size() - 1).add(f);
        }
        if (out.size() != frames || !startsFrame(data.get(0))) {
            throw new ImageFormatException(
                    "cannot tell which of " + data.size() + " fragments belong to each of " + frames + " frames");
        }
        return out;
    }

    /** Frame offsets from the extended offset table (7FE0,0001) or the basic offset table, or null. */
    private long[] offsetTable(Dataset.Fragment bot, int frames) {
        Dataset.Element eot = ds.element(Tags.EXTENDED_OFFSET_TABLE);
        if (eot != null && eot.length() == 8L * frames) {
            long[] out = new long[frames];
            for (int k = 0; k < frames; k++) {
                out[k] = ds.i64(eot.offset() + 8 * k);
            }
            return out;
        }
        if (bot.length() == 4L * frames) {
            long[] out = new long[frames];
            for (int k = 0; k < frames; k++) {
                out[k] = Integer.toUnsignedLong(ds.i32(bot.offset() + 4 * k));
            }
            return out;
        }
        return null;
    }

    /** Groups fragments by frame offsets, or null when the table does not match the fragments. */
    private static List<List<Dataset.Fragment>> byOffsets(List<Dataset.Fragment> data, long[] offsets) {
        List<List<Dataset.Fragment>> out = new ArrayList<>(offsets.length);
        int k = 0;
        for (int f = 0; f < offsets.length; f++) {
            long start = offsets[f];
            long next = f + 1 < offsets.length ? offsets[f + 1] : Long.MAX_VALUE;
            if (k >= data.size() || data.get(k).position() != start || next <= start) {
                return null;
            }
            List<Dataset.Fragment> frame = new ArrayList<>();
            while (k < data.size() && data.get(k).position() < next) {
                frame.add(data.get(k++));
            }
            out.add(frame);
        }
        return k == data.size() ? out : null;
    }

    private boolean startsFrame(Dataset.Fragment f) {
        byte[] b = ds.buf;
        int o = f.offset();
        if (f.length() < 4) {
            return false;
        }
        int m = (b[o] & 0xff) << 8 | (b[o + 1] & 0xff);
        return m == 0xffd8
                || m == 0xff4f
                || (f.length() >= 8
                        && b[o] == 0
                        && b[o + 1] == 0
                        && b[o + 2] == 0
                        && b[o + 3] == 12
                        && b[o + 4] == 'j'
                        && b[o + 5] == 'P'); // JP2 signature box
    }
}

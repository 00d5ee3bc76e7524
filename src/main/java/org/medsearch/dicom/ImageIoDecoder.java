package org.medsearch.dicom;

import com.github.jaiimageio.jpeg2000.impl.J2KImageReaderSpi;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageInputStreamImpl;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.medsearch.image.ImageFormatException;

/**
 * JPEG (baseline, extended, lossless) through the TwelveMonkeys ImageIO plug-in and JPEG 2000
 * through jai-imageio's JJ2000 reader. Both return the raw decoded samples ({@code readRaster}): no
 * colour conversion, which {@link Frames} applies from the photometric interpretation as dcmtk does.
 *
 * <p>Codec failures of any kind (exceptions, warnings such as "premature end of data", a raster that
 * disagrees with the dataset) become {@link ImageFormatException}.
 *
 * <p>A JPEG 2000 decode is bounded in time on every Java from 17 on: it runs on the calling thread and
 * gives up from inside, since nothing can stop JJ2000 from outside ({@code Thread.stop} is gone from
 * Java 20, and a child process would cost a JVM and a copy of every frame). JJ2000 reads each byte of
 * the codestream through {@link DecoderStream}, which throws once the deadline has passed, and the
 * inputs on which its sources (1.4.0) loop without reading are refused before it can spin:
 * <ul>
 * <li>0xFF 0xFF in a packet header, which the standard's bit stuffing rules out: JJ2000's bit reader
 * then yields 1 bits forever without reading, and its loop over a code-block's Lblock increment never
 * ends (a fuzzing finding). {@link DecoderStream} refuses the second 0xFF;</li>
 * <li>packed packet headers (PPM, PPT): JJ2000 reads them from a copy of its own, where the end of the
 * data also reads as endless 1 bits. {@link #checkJpeg2000Header} refuses them, and TLM indexes that
 * would lead JJ2000 to tile-part headers the check did not see;</li>
 * <li>the end of the codestream, whose -1 from {@code read()} that bit reader takes for endless 1 bits
 * too: {@link DecoderStream} throws EOFException there.</li>
 * </ul>
 * Every other loop either reads (a byte per 15 packet header bits at most) or is bounded by the header
 * check (tiles, packets) and the frame's size. So a refused decode returns within the deadline plus the
 * work between two reads (one precinct's packet header or one code-block), and a decode that finishes
 * late, after its last read, within the deadline plus the inverse transforms of one frame. The cost is a
 * look at the clock per read call, and refusing the rare valid codestream with PPM or PPT markers. An
 * interrupt of the calling thread abandons the decode the same way.
 */
final class ImageIoDecoder {
    private ImageIoDecoder() {}

    private static final J2KImageReaderSpi J2K = new J2KImageReaderSpi();

    static int[] decodeJpeg(byte[] b, int off, int len, PixelModule pm) throws ImageFormatException {
        if (len < 4 || (b[off] & 0xff) != 0xff || (b[off + 1] & 0xff) != 0xd8) {
            throw new ImageFormatException("corrupt JPEG frame: no SOI marker");
        }
        return decode(jpegReader(), new MemoryCacheImageInputStream(new ByteArrayInputStream(b, off, len)), pm, "JPEG");
    }

    /** {@link #decodeJpeg2000(byte[], int, int, PixelModule, long)} with 5 s plus 4 ms per 1,000 pixels. */
    static int[] decodeJpeg2000(byte[] b, int off, int len, PixelModule pm) throws ImageFormatException {
        return decodeJpeg2000(b, off, len, pm, 5_000 + pm.pixels() / 250);
    }

    /**
     * Decodes a JPEG 2000 frame on the calling thread and refuses it, as the class describes, unless it
     * is done within {@code millis}; JJ2000 gives up at its first read after that.
     */
    static int[] decodeJpeg2000(byte[] b, int off, int len, PixelModule pm, long millis) throws ImageFormatException {
        // JJ2000 decodes whatever part of a truncated codestream it has, silently: insist on the EOC marker
        int e = off + len;
        while (e > off && b[e - 1] == 0) {
            e--; // fragment padding
        }
        if (e - off < 4 || (b[e - 2] & 0xff) != 0xff || (b[e - 1] & 0xff) != 0xd9) {
            throw new ImageFormatException("corrupt or truncated JPEG 2000 frame: no EOC marker");
        }
        checkJpeg2000Header(b, off, e, pm);
        ImageReader reader;
        try {
            reader = J2K.createReaderInstance();
        } catch (IOException ex) {
            throw new ImageFormatException("JPEG 2000 decoder unavailable", ex);
        }
        DecoderStream in = new DecoderStream(b, off, len, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
        int[] pixels;
        try {
            pixels = decode(reader, in, pm, "JPEG 2000");
        } catch (ImageFormatException ex) {
            String why = in.refusal(millis, false);
            throw why == null ? ex : new ImageFormatException(why, ex);
        }
        String why = in.refusal(millis, true);
        if (why != null) {
            throw new ImageFormatException(why);
        }
        return pixels;
    }

    /**
     * The codestream as JJ2000 reads it (see the class comment). {@code read()} throws {@link
     * EOFException} at the end instead of returning -1; every read throws {@link Refused} once the
     * deadline has passed, and {@code read()} on 0xFF right after a {@code read()} of 0xFF, which only
     * JJ2000's packet header reader does (besides a tile-part's TPsot and TNsot, where 255 255 is invalid
     * too). The refusal is unchecked so that JJ2000's handlers of IOException (which print it, or take it
     * for a truncated codestream and go on) let it through, and it is remembered, for JJ2000 wraps it and
     * could swallow it.
     */
    private static final class DecoderStream extends ImageInputStreamImpl {
        private final byte[] b;
        private final int off;
        private final int len;
        private final long deadline;
        /** Where the last one-byte read found 0xFF, or -2: JJ2000 reads a stuffed byte right after it. */
        private long lastFf = -2;

        private boolean late;
        private boolean stuffing;
        private boolean interrupted;

        DecoderStream(byte[] b, int off, int len, long deadline) {
            this.b = b;
            this.off = off;
            this.len = len;
            this.deadline = deadline;
        }

        /**
         * Why the decode must be refused whatever JJ2000 made of it, or null; {@code finished}: it returned
         * an image, which is refused as well when late, for the deadline promises an answer within it.
         */
        String refusal(long millis, boolean finished) {
            if (stuffing) {
                return "corrupt JPEG 2000 frame: 0xFF 0xFF in a packet header";
            }
            if (interrupted) {
                return "interrupted while decoding a JPEG 2000 frame";
            }
            if (late || finished && System.nanoTime() - deadline > 0) {
                return "corrupt JPEG 2000 frame: the decoder did not finish within " + millis + " ms";
            }
            return null;
        }

        /** Throws once the decode is to be abandoned, and at every read after that. */
        private void checkGoing() {
            if (stuffing) {
                throw new Refused("0xFF 0xFF in a packet header");
            }
            if (interrupted || Thread.currentThread().isInterrupted()) {
                interrupted = true; // the flag stays set for the caller
                throw new Refused("interrupted");
            }
            if (late || System.nanoTime() - deadline > 0) {
                late = true;
                throw new Refused("deadline passed");
            }
        }

        @Override
        public int read() throws IOException {
            checkGoing();
            if (streamPos >= len) {
                throw new EOFException();
            }
            bitOffset = 0;
            int v = b[off + (int) streamPos] & 0xff;
            if (v == 0xff) {
                if (lastFf == streamPos - 1) {
                    stuffing = true;
                    throw new Refused("0xFF 0xFF in a packet header");
                }
                lastFf = streamPos;
            }
            streamPos++;
            return v;
        }

        @Override
        public int read(byte[] dst, int at, int n) {
            checkGoing();
            lastFf = -2;
            if (streamPos >= len) {
                return -1;
            }
            int k = (int) Math.min(n, len - streamPos);
            System.arraycopy(b, off + (int) streamPos, dst, at, k);
            streamPos += k;
            bitOffset = 0;
            return k;
        }

        @Override
        public void seek(long pos) throws IOException {
            lastFf = -2;
            super.seek(pos);
        }

        @Override
        public long length() {
            return len;
        }
    }

    /** Thrown through JJ2000 by {@link DecoderStream}: the decode is to be abandoned. */
    private static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refused(String why) {
            super(why, null, false, true);
        }
    }

    /**
     * Checks the codestream's headers before JJ2000 sees them, because JJ2000 sizes its tables and its
     * loops from them: a forged image offset with tiny tiles makes it allocate billions of per-tile
     * entries, and 65,535 layers of 1x1 precincts keep it reading packet headers for hours. The image
     * must match the dataset, components must not be subsampled, tiles must be fewer than pixels (and
     * 65,536), the coding styles (main and tile-part headers) must stay within the standard's ranges,
     * and the number of packets they imply must stay below 100,000 plus the number of pixels.
     */
    static void checkJpeg2000Header(byte[] b, int off, int end, PixelModule pm) throws ImageFormatException {
        int p = off;
        if (end - p >= 12 && Dataset.u32(b, p, true) == 12 && Dataset.u32(b, p + 4, true) == 0x6a502020) {
            p = jp2Codestream(b, p, end); // JP2 file format: find the contiguous codestream box
        }
        if (end - p < 4 || Dataset.u16(b, p, true) != 0xff4f || Dataset.u16(b, p + 2, true) != 0xff51) {
            throw j2kError("no SOC and SIZ markers");
        }
        int siz = p + 4;
        if (end - siz < 40) {
            throw j2kError("short SIZ segment");
        }
        long xsiz = Dataset.u32(b, siz + 4, true);
        long ysiz = Dataset.u32(b, siz + 8, true);
        long xo = Dataset.u32(b, siz + 12, true);
        long yo = Dataset.u32(b, siz + 16, true);
        long xt = Dataset.u32(b, siz + 20, true);
        long yt = Dataset.u32(b, siz + 24, true);
        long xto = Dataset.u32(b, siz + 28, true);
        long yto = Dataset.u32(b, siz + 32, true);
        int components = Dataset.u16(b, siz + 36, true);
        if (xsiz - xo != pm.columns() || ysiz - yo != pm.rows()) {
            throw j2kError("image is " + (xsiz - xo) + "x" + (ysiz - yo) + ", the dataset says " + pm.columns() + "x"
                    + pm.rows());
        }
        if (components != pm.samples()
                || end - siz < 38 + 3 * components
                || Dataset.u16(b, siz, true) != 38 + 3 * components) {
            throw j2kError(components + " components, the dataset says " + pm.samples());
        }
        for (int c = 0; c < components; c++) {
            int q = siz + 38 + 3 * c;
            if ((b[q] & 0x7f) + 1 > 16 || b[q + 1] != 1 || b[q + 2] != 1) {
                throw j2kError("component precision above 16 bits or subsampled components");
            }
        }
        if (xt == 0 || yt == 0 || xto > xo || yto > yo || xto + xt <= xo || yto + yt <= yo) {
            throw j2kError("invalid tiling");
        }
        long tilesX = (xsiz - xto + xt - 1) / xt;
        long tilesY = (ysiz - yto + yt - 1) / yt;
        if (tilesX * tilesY > Math.min(65536L, (long) pm.rows() * pm.columns())) {
            throw j2kError(tilesX * tilesY + " tiles");
        }
        // the coding style segments (COD, COC) of the main header and of every tile-part header
        CodingBounds bounds = new CodingBounds();
        int q = siz + Dataset.u16(b, siz, true);
        int tilePart = -1;
        Set<Integer> tileParts = new HashSet<>(); // where the SOT markers are
        List<Integer> tlm = new ArrayList<>(); // where the TLM segments are
        while (end - q >= 4) {
            int marker = Dataset.u16(b, q, true);
            if (marker == 0xffd9) {
                break;
            }
            if (marker == 0xff93) { // SOD: skip the tile-part's data to the next SOT
                long psot = tilePart >= 0 ? Dataset.u32(b, tilePart + 6, true) : 0;
                if (psot == 0) {
                    break; // the last tile-part runs to EOC
                }
                if (psot < 14 || psot > end - tilePart || tilePart + psot <= q) {
                    throw j2kError("corrupt tile-part length");
                }
                q = tilePart + (int) psot;
                continue;
            }
            int segLen = Dataset.u16(b, q + 2, true);
            if ((marker & 0xff00) != 0xff00 || segLen < 2 || segLen > end - q - 2) {
                throw j2kError("corrupt header");
            }
            int v = q + 4;
            if (marker == 0xff60 || marker == 0xff61) {
                // JJ2000 reads them from a copy of its own, where no deadline reaches and the end reads as 1 bits
                throw j2kError("packed packet headers (PPM, PPT) are not supported");
            }
            if (marker == 0xff90 && segLen >= 10) { // SOT: where the tile-part starts; Psot is its length
                tilePart = q;
                tileParts.add(q - p);
            } else if (marker == 0xff55 && tilePart < 0) {
                tlm.add(q);
            } else if (marker == 0xff52 && segLen >= 12) {
                bounds.add(b, v + 5, Dataset.u16(b, v + 2, true), (b[v] & 1) != 0, segLen - 12);
            } else if (marker == 0xff53 && segLen >= 9) {
                int sp = v + (components < 257 ? 2 : 3);
                bounds.add(b, sp, 1, (b[sp - 1] & 1) != 0, v + segLen - 2 - (sp + 5));
            }
            q += 2 + segLen;
        }
        checkTlm(b, p, tlm, tileParts);
        long packets = bounds.packets(pm.columns(), pm.rows(), tilesX, tilesY, components);
        if (packets > 100_000L + (long) pm.rows() * pm.columns()) {
            throw j2kError("about " + packets + " packets for " + pm.columns() + "x" + pm.rows() + " pixels");
        }
    }

    /**
     * JJ2000 seeks to the tile-parts that the TLM segments (at {@code tlm}) index, where there are some,
     * rather than following Psot; each of them must be one whose header the check walked ({@code
     * tileParts}, offsets from the SOC marker at {@code soc}), or a PPT segment could hide there.
     */
    private static void checkTlm(byte[] b, int soc, List<Integer> tlm, Set<Integer> tileParts)
            throws ImageFormatException {
        if (tlm.isEmpty() || tileParts.isEmpty()) {
            return;
        }
        long pos = tileParts.stream().mapToInt(Integer::intValue).min().getAsInt(); // the end of the main header
        for (int i = 0; i < tlm.size(); i++) {
            int q = tlm.get(i);
            int segLen = Dataset.u16(b, q + 2, true);
            int ztlm = segLen >= 4 ? b[q + 4] & 0xff : -1;
            int stlm = segLen >= 4 ? b[q + 5] & 0xff : 0;
            int st = (stlm >> 4) & 3;
            int entry = st + ((stlm >> 6) & 1) * 2 + 2;
            if (ztlm != i || st == 3 || (segLen - 4) % entry != 0) {
                throw j2kError("corrupt TLM segment");
            }
            for (int e = q + 6 + st; e < q + 2 + segLen; e += entry) {
                if (!tileParts.contains((int) Math.min(pos, Integer.MAX_VALUE))) {
                    throw j2kError("TLM index does not match the tile-parts");
                }
                pos += entry - st == 4 ? Dataset.u32(b, e, true) : Dataset.u16(b, e, true);
            }
        }
    }

    /** The largest layer and decomposition counts and the smallest precinct exponent of all coding styles. */
    private static final class CodingBounds {
        int layers = 1;
        int levels = 5;
        int minPrecinct = 15;

        /** SPcod/SPcoc at {@code p}: levels, code-block width and height, style, transform, then precinct sizes. */
        void add(byte[] b, int p, int layerCount, boolean userPrecincts, int precinctBytes)
                throws ImageFormatException {
            int lv = b[p] & 0xff;
            int xcb = (b[p + 1] & 0xff) + 2;
            int ycb = (b[p + 2] & 0xff) + 2;
            if (lv > 32 || xcb > 10 || ycb > 10 || xcb + ycb > 12 || layerCount < 1) {
                throw j2kError("invalid coding style");
            }
            layers = Math.max(layers, layerCount);
            levels = Math.max(levels, lv);
            if (userPrecincts) {
                if (precinctBytes < lv + 1) {
                    throw j2kError("short precinct list");
                }
                for (int r = 0; r <= lv; r++) {
                    int pp = b[p + 5 + r] & 0xff;
                    minPrecinct = Math.min(minPrecinct, Math.min(pp & 0x0f, pp >> 4));
                }
            }
        }

        /** An upper bound of the packet headers JJ2000 will read. */
        long packets(int w, int h, long tilesX, long tilesY, int components) {
            long px = ((w >> minPrecinct) + 1 + tilesX) * ((h >> minPrecinct) + 1 + tilesY);
            return layers * (levels + 1L) * components * px;
        }
    }

    private static int jp2Codestream(byte[] b, int p, int end) throws ImageFormatException {
        while (end - p >= 8) {
            long size = Dataset.u32(b, p, true);
            int type = (int) Dataset.u32(b, p + 4, true);
            if (type == 0x6a703263) { // 'jp2c'
                return p + 8;
            }
            if (size < 8 || size > end - p) {
                break;
            }
            p += (int) size;
        }
        throw j2kError("JP2 file without a codestream box");
    }

    private static ImageFormatException j2kError(String what) {
        return new ImageFormatException("corrupt or unsupported JPEG 2000 frame: " + what);
    }

    private static ImageReader jpegReader() throws ImageFormatException {
        Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName("jpeg");
        while (it.hasNext()) {
            ImageReader r = it.next();
            if (r.getClass().getName().startsWith("com.twelvemonkeys.")) {
                return r;
            }
            r.dispose();
        }
        throw new ImageFormatException("the TwelveMonkeys JPEG decoder is not on the class path");
    }

    private static int[] decode(ImageReader reader, ImageInputStream input, PixelModule pm, String codec)
            throws ImageFormatException {
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = input) {
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            int w = reader.getWidth(0);
            int h = reader.getHeight(0);
            if (w != pm.columns() || h != pm.rows()) {
                throw new ImageFormatException(
                        codec + " frame is " + w + "x" + h + ", the dataset says " + pm.columns() + "x" + pm.rows());
            }
            Raster r = reader.readRaster(0, null);
            if (!warnings.isEmpty()) {
                throw new ImageFormatException(
                        "corrupt or truncated " + codec + " frame (" + Text.sanitize(warnings.get(0), 120) + ")");
            }
            if (r.getWidth() != w || r.getHeight() != h || r.getNumBands() != pm.samples()) {
                throw new ImageFormatException(
                        codec + " frame has " + r.getNumBands() + " components, the dataset says " + pm.samples());
            }
            return r.getPixels(r.getMinX(), r.getMinY(), w, h, (int[]) null);
        } catch (ImageFormatException e) {
            throw e;
        } catch (IOException | RuntimeException | Error e) {
            // codecs report damage with IIOException, EOFException, assorted unchecked exceptions and, in
            // JJ2000's case, plain java.lang.Error; only a failing virtual machine is not the file's fault
            if (e instanceof VirtualMachineError
                    && !(e instanceof OutOfMemoryError || e instanceof StackOverflowError)) {
                throw (VirtualMachineError) e;
            }
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new ImageFormatException(
                    "corrupt or unsupported " + codec + " frame (" + Text.sanitize(why, 120) + ")", e);
        } finally {
            reader.dispose();
        }
    }
}

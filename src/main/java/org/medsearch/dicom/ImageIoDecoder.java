package org.medsearch.dicom;

import com.github.jaiimageio.jpeg2000.impl.J2KImageReaderSpi;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

    static int[] decodeJpeg2000(byte[] b, int off, int len, PixelModule pm) throws ImageFormatException {
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
        ImageInputStream in = new StrictByteStream(b, off, len);
        return withDeadline(() -> decode(reader, in, pm, "JPEG 2000"), 5_000 + pm.pixels() / 250);
    }

    /**
     * Runs a JJ2000 decode on its own thread and stops it after {@code millis}. JJ2000 spins for
     * minutes on some corrupt packet headers (a tag-tree loop runs its counter up to
     * Integer.MAX_VALUE, a fuzzing finding), and only {@link Thread#stop()} takes the CPU back from
     * it. The decoder thread owns all its objects and holds no shared lock, which is what makes
     * stopping it safe here; where stop() is unsupported (Java 20 and later) the thread is left to
     * finish on its own as a daemon.
     */
    @SuppressWarnings({"deprecation", "removal"})
    private static int[] withDeadline(Callable<int[]> work, long millis) throws ImageFormatException {
        FutureTask<int[]> task = new FutureTask<>(work);
        Thread t = new Thread(task, "jpeg2000-decoder");
        t.setDaemon(true);
        t.start();
        try {
            return task.get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            try {
                t.stop();
            } catch (UnsupportedOperationException unsupported) {
                // a newer JVM: nothing to do but let it run out
            }
            throw new ImageFormatException("corrupt JPEG 2000 frame: the decoder did not finish within " + millis + " ms");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ImageFormatException ife) {
                throw ife;
            }
            throw new ImageFormatException("corrupt or unsupported JPEG 2000 frame", e.getCause());
        } catch (InterruptedException e) {
            t.interrupt();
            Thread.currentThread().interrupt();
            throw new ImageFormatException("interrupted while decoding a JPEG 2000 frame");
        }
    }

    /**
     * A byte-array stream whose {@code read()} throws {@link EOFException} at the end instead of
     * returning -1: JJ2000's packet header reader turns that -1 into an endless run of 1 bits and
     * never returns (a fuzzing finding).
     */
    private static final class StrictByteStream extends ImageInputStreamImpl {
        private final byte[] b;
        private final int off;
        private final int len;

        StrictByteStream(byte[] b, int off, int len) {
            this.b = b;
            this.off = off;
            this.len = len;
        }

        @Override
        public int read() throws IOException {
            if (streamPos >= len) {
                throw new EOFException();
            }
            bitOffset = 0;
            return b[off + (int) streamPos++] & 0xff;
        }

        @Override
        public int read(byte[] dst, int at, int n) {
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
        public long length() {
            return len;
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
            throw j2kError("image is " + (xsiz - xo) + "x" + (ysiz - yo) + ", the dataset says " + pm.columns() + "x" + pm.rows());
        }
        if (components != pm.samples() || end - siz < 38 + 3 * components || Dataset.u16(b, siz, true) != 38 + 3 * components) {
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
            if (marker == 0xff90 && segLen >= 10) { // SOT: where the tile-part starts; Psot is its length
                tilePart = q;
            } else if (marker == 0xff52 && segLen >= 12) {
                bounds.add(b, v + 5, Dataset.u16(b, v + 2, true), (b[v] & 1) != 0, segLen - 12);
            } else if (marker == 0xff53 && segLen >= 9) {
                int sp = v + (components < 257 ? 2 : 3);
                bounds.add(b, sp, 1, (b[sp - 1] & 1) != 0, v + segLen - 2 - (sp + 5));
            }
            q += 2 + segLen;
        }
        long packets = bounds.packets(pm.columns(), pm.rows(), tilesX, tilesY, components);
        if (packets > 100_000L + (long) pm.rows() * pm.columns()) {
            throw j2kError("about " + packets + " packets for " + pm.columns() + "x" + pm.rows() + " pixels");
        }
    }

    /** The largest layer and decomposition counts and the smallest precinct exponent of all coding styles. */
    private static final class CodingBounds {
        int layers = 1;
        int levels = 5;
        int minPrecinct = 15;

        /** SPcod/SPcoc at {@code p}: levels, code-block width and height, style, transform, then precinct sizes. */
        void add(byte[] b, int p, int layerCount, boolean userPrecincts, int precinctBytes) throws ImageFormatException {
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
                throw new ImageFormatException(codec + " frame is " + w + "x" + h + ", the dataset says "
                        + pm.columns() + "x" + pm.rows());
            }
            Raster r = reader.readRaster(0, null);
            if (!warnings.isEmpty()) {
                throw new ImageFormatException("corrupt or truncated " + codec + " frame (" + Text.sanitize(warnings.get(0), 120) + ")");
            }
            if (r.getWidth() != w || r.getHeight() != h || r.getNumBands() != pm.samples()) {
                throw new ImageFormatException(codec + " frame has " + r.getNumBands() + " components, the dataset says "
                        + pm.samples());
            }
            return r.getPixels(r.getMinX(), r.getMinY(), w, h, (int[]) null);
        } catch (ImageFormatException e) {
            throw e;
        } catch (IOException | RuntimeException | Error e) {
            // codecs report damage with IIOException, EOFException, assorted unchecked exceptions and, in
            // JJ2000's case, plain java.lang.Error; only a failing virtual machine is not the file's fault
            if (e instanceof VirtualMachineError && !(e instanceof OutOfMemoryError || e instanceof StackOverflowError)) {
                throw (VirtualMachineError) e;
            }
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new ImageFormatException("corrupt or unsupported " + codec + " frame (" + Text.sanitize(why, 120) + ")", e);
        } finally {
            reader.dispose();
        }
    }
}

package org.medsearch.dicom;

import com.github.jaiimageio.jpeg2000.impl.J2KImageReaderSpi;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
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
        return decode(jpegReader(), b, off, len, pm, "JPEG");
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
        return decode(reader, b, off, len, pm, "JPEG 2000");
    }

    /**
     * Checks the main header before JJ2000 sees it, because JJ2000 sizes its tables from it: a forged
     * image offset with tiny tiles makes it allocate billions of per-tile entries. The image must match
     * the dataset, components must not be subsampled, tiles must be fewer than pixels (and 65,536), and
     * the coding style must stay within the standard's ranges.
     */
    static void checkJpeg2000Header(byte[] b, int off, int end, PixelModule pm) throws ImageFormatException {
        int p = off;
        if (end - p >= 12 && u32(b, p) == 12 && u32(b, p + 4) == 0x6a502020) {
            p = jp2Codestream(b, p, end); // JP2 file format: find the contiguous codestream box
        }
        if (end - p < 4 || u16(b, p) != 0xff4f || u16(b, p + 2) != 0xff51) {
            throw j2kError("no SOC and SIZ markers");
        }
        int siz = p + 4;
        if (end - siz < 40) {
            throw j2kError("short SIZ segment");
        }
        long xsiz = u32(b, siz + 4);
        long ysiz = u32(b, siz + 8);
        long xo = u32(b, siz + 12);
        long yo = u32(b, siz + 16);
        long xt = u32(b, siz + 20);
        long yt = u32(b, siz + 24);
        long xto = u32(b, siz + 28);
        long yto = u32(b, siz + 32);
        int components = u16(b, siz + 36);
        if (xsiz - xo != pm.columns() || ysiz - yo != pm.rows()) {
            throw j2kError("image is " + (xsiz - xo) + "x" + (ysiz - yo) + ", the dataset says " + pm.columns() + "x" + pm.rows());
        }
        if (components != pm.samples() || end - siz < 38 + 3 * components || u16(b, siz) != 38 + 3 * components) {
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
        long tiles = ((xsiz - xto + xt - 1) / xt) * ((ysiz - yto + yt - 1) / yt);
        if (tiles > Math.min(65536L, (long) pm.rows() * pm.columns())) {
            throw j2kError(tiles + " tiles");
        }
        // coding style segments of the main header (COD, COC) up to the first tile
        int q = siz + u16(b, siz);
        while (end - q >= 4 && u16(b, q) != 0xff90) {
            int marker = u16(b, q);
            int segLen = u16(b, q + 2);
            if ((marker & 0xff00) != 0xff00 || segLen < 2 || segLen > end - q - 2) {
                throw j2kError("corrupt main header");
            }
            int v = q + 4;
            if (marker == 0xff52 && segLen >= 12) {
                checkCodingStyle(b, v + 5);
            } else if (marker == 0xff53 && segLen >= 9) {
                checkCodingStyle(b, v + (components < 257 ? 2 : 3));
            }
            q += 2 + segLen;
        }
    }

    /** Decomposition levels at most 32; code-block width and height exponents at most 10, together at most 12 (T.800 A.6.1). */
    private static void checkCodingStyle(byte[] b, int p) throws ImageFormatException {
        int levels = b[p] & 0xff;
        int xcb = (b[p + 1] & 0xff) + 2;
        int ycb = (b[p + 2] & 0xff) + 2;
        if (levels > 32 || xcb > 10 || ycb > 10 || xcb + ycb > 12) {
            throw j2kError("invalid coding style");
        }
    }

    private static int jp2Codestream(byte[] b, int p, int end) throws ImageFormatException {
        while (end - p >= 8) {
            long size = u32(b, p);
            int type = (int) u32(b, p + 4);
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

    private static int u16(byte[] b, int p) {
        return (b[p] & 0xff) << 8 | (b[p + 1] & 0xff);
    }

    private static long u32(byte[] b, int p) {
        return (long) u16(b, p) << 16 | u16(b, p + 2);
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

    private static int[] decode(ImageReader reader, byte[] b, int off, int len, PixelModule pm, String codec)
            throws ImageFormatException {
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(b, off, len))) {
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

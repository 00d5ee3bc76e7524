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
        try {
            return decode(J2K.createReaderInstance(), b, off, len, pm, "JPEG 2000");
        } catch (IOException e2) {
            throw new ImageFormatException("JPEG 2000 decoder unavailable", e2);
        }
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

package org.medsearch.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.MultiPixelPackedSampleModel;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.awt.image.SinglePixelPackedSampleModel;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;

/**
 * PNG, JPEG, BMP, GIF, TIFF, Netpbm (PBM, PGM, PPM, PAM) and WebP through Java ImageIO, with the
 * TwelveMonkeys plug-ins: JPEG and TIFF (which read CMYK, 12-bit and damaged-but-legal files the JDK
 * rejects), PNM and WebP (lossy, lossless, with alpha; the JDK reads neither).
 *
 * <p>Colour images become grayscale with ITU-R 601 luma, the same integer formula as PIL's
 * {@code convert("L")}. Gray images keep their full bit depth: a 16-bit PNG maps 0..65535 to [0, 1],
 * and a PGM maps 0..maxval to [0, 1] whatever its maxval (0..4095 for a 12-bit mammogram; see
 * {@link PnmHeader} for why the plug-in's own rescaling is bypassed). The first image of a
 * multi-image GIF, TIFF, PNM or animated WebP is read. A decoder warning (typically "premature end
 * of data") is treated as an error, so a truncated file is rejected rather than returned half grey.
 */
public final class RasterImageReader implements ImageReader {

    @Override
    public String name() {
        return "raster";
    }

    @Override
    public boolean canRead(byte[] h) {
        return format(h) != null;
    }

    /** The format the leading bytes announce, or null. */
    static String format(byte[] h) {
        if (h.length >= 132 && h[128] == 'D' && h[129] == 'I' && h[130] == 'C' && h[131] == 'M') {
            return null; // a DICOM file, whose 128-byte preamble may legally be a TIFF header (PS3.10 7.1)
        }
        if (h.length >= 8
                && (h[0] & 0xff) == 0x89
                && h[1] == 'P'
                && h[2] == 'N'
                && h[3] == 'G'
                && h[4] == 0x0d
                && h[5] == 0x0a
                && h[6] == 0x1a
                && h[7] == 0x0a) {
            return "png";
        }
        if (h.length >= 3 && (h[0] & 0xff) == 0xff && (h[1] & 0xff) == 0xd8 && (h[2] & 0xff) == 0xff) {
            return "jpeg";
        }
        if (h.length >= 6
                && h[0] == 'G'
                && h[1] == 'I'
                && h[2] == 'F'
                && h[3] == '8'
                && (h[4] == '7' || h[4] == '9')
                && h[5] == 'a') {
            return "gif";
        }
        if (h.length >= 4
                && ((h[0] == 'I' && h[1] == 'I' && h[2] == 42 && h[3] == 0)
                        || (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && h[3] == 42))) {
            return "tiff";
        }
        if (PnmHeader.looksLikePnm(h)) {
            return PnmHeader.format(h);
        }
        if (h.length >= 12
                && h[0] == 'R'
                && h[1] == 'I'
                && h[2] == 'F'
                && h[3] == 'F'
                && h[8] == 'W'
                && h[9] == 'E'
                && h[10] == 'B'
                && h[11] == 'P') {
            return "webp";
        }
        if (h.length >= 18 && h[0] == 'B' && h[1] == 'M') {
            int dib = (h[14] & 0xff) | (h[15] & 0xff) << 8 | (h[16] & 0xff) << 16 | (h[17] & 0xff) << 24;
            if (dib == 12
                    || dib == 16
                    || dib == 40
                    || dib == 52
                    || dib == 56
                    || dib == 64
                    || dib == 108
                    || dib == 124) {
                return "bmp";
            }
        }
        return null;
    }

    @Override
    public MedicalImage read(byte[] bytes, ReadLimits limits) throws ImageFormatException {
        String fmt = format(bytes);
        if (fmt == null) {
            throw new ImageFormatException("not a PNG, JPEG, BMP, GIF, TIFF, PNM or WebP image");
        }
        PnmHeader pnm = null;
        if (PnmHeader.looksLikePnm(bytes)) {
            pnm = PnmHeader.parse(bytes);
            // the limits first, so that a hostile header reads as too large, as in any other format
            limits.checkPixels(pnm.width, pnm.height, 1);
            limits.checkDecoded(
                    pnm.width,
                    pnm.height,
                    pnm.depth,
                    pnm.bitmap() ? 1 : pnm.maxval > 255 ? 16 : 8,
                    1,
                    4L * pnm.width * pnm.height);
            pnm.checkData(bytes.length);
            if (pnm.plain()) {
                bytes = pnm.toBinary(bytes);
                pnm = PnmHeader.parse(bytes);
            }
        }
        List<javax.imageio.ImageReader> readers = readers(fmt);
        if (readers.isEmpty()) {
            throw new ImageFormatException("no decoder for " + fmt);
        }
        ImageFormatException first = null;
        try {
            for (javax.imageio.ImageReader reader : readers) {
                try {
                    return decode(reader, bytes, fmt, pnm, limits);
                } catch (Undecodable e) {
                    // this decoder cannot do it (an unusual colour model, say): the next one may
                    if (first == null) {
                        first = e.reported;
                    }
                }
            }
        } finally {
            readers.forEach(javax.imageio.ImageReader::dispose);
        }
        throw first;
    }

    /** A decoder's exception: another decoder may succeed where this one failed. */
    private static final class Undecodable extends Exception {
        private static final long serialVersionUID = 1L;
        final transient ImageFormatException reported;

        Undecodable(ImageFormatException reported) {
            super(null, null, false, false);
            this.reported = reported;
        }
    }

    /**
     * The decoders for a format, fastest first: for JPEG the JDK's own (native libjpeg, about twice
     * as fast as TwelveMonkeys on small images), then TwelveMonkeys, which reads CMYK, 12-bit and
     * damaged-but-legal files the JDK rejects. jai-imageio-core (there for the DICOM JPEG 2000
     * codec) also registers BMP and TIFF readers that ImageIO may list first: they are left out.
     */
    private static List<javax.imageio.ImageReader> readers(String fmt) {
        List<javax.imageio.ImageReader> list = new ArrayList<>();
        for (Iterator<javax.imageio.ImageReader> it = ImageIO.getImageReadersByFormatName(fmt); it.hasNext(); ) {
            javax.imageio.ImageReader r = it.next();
            if (r.getOriginatingProvider().getClass().getName().startsWith("com.github.jaiimageio.")) {
                r.dispose();
            } else {
                list.add(r);
            }
        }
        list.sort(
                java.util.Comparator.comparingInt(r -> r.getClass().getName().startsWith("com.sun.imageio.") ? 0 : 1));
        return list;
    }

    /**
     * Decodes with one ImageIO reader.
     *
     * @param pnm the parsed header of a Netpbm file (whose samples the plug-in then sees with maxval
     *     255 or 65535, so that they arrive unscaled), or null for any other format
     */
    @SuppressWarnings("try") // the lease is held for the decode's duration and never read
    private static MedicalImage decode(
            javax.imageio.ImageReader reader, byte[] bytes, String fmt, PnmHeader pnm, ReadLimits limits)
            throws ImageFormatException, Undecodable {
        List<String> warnings = new ArrayList<>();
        InputStream input = pnm == null ? new ByteArrayInputStream(bytes) : pnm.stream(bytes);
        try (ImageInputStream in = ImageIO.createImageInputStream(input)) {
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            int w = reader.getWidth(0);
            int h = reader.getHeight(0);
            limits.checkPixels(w, h, 1);
            SampleModel sm = declaredSamples(reader);
            int element = DataBuffer.getDataTypeSize(sm.getDataType());
            // packed models hold a whole pixel in one element (or less); the others one element per sample
            boolean packed = sm instanceof SinglePixelPackedSampleModel || sm instanceof MultiPixelPackedSampleModel;
            int samples = packed ? 1 : sm.getNumBands();
            int bits = sm instanceof MultiPixelPackedSampleModel mp ? mp.getPixelBitStride() : element;
            // the raster as the codec holds it, then our float gray copy (and getRGB's int row, negligible)
            try (MemoryBudget.Lease lease = limits.admitDecode(w, h, samples, bits, 1, 4L * w * h)) {
                ImageReadParam param = reader.getDefaultReadParam();
                BufferedImage img = reader.read(0, param);
                if (!warnings.isEmpty()) {
                    // a decoder that had to guess (typically: "premature end of data") decoded a broken file
                    throw new ImageFormatException(
                            "corrupt or truncated " + fmt.toUpperCase() + " (" + warnings.get(0) + ")");
                }
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put("format", fmt);
                if (pnm == null) {
                    meta.put(
                            "bitsPerSample",
                            Integer.toString(img.getColorModel().getComponentSize(0)));
                    return new MedicalImage(img.getWidth(), img.getHeight(), toGray(img), meta);
                }
                pnm.checkSamples(img.getRaster());
                meta.put("bitsPerSample", Integer.toString(pnm.significantBits()));
                if (!pnm.bitmap()) {
                    meta.put("maxval", Integer.toString(pnm.maxval));
                }
                return new MedicalImage(
                        img.getWidth(), img.getHeight(), toGray(img, pnm.bitmap() ? 0 : pnm.maxval), meta);
            }
        } catch (ImageFormatException e) {
            throw e;
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            // ImageIO signals damage with IIOException, EOFException, and sometimes with unchecked
            // exceptions from deep inside a codec; all of them mean "this file is broken" unless
            // another decoder reads it
            String why = e instanceof EOFException
                    ? "it ends early"
                    : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new Undecodable(new ImageFormatException(
                    "corrupt or truncated " + fmt.toUpperCase() + " (" + oneLine(why) + ")", e));
        }
    }

    /**
     * The sample layout the codec will decode into, from the header alone: a TIFF may declare 127
     * samples per pixel in a file of a few megabytes, so width x height says little about memory.
     * A codec that cannot say (no image type) is refused rather than trusted.
     */
    private static SampleModel declaredSamples(javax.imageio.ImageReader reader)
            throws IOException, ImageFormatException {
        ImageTypeSpecifier type = reader.getRawImageType(0);
        if (type == null) {
            Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
            type = types != null && types.hasNext() ? types.next() : null;
        }
        if (type == null) {
            throw new ImageFormatException("the decoder cannot tell how this image's samples are laid out");
        }
        return type.getSampleModel(1, 1);
    }

    private static String oneLine(String s) {
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() > 160 ? t.substring(0, 160) + "..." : t;
    }

    /** Grayscale intensities in [0, 1], full intensity being the samples' largest value. */
    static float[] toGray(BufferedImage img) {
        return toGray(img, 0);
    }

    /**
     * Grayscale intensities in [0, 1].
     *
     * @param maxSample the sample value of full intensity (a Netpbm file's maxval, where the samples
     *     are 8 or 16 bits wide but the range is 0..maxval), or 0 for the largest the samples can hold
     */
    static float[] toGray(BufferedImage img, int maxSample) {
        int w = img.getWidth();
        int h = img.getHeight();
        float[] out = new float[w * h];
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        int bands = r.getNumBands();
        boolean gray = cm.getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && !(cm instanceof IndexColorModel)
                && bands <= 2;
        if (gray) {
            int bits = r.getSampleModel().getSampleSize(0);
            double max = maxSample > 0 ? maxSample : bits >= 32 ? 1.0 : (1L << bits) - 1;
            boolean floating = r.getDataBuffer().getDataType() == java.awt.image.DataBuffer.TYPE_FLOAT
                    || r.getDataBuffer().getDataType() == java.awt.image.DataBuffer.TYPE_DOUBLE;
            float[] row = new float[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    float v = floating ? row[x] : (float) (row[x] / max);
                    out[y * w + x] = Math.min(1f, Math.max(0f, v));
                }
            }
            return out;
        }
        if (maxSample > 0 && !(cm instanceof IndexColorModel) && bands >= 3) {
            // RGB(A) samples in 0..maxSample: to 8 bits as getRGB turns 16-bit colour into 8, then luma
            int[][] rgb = new int[3][w];
            float scale = 255f / maxSample;
            for (int y = 0; y < h; y++) {
                for (int band = 0; band < 3; band++) {
                    r.getSamples(0, y, w, 1, band, rgb[band]);
                }
                for (int x = 0; x < w; x++) {
                    int red = Math.min(255, (int) (rgb[0][x] * scale + 0.5f));
                    int green = Math.min(255, (int) (rgb[1][x] * scale + 0.5f));
                    int blue = Math.min(255, (int) (rgb[2][x] * scale + 0.5f));
                    out[y * w + x] = Intensities.luma(red, green, blue) / 255f;
                }
            }
            return out;
        }
        int[] argb = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, argb, 0, w);
            for (int x = 0; x < w; x++) {
                int p = argb[x];
                out[y * w + x] = Intensities.luma((p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff) / 255f;
            }
        }
        return out;
    }
}

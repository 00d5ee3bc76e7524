package org.medsearch.server;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.Resampler;

/**
 * Turns decoded pixels into the PNGs the API serves. The server never sends a source file as it is
 * (it may be a DICOM file whose header names the patient); it sends these renderings of the
 * intensities alone, 8-bit gray, with no metadata chunk.
 *
 * <pre>{@code
 * byte[] png = PngRenderer.png(image);
 * byte[] thumb = PngRenderer.png(PngRenderer.fit(image, 128));
 * }</pre>
 */
public final class PngRenderer {
    private PngRenderer() {}

    /**
     * The image shrunk (antialiased, aspect kept) so that its longer side is at most {@code side};
     * smaller images are returned as they are.
     */
    public static MedicalImage fit(MedicalImage img, int side) {
        int w = img.width();
        int h = img.height();
        if (Math.max(w, h) <= side) {
            return img;
        }
        double s = (double) side / Math.max(w, h);
        int tw = Math.max(1, (int) Math.round(w * s));
        int th = Math.max(1, (int) Math.round(h * s));
        return new MedicalImage(tw, th, Resampler.resize(img.pixels(), w, h, tw, th));
    }

    /** An 8-bit gray PNG of the pixels ([0, 1] maps to 0..255, values outside are clamped). */
    public static byte[] png(MedicalImage img) {
        BufferedImage out = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster r = out.getRaster();
        int[] row = new int[img.width()];
        float[] px = img.pixels();
        for (int y = 0; y < img.height(); y++) {
            int o = y * img.width();
            for (int x = 0; x < row.length; x++) {
                row[x] = Math.round(Math.min(1f, Math.max(0f, px[o + x])) * 255f);
            }
            r.setPixels(0, y, row.length, 1, row);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(out, "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding into memory failed", e);
        }
        return bytes.toByteArray();
    }
}

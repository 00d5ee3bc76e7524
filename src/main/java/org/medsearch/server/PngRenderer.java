package org.medsearch.server;

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
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(img.toGray8(), "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding into memory failed", e);
        }
        return bytes.toByteArray();
    }
}

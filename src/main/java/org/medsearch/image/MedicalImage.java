package org.medsearch.image;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One decoded 2D image: a grayscale raster of intensities already mapped to [0, 1], plus
 * technical metadata. Readers do the mapping because only they know it: an 8-bit PNG divides by
 * 255, a 16-bit one by 65535, a CT slice goes through its modality and VOI LUTs.
 *
 * <p>Metadata holds only technical, non-identifying values (format, bit depth, modality, the
 * window applied, ...). Readers must never put patient names, ids or dates here: this map is
 * written to indexes, logs and API responses.
 *
 * <pre>{@code
 * MedicalImage img = ImageReaders.standard().read(Path.of("scan.png"));
 * float centre = img.pixel(img.width() / 2, img.height() / 2);
 * }</pre>
 *
 * @param width columns, at least 1
 * @param height rows, at least 1
 * @param pixels row-major, {@code width * height} values in [0, 1]
 * @param metadata technical tags, in insertion order
 */
public record MedicalImage(int width, int height, float[] pixels, Map<String, String> metadata) {

    public MedicalImage {
        if (width < 1 || height < 1 || (long) width * height != pixels.length) {
            throw new IllegalArgumentException(width + "x" + height + " image with " + pixels.length + " pixels");
        }
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    public MedicalImage(int width, int height, float[] pixels) {
        this(width, height, pixels, Map.of());
    }

    public float pixel(int x, int y) {
        return pixels[y * width + x];
    }

    /** A copy with one more metadata entry. */
    public MedicalImage with(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.put(key, value);
        return new MedicalImage(width, height, pixels, m);
    }

    /** For display: an 8-bit gray image, [0, 1] mapped to 0..255 and values outside clamped. */
    public BufferedImage toGray8() {
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        byte[] data = ((DataBufferByte) out.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < pixels.length; i++) {
            data[i] = (byte) Math.round(Math.min(1f, Math.max(0f, pixels[i])) * 255f);
        }
        return out;
    }
}

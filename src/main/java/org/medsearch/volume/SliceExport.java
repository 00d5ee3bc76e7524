package org.medsearch.volume;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;
import org.medsearch.util.FileUtil;

/**
 * Saves selected slices as 16-bit grayscale PNGs: the engine of
 * {@code medsearch slices VOLUME --out DIR [--center N | --mask MASK] [--count 5] [--plane axial|coronal|sagittal]}.
 *
 * <p>Files are named {@code <volume>_<plane>_<index>.png}, the index zero-padded to three digits
 * ({@code ch2_axial_045.png}), where {@code <volume>} is the volume's file name without
 * {@code .nii.gz} or {@code .nii}. A pixel value v in [0, 1] is stored as {@code round(v * 65535)}.
 * Each file is written atomically; existing files of the same name are replaced.
 *
 * <pre>{@code
 * List<Path> written = SliceExport.run(Path.of("ch2.nii.gz"), Path.of("out"), Plane.AXIAL, 5, null, null);
 * // out/ch2_axial_088.png .. out/ch2_axial_092.png
 * }</pre>
 */
public final class SliceExport {
    private SliceExport() {}

    /**
     * Reads {@code volumeFile} (a NIfTI file or a DICOM series folder, see {@link Volumes}), selects {@code count} slices along {@code plane} (around
     * {@code center}, or the largest slice of {@code mask}, or the middle slice when both are null)
     * and writes them to {@code outDir}, which is created if needed.
     *
     * @param center a canonical slice index, or null
     * @param mask a NIfTI mask on the volume's grid, or null; not together with {@code center}
     * @return the files written, in slice order
     * @throws ImageFormatException when the volume or mask cannot be read
     * @throws IOException when a file cannot be written
     * @throws IllegalArgumentException for options out of range (see {@link SliceSelector})
     */
    public static List<Path> run(Path volumeFile, Path outDir, Plane plane, int count, Integer center, Path mask)
            throws IOException {
        if (center != null && mask != null) {
            throw new IllegalArgumentException("give either a center slice or a mask, not both");
        }
        Volume v = Volumes.read(volumeFile, ReadLimits.DEFAULT);
        List<MedicalImage> slices;
        if (mask != null) {
            slices = SliceSelector.selectByMask(v, Volumes.read(mask, ReadLimits.DEFAULT), plane, count);
        } else if (center != null) {
            slices = SliceSelector.select(v, plane, center, count);
        } else {
            slices = SliceSelector.selectMiddle(v, plane, count);
        }
        Path name = volumeFile.getFileName();
        return write(slices, outDir, baseName(name == null ? "volume" : name.toString()));
    }

    /**
     * Writes slices from {@link SliceSelector} (their {@code plane} and {@code slice} metadata name
     * the files) as {@code <baseName>_<plane>_<index>.png}.
     */
    public static List<Path> write(List<MedicalImage> slices, Path outDir, String baseName) throws IOException {
        List<Path> out = new ArrayList<>();
        for (MedicalImage img : slices) {
            String plane = img.metadata().get("plane");
            String index = img.metadata().get("slice");
            if (plane == null || index == null) {
                throw new IllegalArgumentException("slice without plane and slice index metadata");
            }
            Path file = outDir.resolve(
                    String.format(Locale.ROOT, "%s_%s_%03d.png", baseName, plane, Integer.parseInt(index)));
            FileUtil.writeAtomically(file, png16(img));
            out.add(file);
        }
        return out;
    }

    /** A 16-bit grayscale PNG of the image. */
    static byte[] png16(MedicalImage img) {
        BufferedImage b = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_USHORT_GRAY);
        float[] px = img.pixels();
        int[] samples = new int[px.length];
        for (int i = 0; i < px.length; i++) {
            samples[i] = Math.round(Math.min(1f, Math.max(0f, px[i])) * 65535f);
        }
        b.getRaster().setSamples(0, 0, img.width(), img.height(), 0, samples);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(b, "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding into memory failed", e);
        }
        return bytes.toByteArray();
    }

    /** The file name without .nii.gz, .nii or .gz, and with anything but letters, digits, '.', '-' as '_'. */
    static String baseName(String fileName) {
        String s = fileName.replaceFirst("(?i)(\\.nii)?(\\.gz)?$", "");
        s = s.replaceAll("[^A-Za-z0-9._-]", "_");
        return s.isEmpty() ? "volume" : s;
    }
}

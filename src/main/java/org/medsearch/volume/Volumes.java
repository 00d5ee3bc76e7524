package org.medsearch.volume;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.ReadLimits;

/**
 * Opens whatever a user calls a volume: a NIfTI file ({@code .nii}, {@code .nii.gz}, recognised by
 * content) or a folder holding one DICOM series.
 *
 * <pre>{@code
 * Volume v = Volumes.read(Path.of("case7/"), ReadLimits.DEFAULT);
 * }</pre>
 */
public final class Volumes {
    private Volumes() {}

    public static Volume read(Path path, ReadLimits limits) throws ImageFormatException {
        if (Files.isDirectory(path)) {
            return DicomSeries.read(path, limits);
        }
        byte[] bytes = ImageReaders.readBytes(path, limits);
        if (!NiftiReader.looksLikeNifti(Arrays.copyOf(bytes, Math.min(bytes.length, 1024)))) {
            throw new ImageFormatException(
                    path + " is not a volume: expected a NIfTI file or a folder with a DICOM series");
        }
        Path name = path.getFileName();
        return NiftiReader.read(bytes, name == null ? "volume" : name.toString(), limits);
    }
}

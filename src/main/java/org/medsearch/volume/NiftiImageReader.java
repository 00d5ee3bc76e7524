package org.medsearch.volume;

import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReader;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;

/**
 * Lets a NIfTI volume stand wherever a 2D image is read ({@link org.medsearch.image.ImageReaders}):
 * the image is the middle axial slice of the canonical volume, windowed and laid out as
 * {@link SliceSelector#selectMiddle} does (anterior at the top, patient's right on the left), with
 * its metadata. Use {@link SliceSelector} directly to choose other slices.
 *
 * <pre>{@code
 * MedicalImage mid = ImageReaders.standard().read(Path.of("ch2.nii.gz")); // 181 x 217, slice 90
 * }</pre>
 */
public final class NiftiImageReader implements ImageReader {

    @Override
    public String name() {
        return "nifti";
    }

    @Override
    public boolean canRead(byte[] head) {
        return NiftiReader.looksLikeNifti(head);
    }

    @Override
    public MedicalImage read(byte[] bytes, ReadLimits limits) throws ImageFormatException {
        Volume v = NiftiReader.read(bytes, "", limits);
        return SliceSelector.selectMiddle(v, Plane.AXIAL, 1).get(0);
    }
}

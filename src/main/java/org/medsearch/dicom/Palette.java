package org.medsearch.dicom;

import org.medsearch.image.ImageFormatException;
import org.medsearch.image.Intensities;

/**
 * The red, green and blue palette colour lookup tables (0028,1101-1103 descriptors, 0028,1201-1203
 * data), reduced to 8-bit entries and folded into one gray (luma) table.
 */
final class Palette {
    private final int[] luma;
    private final int first;

    private Palette(int[] luma, int first) {
        this.luma = luma;
        this.first = first;
    }

    static Palette of(Dataset ds, PixelModule pm) throws ImageFormatException {
        int[][] rgb = new int[3][];
        int entries = -1;
        int first = 0;
        for (int c = 0; c < 3; c++) {
            double[] desc = ds.doubles(Tags.RED_PALETTE_DESCRIPTOR + c);
            Dataset.Element data = ds.element(Tags.RED_PALETTE_DATA + c);
            if (data == null && ds.contains(Tags.SEGMENTED_RED_PALETTE_DATA + c)) {
                throw new ImageFormatException("segmented palette colour lookup tables are not supported");
            }
            if (desc == null || desc.length < 3 || data == null || data.length() <= 0) {
                throw new ImageFormatException("PALETTE COLOR without a complete lookup table");
            }
            int n = (int) desc[0] == 0 ? 65536 : (int) desc[0];
            int bits = (int) desc[2];
            // the first mapped value has the VR of the pixels: read it as signed when they are
            first = pm.signed() ? (short) (int) desc[1] : (int) desc[1] & 0xffff;
            if (n < 1 || n > 65536 || (bits != 8 && bits != 16) || (entries >= 0 && n != entries)) {
                throw new ImageFormatException("invalid palette lookup table descriptor");
            }
            entries = n;
            int[] lut = new int[n];
            if (data.length() == n) {
                for (int k = 0; k < n; k++) {
                    lut[k] = ds.buf[data.offset() + k] & 0xff;
                }
            } else if (data.length() == 2 * n || data.length() == 2 * n + 1) {
                int max = 0;
                for (int k = 0; k < n; k++) {
                    lut[k] = ds.u16(data.offset() + 2 * k);
                    max = Math.max(max, lut[k]);
                }
                if (bits == 16 || max > 255) {
                    for (int k = 0; k < n; k++) {
                        lut[k] >>= 8; // 16-bit entries to 8 bits, as the high byte
                    }
                }
            } else {
                throw new ImageFormatException(
                        "palette lookup table data of " + data.length() + " bytes for " + n + " entries");
            }
            rgb[c] = lut;
        }
        int[] luma = new int[entries];
        for (int k = 0; k < entries; k++) {
            luma[k] = Intensities.luma(rgb[0][k], rgb[1][k], rgb[2][k]);
        }
        return new Palette(luma, first);
    }

    /** Gray value 0-255 of a stored index; indices outside the table take its first or last entry. */
    int luma(int index) {
        int k = index - first;
        return luma[k < 0 ? 0 : Math.min(k, luma.length - 1)];
    }
}

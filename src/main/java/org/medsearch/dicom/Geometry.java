package org.medsearch.dicom;

/**
 * Where an image lies in the patient coordinate system, for assembling slices into volumes. Any field
 * may be null when the file lacks it; arrays are fresh copies.
 *
 * <pre>{@code
 * Geometry g = dicom.geometry();
 * double z = g.imagePositionPatient() == null ? g.instanceNumber() : g.imagePositionPatient()[2];
 * }</pre>
 *
 * @param imagePositionPatient (0020,0032) x, y, z of the first pixel's centre, in mm
 * @param imageOrientationPatient (0020,0037) direction cosines of the first row and the first column
 * @param pixelSpacing (0028,0030) distance between rows, then between columns, in mm
 * @param sliceThickness (0018,0050) in mm
 * @param instanceNumber (0020,0013)
 */
public record Geometry(
        double[] imagePositionPatient,
        double[] imageOrientationPatient,
        double[] pixelSpacing,
        Double sliceThickness,
        Integer instanceNumber) {}

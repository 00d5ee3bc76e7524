package org.medsearch.volume;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.medsearch.dicom.DicomFile;
import org.medsearch.dicom.Geometry;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.ReadLimits;

/**
 * A folder of single-frame DICOM slices as one {@link Volume}. The slices are sorted by their
 * position along the slice normal (ImagePositionPatient projected on the cross product of the
 * ImageOrientationPatient row and column directions), with InstanceNumber as the fallback when the
 * geometry is missing; the affine maps DICOM's patient space (LPS) to NIfTI's RAS, so "axial" means
 * axial here as for a NIfTI file.
 *
 * <p>Contract: all slices must come from one series and share rows, columns and orientation;
 * otherwise, and for folders without DICOM slices, {@link ImageFormatException} says why. Files that
 * are not DICOM are ignored. Intensities are modality values (Hounsfield units for CT).
 *
 * <pre>{@code
 * Volume v = DicomSeries.read(Path.of("series/"), ReadLimits.DEFAULT);
 * List<MedicalImage> five = SliceSelector.selectMiddle(v, Plane.AXIAL, 5);
 * }</pre>
 */
public final class DicomSeries {
    private DicomSeries() {}

    private record Slice(Path file, DicomFile dicom, Geometry geometry, double position) {}

    public static Volume read(Path folder, ReadLimits limits) throws ImageFormatException {
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new ImageFormatException("cannot list " + folder + ": " + e.getMessage());
        }
        List<Slice> slices = new ArrayList<>();
        String series = null;
        for (Path f : files) {
            byte[] bytes = ImageReaders.readBytes(f, limits);
            if (!DicomFile.looksLikeDicom(java.util.Arrays.copyOf(bytes, Math.min(bytes.length, 512)))) {
                continue;
            }
            DicomFile d = DicomFile.parse(bytes, limits);
            if (!d.hasPixelData()) {
                continue;
            }
            String uid = d.identifiers().seriesInstanceUid();
            if (series == null) {
                series = uid;
            } else if (uid != null && !uid.equals(series)) {
                throw new ImageFormatException(folder + " holds more than one DICOM series; give each its own folder");
            }
            if (d.frameCount() != 1) {
                throw new ImageFormatException(
                        f.getFileName() + " is a multi-frame file; a series folder needs single-frame slices");
            }
            slices.add(new Slice(f, d, d.geometry(), 0));
        }
        if (slices.isEmpty()) {
            throw new ImageFormatException(folder + " holds no DICOM slices");
        }
        Slice first = slices.get(0);
        int rows = first.dicom().rows();
        int cols = first.dicom().columns();
        double[] orient = first.geometry().imageOrientationPatient();
        boolean geometric = orient != null
                && slices.stream()
                        .allMatch(s -> s.geometry().imagePositionPatient() != null
                                && s.geometry().imageOrientationPatient() != null);
        double[] rowDir = geometric ? new double[] {orient[0], orient[1], orient[2]} : new double[] {1, 0, 0};
        double[] colDir = geometric ? new double[] {orient[3], orient[4], orient[5]} : new double[] {0, 1, 0};
        double[] normal = cross(rowDir, colDir);
        List<Slice> sorted = new ArrayList<>();
        for (Slice s : slices) {
            if (s.dicom().rows() != rows || s.dicom().columns() != cols) {
                throw new ImageFormatException(s.file().getFileName() + " is "
                        + s.dicom().columns() + "x" + s.dicom().rows() + ", the series is " + cols + "x" + rows);
            }
            double pos;
            if (geometric) {
                if (!java.util.Arrays.equals(s.geometry().imageOrientationPatient(), orient)) {
                    throw new ImageFormatException(s.file().getFileName() + " is oriented differently from the series");
                }
                pos = dot(s.geometry().imagePositionPatient(), normal);
            } else {
                Integer n = s.geometry().instanceNumber();
                pos = n == null ? sorted.size() : n;
            }
            sorted.add(new Slice(s.file(), s.dicom(), s.geometry(), pos));
        }
        sorted.sort(Comparator.comparingDouble(Slice::position)
                .thenComparing(s -> s.file().toString()));

        int nz = sorted.size();
        long voxels = (long) cols * rows * nz;
        limits.checkPixels(cols, rows, nz);
        // the volume is floats, whatever the slices' bit depth
        limits.checkDecoded(cols, rows, 1, 32, nz, 0);
        float[] data = new float[Math.toIntExact(voxels)];
        for (int k = 0; k < nz; k++) {
            float[] frame = sorted.get(k).dicom().frame(0);
            System.arraycopy(frame, 0, data, k * rows * cols, rows * cols);
        }
        double[] spacing = first.geometry().pixelSpacing();
        double dr = spacing != null && spacing[0] > 0 ? spacing[0] : 1;
        double dc = spacing != null && spacing[1] > 0 ? spacing[1] : 1;
        double[] origin = geometric ? sorted.get(0).geometry().imagePositionPatient() : new double[3];
        double[] step;
        if (geometric && nz > 1) {
            double[] last = sorted.get(nz - 1).geometry().imagePositionPatient();
            step = new double[] {
                (last[0] - origin[0]) / (nz - 1), (last[1] - origin[1]) / (nz - 1), (last[2] - origin[2]) / (nz - 1)
            };
        } else {
            Double t = first.geometry().sliceThickness();
            double th = t == null || t <= 0 ? 1 : t;
            step = new double[] {normal[0] * th, normal[1] * th, normal[2] * th};
        }
        if (Math.abs(dot(step, step)) < 1e-12) {
            throw new ImageFormatException(folder + ": all slices lie at the same position");
        }
        // voxel (i = column, j = row, k = slice) to LPS, then LPS to RAS: negate x and y
        double[][] affine = new double[4][4];
        for (int r = 0; r < 3; r++) {
            double sign = r < 2 ? -1 : 1;
            affine[r][0] = sign * rowDir[r] * dc;
            affine[r][1] = sign * colDir[r] * dr;
            affine[r][2] = sign * step[r];
            affine[r][3] = sign * origin[r];
        }
        affine[3][3] = 1;
        Map<String, String> meta = new LinkedHashMap<>(first.dicom().technicalMetadata());
        meta.put("format", "dicom-series");
        meta.put("slices", Integer.toString(nz));
        meta.put("sortedBy", geometric ? "ImagePositionPatient" : "InstanceNumber");
        return new Volume(cols, rows, nz, data, affine, meta);
    }

    private static double[] cross(double[] a, double[] b) {
        return new double[] {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    }

    private static double dot(double[] a, double[] b) {
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    }
}

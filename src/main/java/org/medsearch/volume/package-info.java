/**
 * 3D volumes: reading NIfTI, making "axial" mean axial, and cutting the slices around a finding.
 *
 * <ol>
 *   <li>{@link org.medsearch.volume.NiftiReader} reads a {@code .nii} or {@code .nii.gz} file into a
 *       {@link org.medsearch.volume.Volume} (floats, RAS+ affine, technical metadata); it throws only
 *       {@link org.medsearch.image.ImageFormatException}.
 *   <li>{@link org.medsearch.volume.Volume#toCanonical()} permutes and flips the axes (no
 *       resampling) so they point right, anterior, superior, as nibabel's
 *       {@code as_closest_canonical}; {@link org.medsearch.volume.Orientation} has the details.
 *   <li>{@link org.medsearch.volume.SliceSelector} takes {@code count} slices of a
 *       {@link org.medsearch.volume.Plane} around a centre, the middle or a mask's largest slice,
 *       windowed to [0, 1] by {@link org.medsearch.volume.IntensityWindow} and laid out as a
 *       radiologist expects; {@link org.medsearch.volume.SliceExport} saves them as 16-bit PNGs.
 * </ol>
 *
 * <pre>{@code
 * Volume v = NiftiReader.read(Path.of("case.nii.gz"));
 * List<MedicalImage> slices = SliceSelector.selectMiddle(v, Plane.AXIAL, 5);
 * SliceExport.write(slices, Path.of("out"), "case");   // out/case_axial_043.png .. _047.png
 * }</pre>
 */
package org.medsearch.volume;

package org.medsearch.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.testutil.Shared;
import org.medsearch.volume.Plane;

/** Data sets of DICOM files and NIfTI volumes, as a hospital would hand them over. */
class MedicalDatasetTest {

    @Test
    void dicomFilesCarryModalityAndIdsAndVolumesBecomeSlices(@TempDir Path root) throws Exception {
        Path dicom = Shared.require("samples/dicom");
        Path nifti = Shared.require("samples/nifti");
        Files.createDirectories(root.resolve("ct"));
        Files.createDirectories(root.resolve("brain"));
        Files.copy(dicom.resolve("CT_small.dcm"), root.resolve("ct/a.dcm"));
        Files.copy(dicom.resolve("CT-MONO2-16-ankle.dcm"), root.resolve("ct/b.dcm"));
        Files.copy(nifti.resolve("ch2.nii.gz"), root.resolve("brain/ch2.nii.gz"));
        Files.copy(nifti.resolve("inia19-t1-brain.nii.gz"), root.resolve("brain/inia19.nii.gz"));

        Dataset ds = new DatasetScanner(ImageReaders.standard())
                .optVolumeSlices(5, Plane.AXIAL)
                .scan(root);
        assertEquals(2 + 5 + 5, ds.size(), ds.samples().toString());
        Sample ct = ds.samples().stream()
                .filter(s -> s.relativePath().equals("ct/a.dcm"))
                .findFirst()
                .orElseThrow();
        assertEquals("CT", ct.modality());
        assertNotNull(ct.patientId());
        assertNotNull(ct.studyId());

        List<Sample> ch2 = ds.samples().stream()
                .filter(s -> s.relativePath().startsWith("brain/ch2.nii.gz#"))
                .toList();
        assertEquals(
                List.of(
                        "brain/ch2.nii.gz#axial/088",
                        "brain/ch2.nii.gz#axial/089",
                        "brain/ch2.nii.gz#axial/090",
                        "brain/ch2.nii.gz#axial/091",
                        "brain/ch2.nii.gz#axial/092"),
                ch2.stream().map(Sample::relativePath).toList());
        assertEquals(5, ch2.stream().map(Sample::contentHash).distinct().count(), "each slice is its own image");

        // the slices of one volume stay in one part of the split
        Split split = Split.stratified(ds, SplitRatios.DEFAULT, 1);
        Set<Split.Part> parts =
                ch2.stream().map(s -> split.partOf(s.relativePath())).collect(Collectors.toSet());
        assertEquals(1, parts.size(), parts.toString());

        // a slice loads by its sample and by the reference the index stores, to the same pixels
        Sample mid = ch2.get(2);
        MedicalImage a = SampleLoader.load(mid, ImageReaders.standard());
        MedicalImage b = SampleLoader.load(SampleLoader.reference(mid), ImageReaders.standard());
        assertEquals("90", a.metadata().get("slice"));
        assertEquals("axial", a.metadata().get("plane"));
        assertArrayEquals(a.pixels(), b.pixels());
        assertTrue(SampleLoader.reference(mid).endsWith("ch2.nii.gz#axial/090"));
    }

    @Test
    void aManifestMaskChoosesTheSlices(@TempDir Path root) throws Exception {
        Path ch2 = Shared.require("samples/nifti/ch2.nii.gz");
        Files.copy(ch2, root.resolve("vol.nii.gz"));
        // a mask that is the volume itself: its largest axial slice is where the head is widest
        Files.copy(ch2, root.resolve("mask.nii.gz"));
        Files.writeString(
                root.resolve("m.csv"), "path,label,patient_id,modality,mask\nvol.nii.gz,brain,,MR,mask.nii.gz\n");
        Dataset ds = new DatasetScanner(ImageReaders.standard())
                .optVolumeSlices(3, Plane.AXIAL)
                .scan(root.resolve("m.csv"));
        int largest = org.medsearch.volume.SliceSelector.largestMaskSlice(
                org.medsearch.volume.NiftiReader.read(ch2).toCanonical(), Plane.AXIAL);
        assertEquals(
                List.of(
                        String.format("vol.nii.gz#axial/%03d", largest - 1),
                        String.format("vol.nii.gz#axial/%03d", largest),
                        String.format("vol.nii.gz#axial/%03d", largest + 1)),
                ds.samples().stream().map(Sample::relativePath).toList());
    }
}

package org.medsearch.dataset;

import java.nio.file.Path;

/**
 * One usable image of a data set, after the scan has read and decoded it once. An image is a 2D
 * file, or one slice of a volume file ({@link #slice()} set).
 *
 * <p>{@code patientId} and {@code studyId} are raw identifiers from a manifest or a DICOM header:
 * they exist only in memory, for grouping. Anything written to disk carries
 * {@link PatientKeys#key salted keys} instead, and {@link #toString()} never shows them.
 *
 * @param relativePath the sample's stable name in splits and reports: the path relative to the data
 *     set's root, with '/' separators, plus {@code #plane/index} for a volume slice
 * @param path the file to read
 * @param label the class, or null when unlabelled
 * @param patientId the raw patient identifier, or null
 * @param modality e.g. "CT", or null
 * @param contentHash SHA-256 of the file's bytes (of the volume and slice, for a slice), hex
 * @param studyId the raw study identifier (DICOM StudyInstanceUID), or null
 * @param slice which slice of a volume file, or null for a 2D file
 */
public record Sample(
        String relativePath,
        Path path,
        String label,
        String patientId,
        String modality,
        String contentHash,
        String studyId,
        SliceRef slice) {

    /** A slice of a volume: the plane and the canonical index along it. */
    public record SliceRef(String plane, int index) {
        @Override
        public String toString() {
            return plane + "/" + String.format("%03d", index);
        }
    }

    public Sample(String relativePath, Path path, String label, String patientId, String modality, String contentHash) {
        this(relativePath, path, label, patientId, modality, contentHash, null, null);
    }

    @Override
    public String toString() {
        // never print the patient or study id
        return "Sample[" + relativePath + ", " + label + "]";
    }
}

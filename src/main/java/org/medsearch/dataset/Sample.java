package org.medsearch.dataset;

import java.nio.file.Path;

/**
 * One usable image of a data set, after the scan has read and decoded it once.
 *
 * <p>{@code patientId} is the raw identifier from a manifest or a DICOM header: it exists only in
 * memory, for grouping. Anything written to disk carries {@link PatientKeys#key salted hashes} instead.
 *
 * @param relativePath the path relative to the data set's root, with '/' separators: the sample's
 *     stable name in splits and reports
 * @param path where to read it
 * @param label the class, or null when unlabelled
 * @param patientId the raw patient identifier, or null
 * @param modality e.g. "CT", or null
 * @param contentHash SHA-256 of the file's bytes, hex
 */
public record Sample(String relativePath, Path path, String label, String patientId, String modality,
        String contentHash) {

    @Override
    public String toString() {
        // never print the patient id
        return "Sample[" + relativePath + ", " + label + "]";
    }
}

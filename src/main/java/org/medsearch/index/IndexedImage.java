package org.medsearch.index;

import java.util.Map;

/**
 * One image as the index stores it. Only technical metadata and salted patient/study keys are
 * stored; never a raw patient identifier.
 *
 * @param id the index's own id, assigned on insertion, never reused
 * @param path the source file, as given at index time
 * @param label the known class, or null for an unlabelled image
 * @param predicted the model's class for the image, or null for a model without a classifier
 * @param confidence the model's probability for {@code predicted}
 * @param contentHash SHA-256 of the file's bytes
 * @param vector the 512-d feature vector
 * @param split the data set split the image belongs to ("train", "val", "test"), or null
 * @param modality e.g. "CT", or null
 * @param patientKey {@link org.medsearch.dataset.PatientKeys salted patient key}, or null
 * @param studyKey salted study key, or null
 * @param metadata technical metadata of the decoded image (format, window, ...)
 */
public record IndexedImage(
        long id,
        String path,
        String label,
        String predicted,
        float confidence,
        String contentHash,
        float[] vector,
        String split,
        String modality,
        String patientKey,
        String studyKey,
        Map<String, String> metadata) {

    /**
     * The class used for class-filtered search: the label when known, else the prediction, else ""
     * (an unlabelled image indexed by a backbone without a classifier).
     */
    public String searchClass() {
        return label != null ? label : predicted != null ? predicted : "";
    }

    /** A copy with another id. */
    public IndexedImage withId(long newId) {
        return new IndexedImage(
                newId,
                path,
                label,
                predicted,
                confidence,
                contentHash,
                vector,
                split,
                modality,
                patientKey,
                studyKey,
                metadata);
    }
}

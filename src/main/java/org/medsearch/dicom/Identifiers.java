package org.medsearch.dicom;

/**
 * The identifiers medsearch needs to group and deduplicate images (which patient, study, series and
 * instance), kept apart from technical metadata so that they cannot leak into it by accident. Any
 * may be null when the file lacks it. {@link #toString()} hides every value.
 *
 * <pre>{@code
 * Identifiers id = dicom.identifiers();
 * String series = id.seriesInstanceUid(); // null when the file has none
 * }</pre>
 *
 * @param patientId (0010,0020) PatientID
 * @param studyInstanceUid (0020,000D) StudyInstanceUID
 * @param seriesInstanceUid (0020,000E) SeriesInstanceUID
 * @param sopInstanceUid (0008,0018) SOPInstanceUID
 */
public record Identifiers(String patientId, String studyInstanceUid, String seriesInstanceUid, String sopInstanceUid) {

    @Override
    public String toString() {
        return "Identifiers[<hidden>]";
    }
}

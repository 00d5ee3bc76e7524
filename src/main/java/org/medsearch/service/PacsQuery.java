package org.medsearch.service;

import org.medsearch.dicomweb.DicomJson;
import org.medsearch.dicomweb.DicomWebClient;
import org.medsearch.dicomweb.DicomWebException;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.util.MedsearchException;

/**
 * A query image taken from a PACS by its SOP Instance UID: found by QIDO-RS, retrieved by WADO-RS
 * and decoded in memory by the same readers as an uploaded file, so it gives the same hits as the
 * same file searched from disk. Nothing is written to disk.
 *
 * <pre>{@code
 * MedicalImage q = PacsQuery.read(pacs, "1.2.840.113619.2.1.2411.1031152382.365.1.736169244", readers);
 * }</pre>
 */
public final class PacsQuery {
    private PacsQuery() {}

    public static MedicalImage read(DicomWebClient pacs, String sopInstanceUid, ImageReaders readers)
            throws java.io.IOException {
        byte[] bytes = retrieve(pacs, sopInstanceUid);
        try {
            return readers.read(bytes);
        } catch (ImageFormatException e) {
            throw new ImageFormatException("instance " + sopInstanceUid + " of the PACS: " + e.getMessage());
        }
    }

    /** The instance's bytes; a UID the PACS does not know is a {@link MedsearchException}. */
    public static byte[] retrieve(DicomWebClient pacs, String sopInstanceUid) throws MedsearchException {
        DicomJson found = pacs.findInstance(sopInstanceUid)
                .orElseThrow(() -> new DicomWebException(
                        DicomWebException.Kind.NO_SUCH_INSTANCE,
                        "the PACS at " + pacs.location() + " has no instance " + sopInstanceUid));
        String study = found.string(DicomJson.STUDY_UID);
        String series = found.string(DicomJson.SERIES_UID);
        if (study == null || series == null) {
            throw new DicomWebException(
                    DicomWebException.Kind.FAILED,
                    "the PACS at " + pacs.location() + " lists instance " + sopInstanceUid
                            + " without its study and series");
        }
        return pacs.retrieve(study, series, sopInstanceUid);
    }
}

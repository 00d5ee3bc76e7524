package org.medsearch.server;

import org.medsearch.dicomweb.DicomWebClient;
import org.medsearch.search.ViewerLink;

/**
 * What a server knows of the hospital's PACS: an archive to take query images from by SOP Instance
 * UID ({@code instance} in {@code POST /api/search}), and a viewer to link hits to. Either may be
 * null. The server only reads the archive: uploads are indexed locally, never stored in the PACS.
 *
 * <pre>{@code
 * SearchServer.start(config, service, new PacsAccess(pacs, ViewerLink.parse("https://ohif/viewer?StudyInstanceUIDs={study}")));
 * }</pre>
 *
 * @param pacs the archive, or null
 * @param viewer the viewer link template, or null
 */
public record PacsAccess(DicomWebClient pacs, ViewerLink viewer) {
    public static final PacsAccess NONE = new PacsAccess(null, null);
}

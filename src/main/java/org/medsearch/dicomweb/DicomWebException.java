package org.medsearch.dicomweb;

import org.medsearch.util.MedsearchException;

/**
 * A DICOMweb request that failed for good (after its retries), with what kind of failure it was,
 * so that callers can react (a follower keeps polling an archive that restarts, but not one that
 * refuses its credentials; the API answers 404 for a missing instance, 502 for the rest).
 *
 * <pre>{@code
 * catch (DicomWebException e) {
 *     if (e.kind() == DicomWebException.Kind.NO_SUCH_INSTANCE) { ... }
 * }
 * }</pre>
 */
public final class DicomWebException extends MedsearchException {
    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Kind {
        /** No connection, no answer in time, or only 5xx answers. */
        UNREACHABLE,
        /** HTTP 401 or 403. */
        CREDENTIALS,
        /** TLS failed: an untrusted certificate, or one for another host. */
        TLS,
        /** The answers are not DICOMweb (an HTML page, a 404 on the service root). */
        NOT_DICOMWEB,
        /** The archive has no such instance (any more). */
        NO_SUCH_INSTANCE,
        /** An instance over the size limit. */
        TOO_LARGE,
        /** Any other final answer. */
        FAILED
    }

    private final Kind kind;

    public DicomWebException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}

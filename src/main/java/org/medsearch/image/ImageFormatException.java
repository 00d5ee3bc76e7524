package org.medsearch.image;

import org.medsearch.util.MedsearchException;

/**
 * The bytes are not an image medsearch can read: unknown content, a truncated or corrupt file, an
 * unsupported encoding, or a size beyond the configured limits. The message is one line that a
 * user can act on; it never carries pixel data or patient information.
 */
public class ImageFormatException extends MedsearchException {
    private static final long serialVersionUID = 1L;

    public ImageFormatException(String message) {
        super(message);
    }

    public ImageFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}

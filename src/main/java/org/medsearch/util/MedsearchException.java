package org.medsearch.util;

import java.io.IOException;

/**
 * A problem the user can fix (a missing model, an index built by another model, a bad option),
 * with a one-line message that says what to do. The CLI prints it without a stack trace and exits
 * with status 2; the server turns it into a 4xx JSON error.
 */
public class MedsearchException extends IOException {
    private static final long serialVersionUID = 1L;

    public MedsearchException(String message) {
        super(message);
    }

    public MedsearchException(String message, Throwable cause) {
        super(message, cause);
    }
}

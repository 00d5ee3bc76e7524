package org.medsearch.util;

import java.io.IOException;

/**
 * The one user error type: a problem the user can fix (a missing model, an index built by another
 * model, a file that is not an image, a bad value), with a one-line message that says what to do
 * and names no command-line flag (the layers below the CLI know none). The CLI prints it without a
 * stack trace and exits with status 2; the server answers it with a 4xx JSON error carrying the
 * message. Every other exception is a bug: exit status 1, or HTTP 500 without detail.
 *
 * <pre>{@code
 * throw new MedsearchException("index " + dir + " does not exist: build it with 'medsearch index'");
 * }</pre>
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

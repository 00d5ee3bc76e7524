package org.medsearch.model;

import org.medsearch.util.MedsearchException;

/** A weights file (safetensors, .pth) that cannot be read: the message names the file and the fault. */
public class WeightsFormatException extends MedsearchException {
    private static final long serialVersionUID = 1L;

    public WeightsFormatException(String message) {
        super(message);
    }

    public WeightsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}

package org.medsearch.model;

import java.io.IOException;

/** A weights file (safetensors, .pth) that cannot be read: the message names the file and the fault. */
public class WeightsFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public WeightsFormatException(String message) {
        super(message);
    }

    public WeightsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}

package org.medsearch.image;

/**
 * A decode that is acceptable but cannot start now: the shared {@link MemoryBudget} stayed full
 * for longer than its wait. Unlike its parent this says nothing against the file; the server
 * answers it with 503 and {@code Retry-After}, a batch job may simply retry.
 */
public class DecodeCapacityException extends ImageFormatException {
    private static final long serialVersionUID = 1L;

    public DecodeCapacityException(String message) {
        super(message);
    }
}

package org.medsearch.dataset;

import org.medsearch.util.MedsearchException;

/** A data set that cannot be used as given: a missing folder, a class without images, a bad manifest. */
public class DatasetException extends MedsearchException {
    private static final long serialVersionUID = 1L;

    public DatasetException(String message) {
        super(message);
    }
}

package org.medsearch.cli;

import org.medsearch.service.Stores;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Option;

/** {@code --fetch}: how many graph candidates the exact re-rank sees; search and serve share it. */
final class FetchOption {

    /** Beyond this a scan is as cheap, and the re-rank's heap cost keeps growing. */
    static final int MAX = 10_000;

    @Option(
            names = "--fetch",
            paramLabel = "N",
            description = "Candidates an approximate graph search fetches before the exact re-rank;"
                    + " more gives higher recall, more slowly (default ${DEFAULT-VALUE}).")
    int fetch = Stores.DEFAULT_FETCH;

    /** The checked value; a user mistake is reported before anything is loaded. */
    int value() throws MedsearchException {
        if (fetch < 1 || fetch > MAX) {
            throw new MedsearchException("--fetch must be between 1 and " + MAX + ", not " + fetch);
        }
        return fetch;
    }
}

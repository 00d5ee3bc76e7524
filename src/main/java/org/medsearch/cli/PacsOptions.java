package org.medsearch.cli;

import java.nio.file.Path;
import java.time.Duration;
import org.medsearch.dicomweb.DicomWebClient;
import org.medsearch.dicomweb.DicomWebLocation;
import org.medsearch.dicomweb.PacsCredentials;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Option;

/**
 * How to reach a DICOMweb archive: credentials (a file, or {@code $MEDSEARCH_PACS_AUTH}: never a
 * flag value, which {@code ps} shows), trust, parallelism and patience. index, search and serve
 * share them.
 */
final class PacsOptions {

    @Option(
            names = "--pacs-auth",
            paramLabel = "FILE",
            description = "A file holding the PACS credentials, one line: 'basic USER:PASSWORD' or 'bearer TOKEN'"
                    + " (default: the environment variable " + PacsCredentials.ENV + ", else none).")
    Path authFile;

    @Option(
            names = "--pacs-trust",
            paramLabel = "FILE",
            description = "CA certificates to trust for dicomwebs:// (a PEM file, or a PKCS#12 or JKS store"
                    + " without password) instead of the JDK's trust store.")
    Path trustStore;

    @Option(
            names = "--pacs-parallel",
            paramLabel = "N",
            description = "Retrievals from the PACS at once (default ${DEFAULT-VALUE}).")
    int parallel = 4;

    @Option(
            names = "--pacs-retries",
            paramLabel = "N",
            description = "Retries of a PACS request that failed to connect, timed out or got a 5xx, with"
                    + " back-off from 0.5 s, doubling (default ${DEFAULT-VALUE}).")
    int retries = 4;

    @Option(
            names = "--pacs-timeout",
            paramLabel = "SECONDS",
            description = "The longest a connection or an answer of the PACS may take; failed requests are"
                    + " retried (--pacs-retries) (default ${DEFAULT-VALUE}).")
    int timeoutSeconds = 30;

    /** A client for {@code location}, its options checked. */
    DicomWebClient client(DicomWebLocation location) throws MedsearchException {
        if (parallel < 1 || parallel > 64) {
            throw new MedsearchException("--pacs-parallel must be between 1 and 64, got " + parallel);
        }
        if (timeoutSeconds < 1) {
            throw new MedsearchException("--pacs-timeout must be at least 1 second, got " + timeoutSeconds);
        }
        if (retries < 0 || retries > 20) {
            throw new MedsearchException("--pacs-retries must be between 0 and 20, got " + retries);
        }
        if (trustStore != null && !location.tls()) {
            throw new MedsearchException("--pacs-trust is for dicomwebs:// (HTTPS) locations, not " + location);
        }
        return DicomWebClient.builder()
                .setLocation(location)
                .optCredentials(PacsCredentials.resolve(authFile, System.getenv()))
                .optTrustStore(trustStore)
                .optParallel(parallel)
                .optTimeout(Duration.ofSeconds(timeoutSeconds))
                .optRetries(retries, 500)
                .build();
    }
}

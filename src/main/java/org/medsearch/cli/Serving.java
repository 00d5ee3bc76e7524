package org.medsearch.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.InferenceRuntime;
import org.medsearch.server.SearchServer;
import org.medsearch.server.ServerConfig;
import org.medsearch.service.IndexLocation;
import org.medsearch.service.Models;
import org.medsearch.service.SearchService;
import org.medsearch.service.Stores;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/** Serving a model and an index until the JVM is asked to stop: {@code serve}, and the end of {@code demo}. */
final class Serving {
    private Serving() {}

    /**
     * Loads the model, opens the index (for writing only when writes are on; graph searches fetch
     * {@code fetch} candidates), serves until the JVM
     * is asked to stop (Ctrl-C, SIGTERM), then stops gracefully and closes the index and the model.
     */
    static void run(
            Path modelDir,
            IndexLocation indexDir,
            InferenceRuntime runtime,
            ServerConfig cfg,
            int fetch,
            PrintWriter out,
            PrintWriter err)
            throws IOException, InterruptedException {
        run(modelDir, indexDir, runtime, cfg, fetch, org.medsearch.server.PacsAccess.NONE, out, err);
    }

    /** As above, with a PACS to take query images from and a viewer to link hits to. */
    static void run(
            Path modelDir,
            IndexLocation indexDir,
            InferenceRuntime runtime,
            ServerConfig cfg,
            int fetch,
            org.medsearch.server.PacsAccess pacs,
            PrintWriter out,
            PrintWriter err)
            throws IOException, InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        try (EmbeddingBackend backend = Models.open(modelDir, 0, runtime, Progress.NONE);
                VectorStore idx = Stores.open(indexDir, cfg.writesEnabled(), fetch);
                org.medsearch.service.Explainer explainer =
                        org.medsearch.service.Explainer.open(modelDir, 0, Progress.NONE)) {
            SearchServer server;
            try {
                server = SearchServer.start(cfg, new SearchService(backend, idx), pacs, explainer);
            } catch (RuntimeException e) {
                throw new MedsearchException("cannot serve on " + cfg.host() + ":" + cfg.port() + ": "
                        + Main.oneLine(String.valueOf(e.getMessage())));
            }
            Runtime.getRuntime()
                    .addShutdownHook(new Thread(
                            () -> {
                                try {
                                    server.stop();
                                } catch (RuntimeException e) {
                                    err.println("medsearch: stopping: " + e);
                                    e.printStackTrace(err);
                                    err.flush();
                                } finally {
                                    stopped.countDown();
                                }
                                try {
                                    // the JVM halts when the hooks return: let the index and the model close first
                                    closed.await(10, TimeUnit.SECONDS);
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            },
                            "medsearch-shutdown"));
            if (!ServerConfig.isLoopback(cfg.host()) && cfg.tls() == null) {
                err.println("medsearch: warning: listening on " + cfg.host() + ", not only on this machine, "
                        + "without TLS: give --tls-keystore, or put a reverse proxy with HTTPS in front");
            }
            out.printf(
                    "Serving %d images, model %s, writes %s, audit trail %s%nOpen %s (Ctrl-C to stop)%n",
                    idx.size(),
                    backend.fingerprint(),
                    cfg.writesEnabled() ? "on" : "off",
                    cfg.audit().on() ? cfg.audit().file().toAbsolutePath() : "off",
                    server.url());
            out.flush();
            err.flush();
            stopped.await();
            out.println("Stopped: the requests in flight were answered.");
            out.flush();
        } finally {
            closed.countDown();
        }
    }
}

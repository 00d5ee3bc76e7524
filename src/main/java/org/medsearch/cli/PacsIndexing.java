package org.medsearch.cli;

import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.medsearch.dataset.ScanReport;
import org.medsearch.dicomweb.DicomWebClient;
import org.medsearch.dicomweb.DicomWebLocation;
import org.medsearch.dicomweb.QidoFilter;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.service.Models;
import org.medsearch.service.PacsSync;
import org.medsearch.service.Stores;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * {@code index --from dicomweb://...}: one pass, or with {@code --follow} a pass every interval.
 * Ctrl-C and SIGTERM set a flag that ends the pass after the chunk being embedded; the shutdown
 * hook waits until the index is committed and closed, so a stop never leaves work half-written.
 */
final class PacsIndexing {

    /** How long a stop waits for the chunk being embedded before the JVM exits anyway. */
    private static final long STOP_GRACE_SECONDS = 120;

    private final IndexCommand cmd;
    private final PrintWriter out;

    PacsIndexing(IndexCommand cmd, PrintWriter out) {
        this.cmd = cmd;
        this.out = out;
    }

    int run() throws Exception {
        DicomWebLocation location = DicomWebLocation.parse(cmd.from);
        QidoFilter filter = QidoFilter.of(cmd.modality, cmd.studyDate, cmd.bodyPart);
        if (cmd.model == null) {
            throw new MedsearchException("index --from a PACS needs --model");
        }
        if (cmd.parts != null || cmd.prune || cmd.worker != null) {
            throw new MedsearchException("--split, --prune and --worker are for folders, not for a PACS");
        }
        if (cmd.commitEvery < 1 || cmd.batch < 1 || (cmd.workers != null && cmd.workers < 1)) {
            throw new MedsearchException("--commit-every, --batch and --workers must be at least 1");
        }
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch closed = new CountDownLatch(1);
        Object sleeper = new Object();
        Thread hook = new Thread(
                () -> {
                    stop.set(true);
                    synchronized (sleeper) {
                        sleeper.notifyAll();
                    }
                    try {
                        closed.await(STOP_GRACE_SECONDS, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "medsearch-pacs-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try (DicomWebClient pacs = cmd.pacs.client(location)) {
            pacs.probe(); // a wrong password or a wrong URL is said before the model loads
            Progress progress = Output.progress(cmd.quiet);
            try (EmbeddingBackend backend = Models.open(cmd.model, cmd.imageSize, cmd.runtime.value(), progress)) {
                if (!backend.hasClassifier()) {
                    out.println("Note: " + cmd.model + " has no classifier: images are indexed by their ImageNet"
                            + " features alone, and searches must use --scope all");
                }
                PacsSync.Options opts = PacsSync.Options.defaults()
                        .withFilter(filter)
                        .withLinkBack(cmd.linkBack)
                        .withBatch(cmd.batch, cmd.commitEvery)
                        .withVolumeSlices(cmd.volumes.slices, cmd.volumes.plane);
                try (VectorStore idx = Stores.openOrCreate(cmd.index, Models.indexInfo(backend, cmd.vectors))) {
                    PacsSync sync = new PacsSync(pacs, backend, progress, out::println)
                            .setKeys(Stores.patientKeys(cmd.index, idx, true))
                            .optLedger(Stores.pacsLedger(cmd.index, location.toString()))
                            .optWorkers(cmd.workers)
                            .optStop(stop);
                    loop(sync, idx, opts, pacs, location, stop, sleeper);
                }
            }
        } finally {
            closed.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is stopping: the hook is running and now returns
            }
        }
        out.flush();
        return 0;
    }

    private void loop(
            PacsSync sync,
            VectorStore idx,
            PacsSync.Options opts,
            DicomWebClient pacs,
            DicomWebLocation location,
            AtomicBoolean stop,
            Object sleeper)
            throws Exception {
        boolean first = true;
        while (true) {
            PacsSync.Report r;
            try {
                r = sync.sync(idx, opts);
            } catch (MedsearchException e) {
                // a PACS restarting must not end a follower that has already worked; a bad password does at once
                if (first
                        || !cmd.follow
                        || !(e instanceof org.medsearch.dicomweb.DicomWebException d)
                        || d.kind() != org.medsearch.dicomweb.DicomWebException.Kind.UNREACHABLE) {
                    throw e;
                }
                out.println("PACS pass failed: " + e.getMessage() + "; next try in " + seconds(cmd) + " s");
                out.flush();
                r = null;
            }
            if (r != null && (first || r.added() > 0 || !r.skipped().isEmpty() || r.stopped())) {
                print(r, idx, location, pacs);
            }
            first = false;
            if (!cmd.follow || stop.get()) {
                return;
            }
            long until = System.nanoTime() + cmd.interval.toNanos();
            synchronized (sleeper) {
                while (!stop.get() && System.nanoTime() < until) {
                    sleeper.wait(Math.max(1, (until - System.nanoTime()) / 1_000_000));
                }
            }
            if (stop.get()) {
                return;
            }
        }
    }

    private static long seconds(IndexCommand cmd) {
        return cmd.interval.toSeconds();
    }

    private void print(PacsSync.Report r, VectorStore idx, DicomWebLocation location, DicomWebClient pacs)
            throws java.io.IOException {
        out.printf(
                "%s %s: %d series, %d image instances (%d already indexed or known bad, %d retrieved, %s),"
                        + " %d images added, %d skipped%s; %d images in the index (%.1f s, of which %.1f s listing;"
                        + " %.0f img/s)%n",
                r.stopped() ? "Stopped syncing" : "Synced",
                location,
                r.series(),
                r.instances(),
                r.known(),
                r.retrieved(),
                org.medsearch.util.Figures.bytes(r.bytes()),
                r.added(),
                r.skipped().size(),
                r.notImages() > 0 ? ", " + r.notImages() + " not images" : "",
                idx.size(),
                r.seconds(),
                r.listSeconds(),
                r.imagesPerSecond());
        for (ScanReport.Skipped s : r.skipped().stream().limit(20).toList()) {
            out.println("  skipped " + s.relativePath() + ": " + s.reason());
        }
        if (r.skipped().size() > 20) {
            out.println("  ... and " + (r.skipped().size() - 20) + " more");
        }
        out.flush();
    }
}

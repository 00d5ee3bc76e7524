package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.medsearch.cli.Main;
import org.medsearch.index.LuceneIndex;
import org.medsearch.model.Embedder;
import org.medsearch.model.ModelBundle;
import org.medsearch.service.SearchService;
import org.medsearch.testutil.Shared;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.FileUtil;

/**
 * One small trained model and index per test JVM, shared by every server test class: training is
 * the slow part (seconds), a server start is not. Built through the command line, as a user would.
 *
 * <p>The synthetic set is a CSV manifest with {@code patient_id} values ({@link #PATIENT_PREFIX}),
 * so tests can check that no response ever carries one. The MedNIST model is built only when a
 * test asks for it, and skips where {@code ../shared} is absent.
 */
final class Fixture {
    private Fixture() {}

    static final String PATIENT_PREFIX = "PATIENT-SECRET-";
    static final String TOKEN = "test-token-0123456789abcdef";

    /** A model, the data it was trained on, and an index of that data. */
    record Built(Path root, Path data, Path model, Path index, ModelBundle bundle) {}

    private static Built synthetic;
    private static Built mednist;

    /** 3 classes x 50 images of 64x64, trained 2 epochs at 64x64, all indexed. */
    static synchronized Built synthetic() throws IOException {
        if (synthetic == null) {
            Path root = tempRoot("medsearch-server-test");
            Path data = TestImages.writeDataset(root.resolve("data"), 3, 50, 64, 7);
            List<String> rows = new ArrayList<>(List.of("path,label,patient_id,modality"));
            try (Stream<Path> s = Files.walk(data)) {
                for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                    String rel = data.relativize(p).toString();
                    String label = p.getParent().getFileName().toString();
                    rows.add(rel + "," + label + "," + PATIENT_PREFIX + rows.size() + ",XR");
                }
            }
            Path manifest = Files.write(data.resolve("manifest.csv"), rows);
            synthetic = build(root, data, manifest, "2", "16");
        }
        return synthetic;
    }

    /** 100 MedNIST images per class, trained 3 epochs at 64x64, all indexed; skips without ../shared. */
    static synchronized Built mednist() throws IOException {
        Path source = Shared.require("data/mednist");
        if (mednist == null) {
            Path root = tempRoot("medsearch-server-mednist");
            Path data = Files.createDirectories(root.resolve("data"));
            try (Stream<Path> classes = Files.list(source)) {
                for (Path c : classes.filter(Files::isDirectory).sorted().toList()) {
                    Path to = Files.createDirectories(data.resolve(c.getFileName()));
                    try (Stream<Path> files = Files.list(c)) {
                        for (Path f : files.sorted().limit(100).toList()) {
                            Files.copy(f, to.resolve(f.getFileName()));
                        }
                    }
                }
            }
            mednist = build(root, data, data, "3", "32");
        }
        return mednist;
    }

    /** Trains on {@code source} (a folder or a CSV manifest) and indexes it; {@code data} holds its images. */
    private static Built build(Path root, Path data, Path source, String epochs, String batch) throws IOException {
        Path model = root.resolve("model");
        Path index = root.resolve("index");
        cli(
                "train",
                "--data",
                source.toString(),
                "--out",
                model.toString(),
                "--image-size",
                "64",
                "--epochs",
                epochs,
                "--batch",
                batch,
                "-q");
        cli("index", "--model", model.toString(), "--data", source.toString(), "--index", index.toString(), "-q");
        return new Built(root, data, model, index, ModelBundle.load(model));
    }

    private static void cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        assertEquals(0, code, String.join(" ", args) + "\n" + out + err);
    }

    private static Path tempRoot(String name) throws IOException {
        Path root = Files.createTempDirectory(name);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                FileUtil.deleteTree(root);
            } catch (IOException e) {
                // a temp folder left behind is harmless
            }
        }));
        return root;
    }

    /** A private copy of an index, for a server that writes. */
    static Path copyIndex(Path index, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(index)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(index.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else if (!p.getFileName().toString().equals("write.lock")) {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return to;
    }

    /** A running server over an index, closing both. */
    static final class Running implements AutoCloseable {
        final SearchServer server;
        final LuceneIndex index;
        final Http http;
        private final org.medsearch.service.Explainer explainer;

        Running(SearchServer server, LuceneIndex index, org.medsearch.service.Explainer explainer) {
            this.server = server;
            this.index = index;
            this.explainer = explainer;
            this.http = new Http(server.port());
        }

        @Override
        public void close() throws IOException {
            try {
                server.stop();
            } finally {
                index.close();
                explainer.close();
            }
        }
    }

    /**
     * Starts a server on a free loopback port; with writes on (a token in {@code cfg}) it works on a
     * copy of the index in {@code scratch}.
     */
    static Running start(Built b, ServerConfig cfg, Path scratch) throws IOException {
        return start(b, cfg, scratch, null);
    }

    static Running start(Built b, ServerConfig cfg, Path scratch, InferenceQueue.BatchModel model) throws IOException {
        Path dir = cfg.writesEnabled() ? copyIndex(b.index(), scratch.resolve("index")) : b.index();
        LuceneIndex index = LuceneIndex.open(dir, cfg.writesEnabled());
        org.medsearch.service.Explainer explainer = null;
        try {
            SearchService r = new SearchService(new Embedder(b.bundle()), index);
            explainer = org.medsearch.service.Explainer.open(b.model(), 0, org.medsearch.util.Progress.NONE);
            SearchServer s = SearchServer.start(
                    cfg.withPort(0), r, model == null ? r.backend()::embed : model, PacsAccess.NONE, explainer);
            return new Running(s, index, explainer);
        } catch (IOException | RuntimeException e) {
            if (explainer != null) {
                explainer.close();
            }
            index.close();
            throw e;
        }
    }
}

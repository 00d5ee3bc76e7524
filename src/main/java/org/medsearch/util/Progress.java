package org.medsearch.util;

/**
 * Progress of long steps, decoupled from how it is shown: the CLI draws bars on stderr, the server
 * and the tests show nothing. Implementations must be thread-safe.
 *
 * <pre>{@code
 * try (Progress.Task t = progress.start("Embedding", files.size(), "img")) {
 *     for (...) { t.step(1); t.extra("12.3 img/s"); }
 * }
 * }</pre>
 */
public interface Progress {

    /** Shows nothing. */
    Progress NONE = (name, total, unit) -> new Task() {
        @Override
        public void step(long n) {}

        @Override
        public void extra(String text) {}

        @Override
        public void close() {}
    };

    /** Starts a task of {@code total} units (-1 if unknown). */
    Task start(String name, long total, String unit);

    /** One running step. */
    interface Task extends AutoCloseable {
        void step(long n);

        /** A short status shown beside the bar (loss, accuracy, rate). */
        void extra(String text);

        @Override
        void close();
    }
}

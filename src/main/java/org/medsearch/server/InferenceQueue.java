package org.medsearch.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.medsearch.model.Embedding;

/**
 * The model's front door: a fixed pool of worker threads that run forward passes, fed by a queue
 * whose length is bounded by admission, with micro-batching.
 *
 * <p>Admission: {@link #tryAdmit()} hands out at most {@code queueSlots + maxBatch * workers}
 * tickets at a time (what may wait plus what the workers compute), and answers empty beyond that,
 * at once, so the caller can say 503 before it has read a byte of the upload. A ticket covers one
 * query from decoding to the answer, so the memory the admitted queries hold is bounded too.
 *
 * <p>Micro-batching: a worker takes the oldest query, everything else queued (up to
 * {@code maxBatch}), and, while admitted queries are still being decoded, waits up to
 * {@value #LINGER_MICROS} microseconds after the oldest one arrived for them; then it runs one
 * forward pass for the lot. On two cores one pass of 16 images at 64x64 costs about as much as
 * four passes of one image (35 ms against 9), so under load this multiplies throughput, and when
 * idle it adds nothing.
 *
 * <p>Thread-safe. {@link #close()} lets the queued queries finish, then stops the workers.
 *
 * <pre>{@code
 * try (InferenceQueue q = new InferenceQueue(embedder::embed, prep.inputLength(), 8, 16, 1)) {
 *     Optional<InferenceQueue.Ticket> t = q.tryAdmit();
 *     if (t.isEmpty()) { ... 503 ... }
 *     try (InferenceQueue.Ticket ticket = t.get()) {
 *         Embedding e = ticket.infer(prep.apply(image)).embedding();
 *     }
 * }
 * }</pre>
 */
public final class InferenceQueue implements AutoCloseable {

    /** One forward pass over {@code n} pre-processed inputs; {@link org.medsearch.model.Embedder#embed(float[], int)}. */
    @FunctionalInterface
    public interface BatchModel {
        List<Embedding> embed(float[] nhwc, int n);
    }

    /**
     * One query's answer.
     *
     * @param embedding the vector and class probabilities
     * @param queueNanos time from submission to the start of its forward pass
     * @param modelNanos time of that forward pass (shared by the whole batch)
     * @param batchSize how many queries that pass computed
     */
    public record Result(Embedding embedding, long queueNanos, long modelNanos, int batchSize) {}

    /**
     * What the queue has done since it started.
     *
     * @param capacity tickets available in all
     * @param admitted tickets held now
     * @param peakAdmitted the most tickets ever held at once (never above capacity)
     * @param rejected admissions refused
     * @param batches forward passes run
     * @param queries queries answered
     * @param largestBatch the largest batch run
     * @param modelSeconds time spent in forward passes, all workers together
     */
    public record Stats(
            int capacity,
            int admitted,
            int peakAdmitted,
            long rejected,
            long batches,
            long queries,
            int largestBatch,
            double modelSeconds) {
        public double meanBatch() {
            return batches == 0 ? 0 : (double) queries / batches;
        }
    }

    /** Longest wait for stragglers: small beside a forward pass, long enough to catch a decode. */
    static final long LINGER_MICROS = 3000;
    /** A query not answered by then is failed rather than left to hang a request thread. */
    private static final long RESULT_TIMEOUT_SECONDS = 120;

    private final BatchModel model;
    private final int inputLength;
    private final int maxBatch;
    private final int capacity;
    private final Semaphore permits;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    /** Tickets admitted whose input is not queued yet: a worker lingers only while this is positive. */
    private final AtomicInteger preparing = new AtomicInteger();

    private final AtomicInteger admitted = new AtomicInteger();
    private final AtomicInteger peak = new AtomicInteger();
    private final AtomicInteger largest = new AtomicInteger();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong answered = new AtomicLong();
    private final AtomicLong modelNanos = new AtomicLong();
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean closed;

    private record Job(float[] input, long enqueued, CompletableFuture<Result> result) {}

    /**
     * @param model the forward pass
     * @param inputLength floats per input ({@link org.medsearch.image.Preprocessing#inputLength()})
     * @param queueSlots queries that may wait beyond those being computed
     * @param maxBatch queries per forward pass
     * @param nWorkers threads running forward passes
     */
    public InferenceQueue(BatchModel model, int inputLength, int queueSlots, int maxBatch, int nWorkers) {
        if (inputLength < 1 || queueSlots < 0 || maxBatch < 1 || nWorkers < 1) {
            throw new IllegalArgumentException("invalid queue sizes");
        }
        this.model = model;
        this.inputLength = inputLength;
        this.maxBatch = maxBatch;
        this.capacity = queueSlots + maxBatch * nWorkers;
        this.permits = new Semaphore(capacity);
        for (int i = 0; i < nWorkers; i++) {
            Thread t = new Thread(this::work, "medsearch-inference-" + i);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
    }

    /**
     * Runs one forward pass per batch size from 1 to {@code maxBatch}, so that the kernels the
     * engine builds for each new input shape are built before the first real query, not during it.
     */
    public void warmUp() {
        for (int n = 1; n <= maxBatch; n++) {
            model.embed(new float[n * inputLength], n);
        }
    }

    /**
     * Whether a query arriving now would be refused (the queue is full or closed). A hint only:
     * the answer may change before {@link #tryAdmit}; it lets a request be refused before its
     * upload is read, without holding a ticket while the upload arrives. Counts the refusal.
     */
    public boolean refuseEarly() {
        if (closed || permits.availablePermits() == 0) {
            rejected.incrementAndGet();
            return true;
        }
        return false;
    }

    /** A ticket for one query, or empty when the queue is full (or closed). Never blocks. */
    public Optional<Ticket> tryAdmit() {
        if (closed || !permits.tryAcquire()) {
            rejected.incrementAndGet();
            return Optional.empty();
        }
        preparing.incrementAndGet();
        peak.accumulateAndGet(admitted.incrementAndGet(), Math::max);
        Ticket t = new Ticket();
        CURRENT.set(t);
        return Optional.of(t);
    }

    /** The ticket the calling thread holds (admitted and not yet closed), if any. */
    static Optional<Ticket> current() {
        return Optional.ofNullable(CURRENT.get());
    }

    /** Tickets are taken and closed on one request thread; {@link QueuedBackend} finds its caller's here. */
    private static final ThreadLocal<Ticket> CURRENT = new ThreadLocal<>();

    public Stats stats() {
        return new Stats(
                capacity,
                admitted.get(),
                peak.get(),
                rejected.get(),
                batches.get(),
                answered.get(),
                largest.get(),
                modelNanos.get() / 1e9);
    }

    /** One admitted query. Close it (try-with-resources) whether or not it reached the model. */
    public final class Ticket implements AutoCloseable {
        private boolean submitted;
        private boolean released;
        private Result result;

        private Ticket() {}

        /** The answer of {@link #infer}, once it has come (null before). */
        public Result result() {
            return result;
        }

        /**
         * Queues a pre-processed input and waits for its forward pass.
         *
         * @throws IllegalStateException if called twice
         * @throws InterruptedException if the waiting thread is interrupted
         * @throws TimeoutException if no worker answered within two minutes
         */
        public Result infer(float[] input) throws InterruptedException, TimeoutException {
            if (input.length != inputLength) {
                throw new IllegalArgumentException("input of " + input.length + " floats, expected " + inputLength);
            }
            if (submitted) {
                throw new IllegalStateException("a ticket carries one query");
            }
            submitted = true;
            Job job = new Job(input, System.nanoTime(), new CompletableFuture<>());
            // before the add: a worker that takes this job must not linger waiting for it
            preparing.decrementAndGet();
            queue.add(job);
            try {
                result = job.result().get(RESULT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                return result;
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException r) {
                    throw r;
                }
                if (c instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(c);
            }
        }

        @Override
        public void close() {
            if (released) {
                return;
            }
            released = true;
            if (CURRENT.get() == this) {
                CURRENT.remove();
            }
            if (!submitted) {
                preparing.decrementAndGet();
            }
            admitted.decrementAndGet();
            permits.release();
        }
    }

    private void work() {
        List<Job> batch = new ArrayList<>(maxBatch);
        while (true) {
            Job first;
            try {
                first = queue.poll(50, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (first == null) {
                if (closed && preparing.get() == 0) {
                    return;
                }
                continue;
            }
            batch.clear();
            batch.add(first);
            queue.drainTo(batch, maxBatch - 1);
            gatherStragglers(batch, first.enqueued() + LINGER_MICROS * 1000);
            run(batch);
        }
    }

    private void gatherStragglers(List<Job> batch, long deadline) {
        while (batch.size() < maxBatch && preparing.get() > 0) {
            long wait = deadline - System.nanoTime();
            if (wait <= 0) {
                return;
            }
            try {
                Job j = queue.poll(wait, TimeUnit.NANOSECONDS);
                if (j == null) {
                    return;
                }
                batch.add(j);
                queue.drainTo(batch, maxBatch - batch.size());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void run(List<Job> batch) {
        int n = batch.size();
        float[] x = new float[n * inputLength];
        for (int i = 0; i < n; i++) {
            System.arraycopy(batch.get(i).input(), 0, x, i * inputLength, inputLength);
        }
        long t0 = System.nanoTime();
        try {
            List<Embedding> out = model.embed(x, n);
            long dt = System.nanoTime() - t0;
            modelNanos.addAndGet(dt);
            batches.incrementAndGet();
            answered.addAndGet(n);
            largest.accumulateAndGet(n, Math::max);
            for (int i = 0; i < n; i++) {
                Job j = batch.get(i);
                j.result().complete(new Result(out.get(i), t0 - j.enqueued(), dt, n));
            }
        } catch (RuntimeException | Error e) {
            // a failed pass fails its queries, not the worker: the next batch may well succeed
            for (Job j : batch) {
                j.result().completeExceptionally(e);
            }
        }
    }

    /** Stops admitting, lets the queued queries finish (up to 30 s), then stops the workers. */
    @Override
    public void close() {
        closed = true;
        for (Thread t : workers) {
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Thread t : workers) {
            t.interrupt();
        }
        Job j;
        while ((j = queue.poll()) != null) {
            j.result().completeExceptionally(new IllegalStateException("the server is shutting down"));
        }
    }
}

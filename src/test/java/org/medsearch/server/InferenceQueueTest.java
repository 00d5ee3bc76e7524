package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.medsearch.model.Embedding;

/** The queue alone, with a fake model: admission bounds, micro-batching, failures, shutdown. */
class InferenceQueueTest {

    static final int LEN = 4;

    /** A model whose "embedding" of an input is its first float, so answers can be matched to questions. */
    static final class FakeModel implements InferenceQueue.BatchModel {
        final List<Integer> batches = new CopyOnWriteArrayList<>();
        volatile CountDownLatch gate;
        volatile long sleepMillis;

        @Override
        public List<Embedding> embed(float[] x, int n) {
            batches.add(n);
            try {
                if (gate != null) {
                    gate.await(10, TimeUnit.SECONDS);
                }
                Thread.sleep(sleepMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            List<Embedding> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(new Embedding(new float[] {x[i * LEN]}, new float[] {1f}));
            }
            return out;
        }
    }

    static float[] input(float v) {
        return new float[] {v, 0, 0, 0};
    }

    @Test
    void concurrentQueriesShareForwardPassesAndGetTheirOwnAnswers() throws Exception {
        FakeModel model = new FakeModel();
        model.sleepMillis = 30;
        try (InferenceQueue q = new InferenceQueue(model, LEN, 8, 16, 1)) {
            ExecutorService pool = Executors.newFixedThreadPool(16);
            List<Future<Float>> answers = new ArrayList<>();
            for (int i = 0; i < 48; i++) {
                float v = i;
                answers.add(pool.submit(() -> {
                    try (InferenceQueue.Ticket t = q.tryAdmit().orElseThrow()) {
                        return t.infer(input(v)).embedding().vector()[0];
                    }
                }));
            }
            for (int i = 0; i < answers.size(); i++) {
                assertEquals(i, answers.get(i).get(30, TimeUnit.SECONDS), 0f);
            }
            pool.shutdown();
            InferenceQueue.Stats s = q.stats();
            assertEquals(48, s.queries());
            assertTrue(s.batches() < 48 && s.largestBatch() > 1, "batched: " + model.batches);
            assertTrue(s.largestBatch() <= 16);
            assertEquals(0, s.admitted());
        }
    }

    @Test
    void admitsQueueSlotsPlusOneBatchPerWorkerThenRefusesAtOnce() throws Exception {
        FakeModel model = new FakeModel();
        model.gate = new CountDownLatch(1);
        try (InferenceQueue q = new InferenceQueue(model, LEN, 3, 2, 1)) {
            assertEquals(5, q.stats().capacity());
            List<InferenceQueue.Ticket> held = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                held.add(q.tryAdmit().orElseThrow());
            }
            long t0 = System.nanoTime();
            assertEquals(Optional.empty(), q.tryAdmit());
            assertTrue(System.nanoTime() - t0 < 50_000_000L, "refusal does not wait");
            assertEquals(1, q.stats().rejected());
            held.remove(0).close();
            InferenceQueue.Ticket again = q.tryAdmit().orElseThrow();
            again.close();
            held.forEach(InferenceQueue.Ticket::close);
            assertEquals(5, q.stats().peakAdmitted());
            assertEquals(0, q.stats().admitted());
        }
    }

    @Test
    void aFailedForwardPassFailsItsQueriesNotTheWorker() throws Exception {
        boolean[] fail = {true};
        InferenceQueue.BatchModel flaky = (x, n) -> {
            if (fail[0]) {
                fail[0] = false;
                throw new IllegalStateException("engine hiccup");
            }
            return List.of(new Embedding(new float[] {x[0]}, new float[] {1f}));
        };
        try (InferenceQueue q = new InferenceQueue(flaky, LEN, 1, 1, 1)) {
            try (InferenceQueue.Ticket t = q.tryAdmit().orElseThrow()) {
                assertEquals(
                        "engine hiccup",
                        assertThrows(IllegalStateException.class, () -> t.infer(input(1)))
                                .getMessage());
            }
            try (InferenceQueue.Ticket t = q.tryAdmit().orElseThrow()) {
                assertEquals(2f, t.infer(input(2)).embedding().vector()[0]);
            }
        }
    }

    @Test
    void closeLetsQueuedQueriesFinishAndThenRefuses() throws Exception {
        FakeModel model = new FakeModel();
        model.gate = new CountDownLatch(1);
        InferenceQueue q = new InferenceQueue(model, LEN, 4, 1, 1);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<Float>> answers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            float v = i;
            InferenceQueue.Ticket t = q.tryAdmit().orElseThrow();
            answers.add(pool.submit(() -> {
                try (t) {
                    return t.infer(input(v)).embedding().vector()[0];
                }
            }));
        }
        Thread closer = new Thread(q::close);
        closer.start();
        Thread.sleep(100);
        assertEquals(Optional.empty(), q.tryAdmit(), "closing: no new admissions");
        model.gate.countDown();
        for (int i = 0; i < 3; i++) {
            assertEquals(i, answers.get(i).get(10, TimeUnit.SECONDS), 0f);
        }
        closer.join(10_000);
        assertTrue(!closer.isAlive());
        pool.shutdown();
    }
}

package org.medsearch.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

@SuppressWarnings("try") // leases held for their scope only
class MemoryBudgetTest {

    @Test
    void concurrentLeasesNeverHoldMoreThanTheCapacity() throws Exception {
        long capacity = 1000;
        MemoryBudget budget = new MemoryBudget(capacity, Duration.ofSeconds(30));
        AtomicLong held = new AtomicLong();
        AtomicLong worst = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                Random random = new Random(42 + t); // reproducible sizes per worker
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        long bytes = 1 + random.nextInt((int) capacity);
                        try (MemoryBudget.Lease lease = budget.acquire(bytes)) {
                            worst.accumulateAndGet(held.addAndGet(bytes), Math::max);
                            Thread.onSpinWait();
                            held.addAndGet(-bytes);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(worst.get() <= capacity, "held " + worst.get() + " of " + capacity);
        assertTrue(budget.peak() <= capacity);
        assertEquals(0, budget.used());
    }

    @Test
    void aRequestLargerThanTheCapacityIsRefusedAtOnceAndAFullBudgetTimesOut() throws Exception {
        MemoryBudget budget = new MemoryBudget(100, Duration.ofMillis(50));
        assertThrows(ImageFormatException.class, () -> budget.acquire(101));
        try (MemoryBudget.Lease all = budget.acquire(100)) {
            assertThrows(DecodeCapacityException.class, () -> budget.acquire(1));
        }
        MemoryBudget.Lease again = budget.acquire(100);
        again.close();
        again.close(); // a second close must not give the bytes back twice
        assertEquals(0, budget.used());
    }
}

package org.medsearch.image;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bytes shared by concurrent decodes, so that whatever arrives at once, the memory they hold
 * together stays under one bound. Readers reserve through {@link ReadLimits#admitDecode}.
 *
 * <p>Contract: the bytes held by open leases never exceed {@link #capacity()}. Waiters are served
 * in arrival order (a large decode is not starved by a stream of small ones); a waiter that cannot
 * be served within the budget's wait gets a {@link DecodeCapacityException}. A request larger than
 * the whole capacity is refused at once. Closing a lease twice releases it once. Cost: one lock
 * per acquire and release.
 *
 * <pre>{@code
 * MemoryBudget budget = new MemoryBudget(1L << 30, Duration.ofSeconds(10));
 * try (MemoryBudget.Lease lease = budget.acquire(300L << 20)) {
 *     ... decode ...
 * }
 * }</pre>
 */
public final class MemoryBudget {

    /** A reservation; {@link #close()} gives its bytes back. */
    public interface Lease extends AutoCloseable {
        /** The lease of a decode that shares no budget. */
        Lease NONE = () -> {};

        @Override
        void close();
    }

    private final long capacity;
    private final long maxWaitNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Object> waiting = new ArrayDeque<>();
    private long used;
    private long peak;

    /**
     * @param capacity bytes all leases together may hold
     * @param maxWait how long an acquire waits for room before it gives up
     */
    public MemoryBudget(long capacity, Duration maxWait) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a memory budget must be positive, got " + capacity);
        }
        if (maxWait.isNegative()) {
            throw new IllegalArgumentException("the wait must not be negative");
        }
        this.capacity = capacity;
        this.maxWaitNanos = maxWait.toNanos();
    }

    public long capacity() {
        return capacity;
    }

    /** Bytes held now. */
    public long used() {
        lock.lock();
        try {
            return used;
        } finally {
            lock.unlock();
        }
    }

    /** The most bytes ever held at once. */
    public long peak() {
        lock.lock();
        try {
            return peak;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reserves {@code bytes}, waiting (in arrival order) for room.
     *
     * @throws ImageFormatException when {@code bytes} exceeds the capacity
     * @throws DecodeCapacityException when no room came within the wait, or the thread was interrupted
     */
    public Lease acquire(long bytes) throws ImageFormatException {
        if (bytes > capacity) {
            throw new ImageFormatException("decoding this image takes " + ReadLimits.mib(bytes)
                    + ", more than all the memory set aside for decoding (" + ReadLimits.mib(capacity) + ")");
        }
        long need = Math.max(0, bytes);
        Object me = new Object();
        lock.lock();
        try {
            waiting.addLast(me);
            long left = maxWaitNanos;
            while (waiting.peekFirst() != me || used + need > capacity) {
                if (left <= 0) {
                    throw new DecodeCapacityException(
                            "the server is decoding as many images as its memory allows; " + "retry later");
                }
                left = changed.awaitNanos(left);
            }
            waiting.removeFirst();
            used += need;
            peak = Math.max(peak, used);
            changed.signalAll(); // the next in line may fit too
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DecodeCapacityException("interrupted while waiting for decoding memory");
        } finally {
            if (waiting.remove(me)) {
                changed.signalAll(); // a waiter that gave up may have been first in line
            }
            lock.unlock();
        }
        return new Lease() {
            private boolean open = true;

            @Override
            public void close() {
                lock.lock();
                try {
                    if (open) {
                        open = false;
                        used -= need;
                        changed.signalAll();
                    }
                } finally {
                    lock.unlock();
                }
            }
        };
    }

    @Override
    public String toString() {
        return "MemoryBudget[capacity=" + capacity + ", used=" + used() + "]";
    }
}

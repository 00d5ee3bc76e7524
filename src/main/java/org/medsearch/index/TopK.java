package org.medsearch.index;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Keeps the k best (distance, id) pairs: smaller distance first, then smaller id. A bounded max-heap,
 * so a scan over n candidates costs O(n log k).
 */
final class TopK {

    /** A kept candidate; {@code doc} is the reader-wide Lucene doc id. */
    record Entry(float distance, long id, int doc) {}

    static final Comparator<Entry> ORDER =
            Comparator.comparingDouble(Entry::distance).thenComparingLong(Entry::id);

    private final int k;
    private final PriorityQueue<Entry> heap;

    TopK(int k) {
        this.k = k;
        this.heap = new PriorityQueue<>(k + 1, ORDER.reversed());
    }

    void offer(float distance, long id, int doc) {
        if (heap.size() < k) {
            heap.add(new Entry(distance, id, doc));
            return;
        }
        Entry worst = heap.peek();
        if (distance < worst.distance() || (distance == worst.distance() && id < worst.id())) {
            heap.poll();
            heap.add(new Entry(distance, id, doc));
        }
    }

    List<Entry> sorted() {
        List<Entry> l = new ArrayList<>(heap);
        l.sort(ORDER);
        return l;
    }
}

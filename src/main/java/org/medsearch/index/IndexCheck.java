package org.medsearch.index;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.NoLockFactory;
import org.apache.lucene.util.Bits;

/**
 * The checks of {@link LuceneIndex#check()}: medsearch's invariants over one snapshot, and Lucene's
 * own check of the last commit. Read-only: it creates, locks for writing and changes no file.
 */
final class IndexCheck {
    private IndexCheck() {}

    /**
     * Every live image has an id below {@code nextId}, a path, a content hash, a class and a vector;
     * ids and paths are unique. Adds one line per problem and returns the live images checked.
     */
    static int invariants(Snapshot s, long nextId, List<String> problems) throws IOException {
        SegmentData[] data = s.segmentData();
        Set<Long> ids = new HashSet<>();
        Set<String> paths = new HashSet<>();
        int n = 0;
        for (int i = 0; i < data.length; i++) {
            SegmentData sd = data[i];
            LeafReader r = s.leaves.get(i).reader();
            Bits live = r.getLiveDocs();
            BinaryDocValues pathDv = r.getBinaryDocValues(LuceneSchema.PATH);
            BinaryDocValues shaDv = r.getBinaryDocValues(LuceneSchema.SHA);
            for (int doc = 0; doc < sd.maxDoc; doc++) {
                if (live != null && !live.get(doc)) {
                    continue;
                }
                n++;
                String where = "segment " + i + " doc " + doc;
                if (sd.ids[doc] < 0) {
                    problems.add(where + ": no id");
                    continue;
                }
                where = "image " + sd.ids[doc];
                if (sd.ids[doc] >= nextId) {
                    problems.add(where + ": id not below the committed next id " + nextId);
                }
                if (!ids.add(sd.ids[doc])) {
                    problems.add(where + ": id used twice");
                }
                if (pathDv == null || !pathDv.advanceExact(doc)) {
                    problems.add(where + ": no source path");
                } else if (!paths.add(pathDv.binaryValue().utf8ToString())) {
                    problems.add(where + ": source path indexed twice: "
                            + pathDv.binaryValue().utf8ToString());
                }
                if (shaDv == null || !shaDv.advanceExact(doc)) {
                    problems.add(where + ": no content hash");
                }
                if (sd.classOrd[doc] < 0) {
                    problems.add(where + ": no class");
                }
                if (sd.row[doc] < 0) {
                    problems.add(where + ": no vector");
                }
            }
        }
        return n;
    }

    /**
     * Lucene's check of every segment of the last commit (checksums, postings, doc values, vectors,
     * the HNSW graph); a failure becomes the first problem. The caller keeps writers out.
     */
    static void lucene(Path luceneDir, List<String> problems) throws IOException {
        // NoLockFactory: CheckIndex would otherwise create and lock write.lock, which needs write access
        try (Directory d = FSDirectory.open(luceneDir, NoLockFactory.INSTANCE);
                CheckIndex ci = new CheckIndex(d)) {
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            ci.setInfoStream(new PrintStream(log, true, StandardCharsets.UTF_8));
            CheckIndex.Status st = ci.checkIndex();
            if (!st.clean) {
                problems.add(0, "Lucene's check failed: " + lastLines(log.toString(StandardCharsets.UTF_8)));
            }
        }
    }

    private static String lastLines(String log) {
        String[] lines = log.strip().split("\\R");
        StringBuilder sb = new StringBuilder();
        for (int i = Math.max(0, lines.length - 3); i < lines.length; i++) {
            sb.append(lines[i].strip()).append(i < lines.length - 1 ? " / " : "");
        }
        return sb.toString();
    }

    /**
     * A shared (read) lock on an existing {@code write.lock}, taken through a read-only channel so
     * that nothing is created or written. Lucene's writer takes an exclusive lock on that file, so
     * the two exclude each other, across processes and (through the JVM's own bookkeeping) within one.
     */
    static final class SharedWriteLock implements Closeable {
        private final FileChannel channel;
        private final FileLock lock;

        private SharedWriteLock(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        /**
         * The lock, or null when a writer holds {@code write.lock}. Without a {@code write.lock} (no
         * writer ever opened the index) or one this user may not read, there is nothing to take, and
         * the check proceeds unguarded: a writer would have to create or open that file first.
         */
        static SharedWriteLock tryAcquire(Path luceneDir) throws IOException {
            Path file = luceneDir.resolve(IndexWriter.WRITE_LOCK_NAME);
            FileChannel ch;
            try {
                ch = FileChannel.open(file, StandardOpenOption.READ);
            } catch (NoSuchFileException | AccessDeniedException e) {
                return new SharedWriteLock(null, null);
            }
            try {
                FileLock l = ch.tryLock(0, Long.MAX_VALUE, true);
                if (l == null) {
                    ch.close();
                    return null;
                }
                return new SharedWriteLock(ch, l);
            } catch (OverlappingFileLockException e) {
                ch.close(); // this JVM's writer holds it
                return null;
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            if (channel != null) {
                try {
                    lock.release();
                } finally {
                    channel.close();
                }
            }
        }
    }
}

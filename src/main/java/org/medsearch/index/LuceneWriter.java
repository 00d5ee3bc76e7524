package org.medsearch.index;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.index.ConcurrentMergeScheduler;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.LockObtainFailedException;
import org.medsearch.util.MedsearchException;

/**
 * The write side of a {@link LuceneIndex}: Lucene's {@link IndexWriter}, id assignment, and commits
 * carrying the index's facts and the next id. Adds and deletes may run on several threads at once;
 * commits are serialised by a lock of their own, which nothing on the search side takes.
 */
final class LuceneWriter {

    private final Path dir;
    private final IndexWriter writer;
    private final IndexInfo info;
    private final AtomicLong nextId;
    private final Object commitLock = new Object();

    private LuceneWriter(Path dir, IndexWriter writer, IndexInfo info, long nextId) {
        this.dir = dir;
        this.writer = writer;
        this.info = info;
        this.nextId = new AtomicLong(nextId);
    }

    /** Opens Lucene's writer on {@code d}; closes {@code d} when that fails. */
    static LuceneWriter open(Path dir, Directory d, IndexWriterConfig.OpenMode mode, IndexInfo info, long nextId)
            throws IOException {
        KnnVectorsFormat knn = info.vectorFormat().luceneFormat();
        IndexWriterConfig cfg = new IndexWriterConfig();
        cfg.setCodec(new Lucene912Codec() {
            @Override
            public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
                return knn;
            }
        });
        cfg.setOpenMode(mode);
        // large in-memory segments: each flushed segment builds its HNSW graph once, and fewer
        // merges rebuild graphs; fewer, larger segments also make searches cheaper
        cfg.setRAMBufferSizeMB(256);
        TieredMergePolicy mp = new TieredMergePolicy();
        mp.setSegmentsPerTier(16);
        // separate files per part, so that --stats can tell vectors, graph and documents apart
        mp.setNoCFSRatio(0);
        cfg.setUseCompoundFile(false);
        cfg.setMergePolicy(mp);
        cfg.setCommitOnClose(false);
        try {
            // fail now, not at the first commit, when files cannot be created here (read-only, immutable)
            Path probe = dir.resolve(LuceneIndex.LUCENE_DIR).resolve(".medsearch-write-probe");
            Files.deleteIfExists(probe);
            Files.createFile(probe);
            Files.delete(probe);
            return new LuceneWriter(dir, new IndexWriter(d, cfg), info, nextId);
        } catch (LockObtainFailedException e) {
            d.close();
            throw new MedsearchException("index " + dir + " is being written by another process");
        } catch (AccessDeniedException e) {
            d.close();
            throw new MedsearchException("cannot write index " + dir + ": permission denied");
        } catch (FileSystemException e) {
            d.close();
            throw new MedsearchException("cannot write index " + dir + ": "
                    + (e.getReason() == null ? LuceneIndex.oneLine(e) : e.getReason()));
        }
    }

    IndexWriter writer() {
        return writer;
    }

    long nextId() {
        return nextId.get();
    }

    long add(IndexedImage img) throws IOException {
        long id = nextId.getAndIncrement();
        try {
            writer.addDocument(LuceneSchema.document(img.withId(id), info.modelFingerprint()));
        } catch (IllegalStateException | IOException e) {
            throw writeFailure(e);
        }
        return id;
    }

    void deleteByPath(String path) throws IOException {
        writer.deleteDocuments(new Term(LuceneSchema.PATH, path));
    }

    void delete(long id) throws IOException {
        writer.deleteDocuments(LongPoint.newExactQuery(LuceneSchema.ID, id));
    }

    /** Commits, then runs {@code afterCommit} (the searchers' refresh) before the next commit may start. */
    void commit(IoAction afterCommit) throws IOException {
        synchronized (commitLock) {
            // read before the commit: documents added meanwhile have larger ids, which stay unused if lost
            writer.setLiveCommitData(LuceneSchema.commitData(info, nextId.get()).entrySet());
            try {
                writer.commit();
            } catch (IllegalStateException | IOException e) {
                throw writeFailure(e);
            }
            afterCommit.run();
        }
    }

    /** Runs {@code body} while no commit runs (so the last commit's files stay in place). */
    <T> T withoutCommits(IoSupplier<T> body) throws IOException {
        synchronized (commitLock) {
            return body.get();
        }
    }

    /** Waits until background merges (which rebuild HNSW graphs) have finished. */
    void waitForMerges() {
        if (writer.getConfig().getMergeScheduler() instanceof ConcurrentMergeScheduler cms) {
            cms.sync();
        }
    }

    /** Drops everything not committed and releases the write lock. */
    void rollback() throws IOException {
        writer.rollback();
    }

    /** A failed write; after one, Lucene refuses further writes (IllegalStateException): report the original cause. */
    private MedsearchException writeFailure(Exception e) {
        Throwable cause = e instanceof IllegalStateException && writer.getTragicException() != null
                ? writer.getTragicException()
                : e;
        return new MedsearchException("cannot write index " + dir + ": " + LuceneIndex.oneLine(cause)
                + "; the last committed state is intact");
    }

    interface IoAction {
        void run() throws IOException;
    }

    interface IoSupplier<T> {
        T get() throws IOException;
    }
}

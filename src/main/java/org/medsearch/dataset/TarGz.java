package org.medsearch.dataset;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.medsearch.util.FileUtil;
import org.medsearch.util.MedsearchException;

/**
 * Unpacks a {@code .tar.gz} safely (commons-compress does the format; the checks are ours): every
 * entry must stay inside the target folder (no absolute paths, no {@code ..}), links and device
 * files are refused, and the total size and entry count are bounded, so a hostile archive can
 * neither write outside the folder nor fill the disk. The archive is unpacked into a temporary
 * sibling folder that is renamed into place only when complete.
 *
 * <pre>{@code
 * TarGz.extract(Path.of("MedNIST.tar.gz"), Path.of("cache/MedNIST-unpacked"), TarGz.Limits.DEFAULT);
 * }</pre>
 */
public final class TarGz {
    private TarGz() {}

    /** Bounds on what an archive may hold. */
    public record Limits(long maxTotalBytes, long maxEntries) {
        /** 4 GiB and 500,000 entries: MedNIST holds 59,000 files in 60 MB. */
        public static final Limits DEFAULT = new Limits(4L << 30, 500_000);
    }

    public static void extract(Path archive, Path target, Limits limits) throws IOException {
        if (Files.exists(target)) {
            throw new MedsearchException(target + " already exists");
        }
        Path tmp = target.resolveSibling(target.getFileName() + ".unpacking");
        FileUtil.deleteTree(tmp);
        Files.createDirectories(tmp);
        Path root = tmp.toAbsolutePath().normalize();
        long total = 0;
        long entries = 0;
        try (InputStream in = new TarArchiveInputStream(
                new GzipCompressorInputStream(new BufferedInputStream(Files.newInputStream(archive))))) {
            TarArchiveInputStream tar = (TarArchiveInputStream) in;
            TarArchiveEntry e;
            byte[] buf = new byte[1 << 16];
            while ((e = tar.getNextEntry()) != null) {
                if (++entries > limits.maxEntries()) {
                    throw new MedsearchException(archive + ": more than " + limits.maxEntries() + " entries");
                }
                String name = e.getName();
                Path dest = root.resolve(name).normalize();
                if (name.startsWith("/")
                        || name.contains("\\")
                        || !dest.startsWith(root)
                        || dest.equals(root) && !e.isDirectory()) {
                    throw new MedsearchException(
                            archive + ": entry '" + name + "' would be written outside the folder");
                }
                if (e.isSymbolicLink() || e.isLink() || e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
                    throw new MedsearchException(archive + ": entry '" + name + "' is a link or device; refused");
                }
                if (e.isDirectory()) {
                    Files.createDirectories(dest);
                    continue;
                }
                if (!e.isFile()) {
                    continue;
                }
                Files.createDirectories(dest.getParent());
                try (OutputStream out = Files.newOutputStream(dest)) {
                    int n;
                    while ((n = tar.read(buf)) >= 0) {
                        total += n;
                        if (total > limits.maxTotalBytes()) {
                            throw new MedsearchException(
                                    archive + ": unpacks to more than " + limits.maxTotalBytes() + " bytes; refused");
                        }
                        out.write(buf, 0, n);
                    }
                }
            }
        } catch (MedsearchException ex) {
            FileUtil.deleteTree(tmp);
            throw ex;
        } catch (IOException | IllegalArgumentException ex) {
            FileUtil.deleteTree(tmp);
            throw new MedsearchException(archive + " is not a valid .tar.gz (" + ex.getMessage() + ")");
        }
        FileUtil.atomicMove(tmp, target);
    }
}

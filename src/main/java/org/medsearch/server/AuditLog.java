package org.medsearch.server;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.List;

/**
 * The audit trail: one JSON line per search, image view, explanation, add and delete, appended to a
 * file. Access to patient images must be accountable; this says who (client address, token name),
 * when, what (action, the image ids returned or touched) and how it ended (HTTP status).
 *
 * <p>Contract:
 * <ul>
 *   <li>A record holds no pixel data, no file name or path, no patient identifier and no token:
 *       ids are medsearch's own numbers, the token is named by its name in the tokens file.</li>
 *   <li>Each record is written and handed to the operating system before the response is sent
 *       (the file is opened, appended and closed per record), so a crash of the server loses none.</li>
 *   <li>Past {@code maxBytes} the file is rotated: {@code audit.jsonl} becomes {@code audit.jsonl.1},
 *       the older ones move up, and more than {@code keep} are deleted.</li>
 *   <li>Fail closed: {@link #append} throws when the record cannot be written, and the server then
 *       refuses the request with 503; {@link #writable()} lets a write be refused before it acts.</li>
 * </ul>
 * Appends are serialised (one lock); a record costs an open, a write and a close, tens of
 * microseconds, far below a search.
 *
 * <pre>{@code
 * AuditLog audit = AuditLog.open(Path.of("/var/log/medsearch/audit.jsonl"), 100 << 20, 10);
 * audit.append(new AuditLog.Record(Instant.now(), "10.0.0.7", "alice", "search", List.of(12L, 40L), 200, null));
 * }</pre>
 */
public final class AuditLog {

    /**
     * One line of the trail.
     *
     * @param time when the answer was ready (UTC)
     * @param client the client's address as the server saw it (a proxy's, behind one)
     * @param token the token's name, {@code anonymous} without one, {@code invalid} for a token the server
     *     refused, {@code unchecked} for a request refused before its token was read (plain HTTP, a foreign origin)
     * @param action search, view, thumbnail, explain, add or delete
     * @param ids the image ids returned (search) or touched (the others), in the answer's order
     * @param status the HTTP status of the answer
     * @param error the error code of a refused request (e.g. {@code unauthorized}), else null
     */
    public record Record(
            Instant time, String client, String token, String action, List<Long> ids, int status, String error) {}

    /** Raised when a record could not be written. */
    public static final class AuditException extends IOException {
        private static final long serialVersionUID = 1L;

        AuditException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Path file;
    private final long maxBytes;
    private final int keep;

    private AuditLog(Path file, long maxBytes, int keep) {
        this.file = file;
        this.maxBytes = maxBytes;
        this.keep = keep;
    }

    /**
     * A trail in {@code file}, its folder created if need be; the file must be writable now.
     *
     * @param maxBytes the size past which the file is rotated (at least 4 KiB)
     * @param keep how many rotated files to keep (at least 1)
     */
    public static AuditLog open(Path file, long maxBytes, int keep) throws IOException {
        if (maxBytes < 4096) {
            throw new IllegalArgumentException("auditMaxBytes must be at least 4 KiB");
        }
        if (keep < 1) {
            throw new IllegalArgumentException("auditKeep must be at least 1");
        }
        Path abs = file.toAbsolutePath();
        if (abs.getParent() != null) {
            Files.createDirectories(abs.getParent());
        }
        AuditLog log = new AuditLog(abs, maxBytes, keep);
        if (!log.writable()) {
            throw new org.medsearch.util.MedsearchException("the audit log " + abs + " cannot be written");
        }
        return log;
    }

    public Path file() {
        return file;
    }

    /** Whether a record could be appended now (the file, or its folder, is there and writable). */
    public boolean writable() {
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && Files.isWritable(file);
        }
        Path dir = file.getParent();
        return dir != null && Files.isDirectory(dir) && Files.isWritable(dir);
    }

    /**
     * Appends one record, rotating first when the file is full.
     *
     * @throws AuditException when the record could not be written in full
     */
    public synchronized void append(Record r) throws AuditException {
        byte[] line;
        try {
            com.fasterxml.jackson.databind.node.ObjectNode o = ApiResponses.MAPPER.createObjectNode();
            o.put("time", r.time().toString());
            o.put("client", r.client());
            o.put("token", r.token());
            o.put("action", r.action());
            r.ids().forEach(o.putArray("ids")::add);
            o.put("status", r.status());
            if (r.error() != null) {
                o.put("error", r.error());
            }
            line = (ApiResponses.MAPPER.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AuditException("an audit record could not be encoded", e);
        }
        try {
            // one look at the file per record: absent, or a regular file of some size
            BasicFileAttributes a = attributes();
            if (a != null && !a.isRegularFile()) {
                throw new IOException(file + " is not a regular file");
            }
            if (a != null && a.size() + line.length > maxBytes) {
                rotate();
            }
            try (OutputStream out = Files.newOutputStream(
                    file,
                    StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                out.write(line);
            }
        } catch (IOException | RuntimeException e) {
            throw new AuditException("the audit log " + file + " cannot be written: " + e.getMessage(), e);
        }
    }

    /** The file's attributes, not following a link, or null when there is no file. */
    private BasicFileAttributes attributes() throws IOException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** audit.jsonl.(keep-1) -> .keep (deleted beyond), ..., audit.jsonl -> .1 */
    private void rotate() throws IOException {
        Files.deleteIfExists(rotated(keep));
        for (int i = keep - 1; i >= 1; i--) {
            if (Files.exists(rotated(i))) {
                Files.move(rotated(i), rotated(i + 1), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.move(file, rotated(1), StandardCopyOption.REPLACE_EXISTING);
    }

    private Path rotated(int i) {
        return file.resolveSibling(file.getFileName() + "." + i);
    }

    @Override
    public String toString() {
        return "AuditLog[" + file + ", rotate at " + maxBytes + " bytes, keep " + keep + "]";
    }
}

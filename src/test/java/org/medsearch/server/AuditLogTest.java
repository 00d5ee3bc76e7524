package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit trail on disk: one JSON line per record, rotation by size, and files it must refuse. */
class AuditLogTest {

    @TempDir
    Path dir;

    static AuditLog.Record record(int i) {
        return new AuditLog.Record(
                Instant.ofEpochSecond(1_800_000_000L + i),
                "127.0.0.1",
                "alice",
                "search",
                List.of((long) i),
                200,
                null);
    }

    @Test
    void fullFilesRotateAndTheNewestRecordsAreKeptInOrder() throws Exception {
        Path file = dir.resolve("sub/audit.jsonl");
        AuditLog log = AuditLog.open(file, 4096, 2);
        int n = 200; // about 130 bytes a line: several rotations of 4 KiB
        for (int i = 0; i < n; i++) {
            log.append(record(i));
        }
        assertTrue(Files.exists(file.resolveSibling("audit.jsonl.1")));
        assertTrue(Files.exists(file.resolveSibling("audit.jsonl.2")));
        assertFalse(Files.exists(file.resolveSibling("audit.jsonl.3")), "keep 2");
        List<Long> ids = new ArrayList<>();
        for (String name : List.of("audit.jsonl.2", "audit.jsonl.1", "audit.jsonl")) {
            Path f = file.resolveSibling(name);
            assertTrue(Files.size(f) <= 4096, name + " " + Files.size(f));
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                JsonNode j = ApiResponses.MAPPER.readTree(line);
                assertEquals("search", j.get("action").asText());
                assertFalse(j.has("error"));
                ids.add(j.get("ids").get(0).asLong());
            }
        }
        // the oldest records went with the rotations; what is kept is the newest, with no gap
        assertEquals(n - 1, ids.get(ids.size() - 1));
        for (int i = 1; i < ids.size(); i++) {
            assertEquals(ids.get(i - 1) + 1, ids.get(i), ids.toString());
        }
        assertTrue(ids.size() < n && ids.size() > 40, "records kept: " + ids.size());
    }

    @Test
    void aTrailThatIsNotARegularFileIsRefused() throws Exception {
        Path target = Files.writeString(dir.resolve("elsewhere"), "");
        Path link = Files.createSymbolicLink(dir.resolve("audit.jsonl"), target);
        AuditLog log = AuditLog.open(dir.resolve("ok.jsonl"), 4096, 1);
        log.append(record(1));
        Files.delete(dir.resolve("ok.jsonl"));
        Files.createDirectory(dir.resolve("ok.jsonl"));
        assertFalse(log.writable());
        assertThrows(AuditLog.AuditException.class, () -> log.append(record(2)));
        assertThrows(Exception.class, () -> AuditLog.open(link, 4096, 1));
        assertEquals("", Files.readString(target), "nothing written through the link");
    }
}

package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.server.Tokens;

/** {@code medsearch token}: a token printed once, its hash in the file, which the server then accepts. */
class TokenCommandTest {

    @TempDir
    Path dir;

    @Test
    void aNewTokenIsPrintedOnceAndTheFileHoldsOnlyItsHash() throws Exception {
        Path file = dir.resolve("etc/tokens");
        SettingsTest.Run a =
                SettingsTest.run(Map.of(), "token", "alice", "--role", "search", "--tokens", file.toString());
        assertEquals(0, a.code(), a.err());
        String alice = a.out().strip();
        assertTrue(alice.matches("[0-9a-f]{64}"), alice);
        SettingsTest.Run b =
                SettingsTest.run(Map.of(), "token", "bob", "--role", "writer", "--tokens", file.toString());
        String bob = b.out().strip();
        String text = Files.readString(file);
        assertFalse(text.contains(alice) || text.contains(bob), "only hashes: " + text);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));

        Tokens tokens = Tokens.read(file);
        assertEquals(new Tokens.Principal("alice", Tokens.Role.SEARCH), tokens.authenticate("Bearer " + alice));
        assertEquals(new Tokens.Principal("bob", Tokens.Role.WRITER), tokens.authenticate("Bearer " + bob));

        SettingsTest.Run again =
                SettingsTest.run(Map.of(), "token", "alice", "--role", "admin", "--tokens", file.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("already has a token named 'alice'"), again.err());
        SettingsTest.Run role =
                SettingsTest.run(Map.of(), "token", "carol", "--role", "root", "--tokens", file.toString());
        assertEquals(2, role.code());
        assertTrue(role.err().contains("--role must be search, writer or admin"), role.err());
        assertEquals(2, Files.readAllLines(file).size(), "nothing added by a refused call");
    }

    @Test
    void aBrokenTokensFileNamesItsLine() throws Exception {
        Path file = Files.writeString(dir.resolve("tokens"), "# ok\nalice search short\n");
        SettingsTest.Run r =
                SettingsTest.run(Map.of(), "token", "bob", "--role", "writer", "--tokens", file.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains(file + " line 2: the token must have at least 16 characters"), r.err());
        Files.writeString(file, "alice superuser 0123456789abcdef0123\n");
        r = SettingsTest.run(Map.of(), "token", "bob", "--role", "writer", "--tokens", file.toString());
        assertTrue(r.err().contains("line 1: a role is search, writer or admin, got 'superuser'"), r.err());
    }
}

package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.CliRun;

/** The serve and loadtest commands' options and their one-line refusals (no model is loaded here). */
class ServeCommandTest {

    static CliRun run(String... args) {
        return CliRun.run(args);
    }

    static void assertUserError(CliRun r, String expected) {
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains(expected), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
    }

    @Test
    void helpDescribesTheNewCommandsAndDemoServes() {
        assertTrue(run("serve", "--help").out().contains("--token-file"));
        assertTrue(run("loadtest", "--help").out().contains("--clients"));
        CliRun demo = run("demo", "--help");
        assertTrue(demo.out().contains("--no-serve") && demo.out().contains("--port"), demo.out());
    }

    @Test
    void aShortOrMissingTokenIsRefused(@TempDir Path dir) throws Exception {
        Path shortToken = Files.writeString(dir.resolve("token"), "secret\n");
        assertUserError(
                run(
                        "serve",
                        "--model",
                        dir.toString(),
                        "--index",
                        dir.toString(),
                        "--token-file",
                        shortToken.toString()),
                "at least 16 characters");
        assertUserError(
                run(
                        "serve",
                        "--model",
                        dir.toString(),
                        "--index",
                        dir.toString(),
                        "--token-file",
                        dir.resolve("nope").toString()),
                "does not exist");
        assertUserError(
                run("serve", "--model", dir.resolve("m").toString(), "--index", dir.toString()), "model not found");
        assertUserError(
                run("serve", "--model", dir.toString(), "--index", dir.toString(), "--queue", "-1"),
                "--queue must be between");
    }

    @Test
    void loadIsOnlySentToThisMachine(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("q.png"), new byte[] {1, 2, 3});
        assertUserError(
                run("loadtest", "--url", "http://192.168.1.20:8080/", "--data", dir.toString(), "--seconds", "1"),
                "refusing to send load to 192.168.1.20");
        assertUserError(
                run(
                        "loadtest",
                        "--url",
                        "http://127.0.0.1:1/",
                        "--data",
                        dir.resolve("none").toString()),
                "is not a directory");
    }

    @Test
    void configRejectsNonsense() {
        assertThrows(
                IllegalArgumentException.class, () -> ServerConfig.defaults().withPort(70000));
        assertThrows(
                IllegalArgumentException.class, () -> ServerConfig.defaults().withQueue(8, 0, 1));
        assertThrows(
                IllegalArgumentException.class, () -> ServerConfig.defaults().withToken("short"));
        assertFalse(
                ServerConfig.defaults().withToken(Fixture.TOKEN).toString().contains(Fixture.TOKEN),
                "the token stays out of logs");
        assertTrue(ServerConfig.isLoopback("127.0.0.1")
                && ServerConfig.isLoopback("localhost")
                && ServerConfig.isLoopback("[::1]"));
        assertFalse(ServerConfig.isLoopback("0.0.0.0") || ServerConfig.isLoopback("10.1.2.3"));
    }

    @Test
    void bearerTokensAreCheckedExactly() {
        Tokens off = Tokens.single(null);
        assertEquals(
                403,
                assertThrows(ApiException.class, () -> off.require(off.authenticate("Bearer x"), Tokens.Role.WRITER))
                        .status());
        Tokens on = Tokens.single(Fixture.TOKEN);
        on.require(on.authenticate("Bearer " + Fixture.TOKEN), Tokens.Role.WRITER);
        on.require(on.authenticate("bearer  " + Fixture.TOKEN + " "), Tokens.Role.ADMIN);
        assertEquals(
                401,
                assertThrows(ApiException.class, () -> on.require(on.authenticate(null), Tokens.Role.WRITER))
                        .status());
        for (String bad : new String[] {
            "",
            "Bearer",
            "Bearer ",
            "Token " + Fixture.TOKEN,
            "Bearer " + Fixture.TOKEN.substring(1),
            "Bearer " + Fixture.TOKEN.toUpperCase()
        }) {
            assertEquals(
                    401,
                    assertThrows(ApiException.class, () -> on.authenticate(bad)).status(),
                    bad);
        }
    }
}

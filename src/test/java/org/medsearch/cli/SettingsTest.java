package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configuration precedence (flag > environment > file > default), keys and variables that name no
 * option, and {@code serve --print-config}, through the real command line (no model is loaded:
 * {@code --print-config} stops before).
 */
class SettingsTest {

    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(env, new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    static Run printConfig(Map<String, String> env, String... extra) {
        List<String> args = new ArrayList<>(List.of("serve", "--model", "m", "--index", "i", "--print-config"));
        args.addAll(List.of(extra));
        return run(env, args.toArray(String[]::new));
    }

    /** The line of a printed setting: {@code serve.port = 8443    # environment MEDSEARCH_PORT}. */
    static String line(Run r, String key) {
        return r.out()
                .lines()
                .filter(l -> l.startsWith("serve." + key + " = "))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no serve." + key + " in:\n" + r.out()));
    }

    @Test
    void flagBeatsEnvironmentBeatsFileBeatsDefault() throws Exception {
        Path conf = Files.writeString(
                dir.resolve("medsearch.conf"),
                "# every command with --queue\nqueue = 3\nserve.port = 7001\nserve.batch = 5\nworkers = 2\n"
                        + "serve.grace = 4\n");
        Map<String, String> env = new HashMap<>(Map.of(
                "MEDSEARCH_PORT", "7002",
                "MEDSEARCH_SERVE_BATCH", "6",
                "MEDSEARCH_BATCH", "7", // the command's own variable wins over the general one
                "MEDSEARCH_TOKEN", "secret-token-value-0123456789",
                "MEDSEARCH_TLS_PASSWORD", "tls-secret-9876543210"));
        Run r = printConfig(env, "--config", conf.toString(), "--port", "7003", "--grace", "9");
        assertEquals(0, r.code(), r.err());
        assertEquals("serve.port = 7003    # flag", line(r, "port"));
        assertEquals("serve.batch = 6    # environment MEDSEARCH_SERVE_BATCH", line(r, "batch"));
        assertEquals("serve.queue = 3    # file " + conf + " key queue", line(r, "queue"));
        assertEquals("serve.workers = 2    # file " + conf + " key workers", line(r, "workers"));
        assertEquals("serve.grace = 9    # flag", line(r, "grace"));
        assertEquals("serve.max-upload = 32    # default", line(r, "max-upload"));
        assertTrue(r.out().contains("# $MEDSEARCH_TOKEN: set (secret, not shown)"), r.out());
        assertTrue(r.out().contains("# $MEDSEARCH_PACS_AUTH: not set"), r.out());
        assertFalse(r.out().contains("secret-token-value") || r.out().contains("tls-secret"), "secrets masked");

        // without the flag, the environment; without that, the file; without the file, the default
        env.remove("MEDSEARCH_PORT");
        r = printConfig(env, "--config=" + conf);
        assertEquals("serve.port = 7001    # file " + conf + " key serve.port", line(r, "port"));
        r = printConfig(Map.of("MEDSEARCH_CONFIG", conf.toString()));
        assertEquals("serve.batch = 5    # file " + conf + " key serve.batch", line(r, "batch"));
        r = printConfig(Map.of());
        assertEquals("serve.port = 8080    # default", line(r, "port"));
        assertTrue(r.out().contains("# configuration file: none"));
    }

    @Test
    void aKeyOrVariableThatNamesNoOptionIsAnErrorNamingIt() throws Exception {
        Path conf = Files.writeString(dir.resolve("typo.conf"), "serve.prot = 8443\n");
        Run r = printConfig(Map.of(), "--config", conf.toString());
        assertEquals(2, r.code());
        assertEquals(
                "medsearch: " + conf + ": unknown key 'serve.prot' (did you mean 'serve.port'?)",
                r.err().strip());

        Files.writeString(conf, "serve.port = 8443\nsrve.batch = 4\n");
        r = printConfig(Map.of(), "--config", conf.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown key 'srve.batch' (did you mean 'serve.batch'?)"), r.err());

        // a typo in a variable, whichever command runs
        r = run(Map.of("MEDSEARCH_MAX_UPLAOD", "64"), "index", "--help");
        assertEquals(2, r.code());
        assertTrue(
                r.err()
                        .contains("environment variable MEDSEARCH_MAX_UPLAOD names no option of any command"
                                + " (did you mean 'MEDSEARCH_MAX_UPLOAD'?)"),
                r.err());

        // the variables with a meaning of their own are not options, and not typos
        r = printConfig(Map.of("MEDSEARCH_PATIENT_SALT", "x", "MEDSEARCH_THREADS", "1", "OTHER_VAR", "y"));
        assertEquals(0, r.code(), r.err());

        // a bad value says where it came from
        r = run(Map.of("MEDSEARCH_SERVE_PORT", "eighty"), "serve", "--model", "m", "--index", "i", "--print-config");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("eighty") && r.err().contains("(from environment MEDSEARCH_SERVE_PORT)"), r.err());

        r = printConfig(Map.of(), "--config", dir.resolve("missing.conf").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing.conf: no such file"), r.err());
    }

    @Test
    void otherCommandsTakeTheFileToo() throws Exception {
        // the help shows the effective default: search's own key beats the general one, which serves the others
        Path conf = Files.writeString(dir.resolve("all.conf"), "search.k = 7\nk = 3\n");
        Run r = run(Map.of(), "search", "--help", "--config", conf.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--config=FILE"), r.out());
        assertTrue(r.out().replaceAll("\\s+", " ").contains("Results per query (default 7)"), r.out());
        Run general = run(Map.of("MEDSEARCH_CONFIG", conf.toString()), "loadtest", "--help");
        assertEquals(0, general.code(), general.err());
        assertTrue(general.out().replaceAll("\\s+", " ").contains("Results per query (default 3)"), general.out());
        Run env = run(Map.of("MEDSEARCH_K", "5"), "evaluate", "--help");
        assertTrue(env.out().replaceAll("\\s+", " ").contains("mAP@k (default 5)"), env.out());
    }
}

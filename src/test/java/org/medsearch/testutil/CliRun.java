package org.medsearch.testutil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.medsearch.cli.Main;

/** One in-process run of the command line, with what it printed. */
public record CliRun(int code, String out, String err) {

    public static CliRun run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new CliRun(code, out.toString(), err.toString());
    }

    /** A user mistake: exit 2, one line on stderr naming {@code expected}, no stack trace. */
    public void assertUserError(String expected) {
        assertEquals(2, code, toString());
        assertTrue(err.contains(expected), err);
        assertFalse(err.contains("\tat ") || err.contains("Exception"), "no stack trace: " + err);
        assertEquals(1, err.strip().lines().count(), "one line: " + err);
    }
}

package org.medsearch.cli;

import java.io.PrintWriter;
import java.util.function.Supplier;
import org.medsearch.util.ConsoleProgress;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;
import picocli.CommandLine;

/** Where a command writes: results to stdout, progress and notes to stderr. */
final class Output {
    private Output() {}

    static PrintWriter out(CommandLine.Model.CommandSpec spec) {
        return spec.commandLine().getOut();
    }

    static PrintWriter err(CommandLine.Model.CommandSpec spec) {
        return spec.commandLine().getErr();
    }

    /** Builds a value from the user's options; a value the domain refuses is the user's to fix (exit 2). */
    static <T> T fromOptions(String option, Supplier<T> build) throws MedsearchException {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new MedsearchException(option + ": " + e.getMessage());
        }
    }

    /** Progress bars on a terminal, periodic lines otherwise, nothing with {@code quiet}. */
    static Progress progress(boolean quiet) {
        return quiet ? Progress.NONE : ConsoleProgress.stderr();
    }
}

package org.medsearch.cli;

import java.io.PrintWriter;
import org.medsearch.util.ConsoleProgress;
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

    /** Progress bars on a terminal, periodic lines otherwise, nothing with {@code quiet}. */
    static Progress progress(boolean quiet) {
        return quiet ? Progress.NONE : ConsoleProgress.stderr();
    }
}

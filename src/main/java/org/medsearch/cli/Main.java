package org.medsearch.cli;

import java.io.PrintWriter;
import java.util.Map;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Version;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code medsearch} command line: train, index, search, evaluate, demo, bench, serve, loadtest.
 *
 * <p>Exit codes: 0 success; 2 a problem the user can fix (bad option, missing model or index, a file
 * that is not an image), reported in one line without a stack trace; 1 an internal error (a bug),
 * with its stack trace only under {@code --debug}.
 *
 * <pre>{@code
 * ./medsearch train --data MedNIST --out models/mednist --image-size 64 --epochs 3
 * ./medsearch search --model models/mednist --index index/mednist query.jpeg
 * }</pre>
 */
@Command(
        name = "medsearch",
        mixinStandardHelpOptions = true,
        versionProvider = Main.VersionProvider.class,
        description = "Content-based medical image retrieval with ResNet-18 features.",
        subcommands = {
            TrainCommand.class,
            CvCommand.class,
            QuantizeCommand.class,
            IndexCommand.class,
            DeleteCommand.class,
            SearchCommand.class,
            EvaluateCommand.class,
            DemoCommand.class,
            ServeCommand.class,
            LoadtestCommand.class,
            BenchCommand.class,
            BenchIndexCommand.class,
            SolrCommand.class,
            TokenCommand.class,
            InspectCommand.class,
            SlicesCommand.class,
            CompletionCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The configuration file and environment of the running command line (see {@link Settings}). */
    static Settings settings;

    static boolean debug = Boolean.getBoolean("medsearch.debug") || System.getenv("MEDSEARCH_DEBUG") != null;

    /**
     * Lucene 9 on Java 17 logs that it will not use the Vector API (medsearch's own scan does); the
     * logger is held here because java.util.logging keeps loggers only weakly.
     */
    private static final java.util.logging.Logger LUCENE_VECTORIZATION =
            java.util.logging.Logger.getLogger("org.apache.lucene.internal.vectorization");

    static {
        LUCENE_VECTORIZATION.setLevel(java.util.logging.Level.SEVERE);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line with the given streams and returns the exit code (tests must not exit). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(System.getenv(), out, err, args);
    }

    /** As {@link #run(PrintWriter, PrintWriter, String...)} with another environment (for {@link Settings}). */
    static int run(Map<String, String> env, PrintWriter out, PrintWriter err, String... args) {
        for (String a : args) {
            if (a.equals("--debug")) {
                debug = true;
            }
        }
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        try {
            settings = Settings.load(args, env, cl);
        } catch (MedsearchException e) {
            err.println("medsearch: " + oneLine(e.getMessage()));
            err.flush();
            return 2;
        }
        settings.install(cl);
        try {
            return cl.execute(java.util.Arrays.stream(args)
                    .filter(a -> !a.equals("--debug"))
                    .toArray(String[]::new));
        } finally {
            out.flush();
            err.flush();
        }
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Main::handle);
        cl.setParameterExceptionHandler(Main::handleParameters);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    /** A bad or missing option: one line naming it, and where the options are listed; exit 2. */
    private static int handleParameters(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        String from = "";
        if (settings != null
                && e.getArgSpec() instanceof CommandLine.Model.OptionSpec o
                && java.util.Arrays.stream(args)
                        .noneMatch(a -> java.util.Arrays.stream(o.names())
                                .anyMatch(n -> a.equals(n) || a.startsWith(n + "=")))) {
            Settings.Source s = settings.source(cl, o);
            from = s.kind().equals("environment") || s.kind().equals("file") ? " (from " + s + ")" : "";
        }
        err.println("medsearch: " + oneLine(String.valueOf(e.getMessage())) + from + " (see: medsearch "
                + (cl.getCommandName().equals("medsearch") ? "" : cl.getCommandName() + " ") + "--help)");
        err.flush();
        return 2;
    }

    private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (isUserError(e)) {
            // user-fixable: a one-line message
            err.println("medsearch: " + oneLine(userMessage(e)));
            if (debug) {
                e.printStackTrace(err);
            }
            err.flush();
            return 2;
        }
        err.println("medsearch: internal error: " + oneLine(String.valueOf(e))
                + (debug ? "" : " (run with --debug for details)"));
        if (debug) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    /**
     * The one user error type, and the file-system errors of the paths a user names (a missing or
     * unreadable file): exit 2. Everything else, an {@link IllegalArgumentException} from deep in the
     * code included, is a bug: exit 1.
     */
    static boolean isUserError(Throwable e) {
        return e instanceof MedsearchException
                || e instanceof java.nio.file.NoSuchFileException
                || e instanceof java.nio.file.AccessDeniedException
                || e instanceof java.nio.file.NotDirectoryException
                || e instanceof java.nio.file.FileAlreadyExistsException;
    }

    /**
     * The message for a user-fixable exception. The JDK's file-system exceptions often carry only the
     * path (an AccessDeniedException's message is the file name), so those say what happened too.
     */
    static String userMessage(Exception e) {
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() == null && f.getFile() != null) {
            String what = e instanceof java.nio.file.AccessDeniedException
                    ? "permission denied"
                    : e instanceof java.nio.file.NoSuchFileException
                            ? "no such file or directory"
                            : e instanceof java.nio.file.FileAlreadyExistsException
                                    ? "already exists"
                                    : e instanceof java.nio.file.NotDirectoryException
                                            ? "not a directory"
                                            : "cannot access (" + e.getClass().getSimpleName() + ")";
            return f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + what;
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    static String oneLine(String s) {
        return s.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    /** {@code --version}: the version, the git commit and the time of the build, and the Java that runs it. */
    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "medsearch " + Version.current(),
                "commit " + Version.commit(),
                "built " + Version.buildTime(),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ", "
                        + System.getProperty("java.home") + ")"
            };
        }
    }
}

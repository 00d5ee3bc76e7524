package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.ImageFormatException;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.model.WeightsFormatException;
import org.medsearch.server.ServerConfig;
import org.medsearch.testutil.CliRun;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine;

/**
 * One error model (a user error is exit 2 with one line; anything else is a bug, exit 1) and each
 * default stated once (the commands' defaults are the records' defaults).
 */
class ErrorModelTest {

    @TempDir
    Path work;

    @Test
    void onlyTheUserErrorTypeAndMissingFilesAreTheUsersToFix() {
        assertTrue(Main.isUserError(new MedsearchException("x")));
        assertTrue(Main.isUserError(new ImageFormatException("not an image")));
        assertTrue(Main.isUserError(new WeightsFormatException("bad weights")));
        assertTrue(Main.isUserError(new NoSuchFileException("/nowhere")));
        // an internal argument error is a bug, not the user's mistake
        assertFalse(Main.isUserError(new IllegalArgumentException("invalid queue sizes")));
        assertFalse(Main.isUserError(new IllegalStateException("x")));
        assertFalse(Main.isUserError(new java.io.IOException("disk error")));
    }

    @Test
    void fixedSetsAreRefusedByTheParserNamingTheOption() {
        CliRun v = CliRun.run("index", "--model", "m", "--data", "d", "--index", "i", "--vectors", "int9");
        assertEquals(2, v.code(), v.toString());
        assertTrue(v.err().contains("--vectors") && v.err().contains("int9"), v.err());
        CliRun f = CliRun.run("train", "--data", "d", "--out", "o", "--finetune", "everything");
        assertEquals(2, f.code(), f.toString());
        assertTrue(f.err().contains("--finetune"), f.err());
        CliRun p = CliRun.run("train", "--data", "d", "--out", "o", "--plane", "oblique");
        assertEquals(2, p.code(), p.toString());
        assertTrue(p.err().contains("--plane"), p.err());
        CliRun s = CliRun.run("train", "--data", "d", "--out", "o", "--split", "70/30");
        assertEquals(2, s.code(), s.toString());
        assertTrue(s.err().contains("--split"), s.err());
        CliRun r = CliRun.run("train", "--data", "d", "--out", "o", "--recipe", "best");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--recipe") && r.err().contains("paper or strong"), r.err());
        CliRun c = CliRun.run("train", "--data", "d", "--out", "o", "--schedule", "linear");
        assertEquals(2, c.code(), c.toString());
        assertTrue(c.err().contains("--schedule"), c.err());
        CliRun l = CliRun.run("train", "--data", "d", "--out", "o", "--label-smoothing", "1.5");
        l.assertUserError("--label-smoothing must be at least 0 and below 1, got 1.5");
    }

    @Test
    void outOfRangeSearchAndServeOptionsAreUserErrorsNamingTheirFlag() {
        CliRun k = CliRun.run(
                "search",
                "--model",
                work.resolve("m").toString(),
                "--index",
                work.resolve("i").toString(),
                "--k",
                "0",
                "q.png");
        k.assertUserError("--k");
        CliRun q = CliRun.run("serve", "--model", "m", "--index", "i", "--queue", "-1");
        q.assertUserError("--queue must be between 0 and 10000, got -1");
        CliRun d =
                CliRun.run("serve", "--model", "m", "--index", "i", "--max-decoded", "512", "--decode-memory", "100");
        d.assertUserError("--decode-memory must be at least --max-decoded");
    }

    @Test
    void trainAndServeDefaultsAreTheRecordsDefaults() throws Exception {
        CommandLine cl = Main.commandLine();
        CommandLine.ParseResult train = cl.parseArgs("train", "--data", "d", "--out", "o");
        TrainCommand t = (TrainCommand) train.subcommand().commandSpec().userObject();
        assertEquals(TrainingRecipe.paper(), t.training.recipe());

        // --recipe strong takes the strong recipe's values; each knob given overrides one of them
        TrainCommand strongCmd = (TrainCommand) Main.commandLine()
                .parseArgs("train", "--data", "d", "--out", "o", "--recipe", "strong")
                .subcommand()
                .commandSpec()
                .userObject();
        assertEquals(TrainingRecipe.strong(), strongCmd.training.recipe());
        TrainCommand tuned = (TrainCommand) Main.commandLine()
                .parseArgs(
                        "train",
                        "--data",
                        "d",
                        "--out",
                        "o",
                        "--recipe",
                        "strong",
                        "--image-size",
                        "128",
                        "--flip",
                        "--no-balance")
                .subcommand()
                .commandSpec()
                .userObject();
        TrainingRecipe r = tuned.training.recipe();
        assertEquals(128, r.imageSize());
        assertTrue(r.augmentation().flip());
        assertFalse(r.classBalanced());
        assertEquals(TrainingRecipe.strong().learningRate(), r.learningRate());
        assertEquals(TrainingRecipe.Schedule.COSINE, r.schedule());

        CommandLine.ParseResult serve = Main.commandLine().parseArgs("serve", "--model", "m", "--index", "i");
        ServeCommand s = (ServeCommand) serve.subcommand().commandSpec().userObject();
        assertEquals(ServerConfig.defaults(), s.config(null));

        // and the help shows them from there
        String help = Main.commandLine()
                .getSubcommands()
                .get("serve")
                .getUsageMessage()
                .replaceAll("\\s+", " ");
        assertTrue(help.contains("(default " + (ServerConfig.defaults().decodeMemoryBytes() >> 20) + ")"), help);
        assertTrue(
                help.contains(
                        "(default " + ServerConfig.defaults().uploadDeadline().toSeconds() + ")"),
                help);
        String trainHelp = Main.commandLine()
                .getSubcommands()
                .get("train")
                .getUsageMessage()
                .replaceAll("\\s+", " ");
        assertTrue(
                trainHelp.contains("the most with early stopping (default "
                        + TrainingRecipe.paper().epochs() + ")"),
                trainHelp);
        // --recipe's help states the strong recipe's values
        TrainingRecipe strong = TrainingRecipe.strong();
        for (String part : new String[] {
            "lr " + strong.learningRate(),
            "weight decay "
                    + new java.math.BigDecimal(String.valueOf(strong.weightDecay()))
                            .stripTrailingZeros()
                            .toPlainString(),
            "label smoothing " + strong.labelSmoothing(),
            "at most " + strong.epochs() + " epochs",
            "early stopping after " + strong.earlyStopPatience()
        }) {
            assertTrue(trainHelp.contains(part), part + " in " + trainHelp);
        }
        assertEquals(Duration.ofSeconds(60), ServerConfig.defaults().uploadDeadline());
    }
}

package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.CliRun;
import org.medsearch.util.Version;

/**
 * {@code medsearch --version} (the version, the git commit and the time of the build, from the
 * resource that the Maven build filters) and {@code medsearch completion} (a bash completion script
 * that bash itself runs here).
 */
class VersionAndCompletionTest {

    @Test
    void versionNamesTheBuildTheCommitAndTheJava() throws Exception {
        CliRun r = CliRun.run("--version");
        assertEquals(0, r.code(), r.toString());
        assertEquals("", r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(4, lines.size(), r.out());

        // the build wrote the resource: these are the project's values, not the fallbacks
        assertEquals("medsearch " + Version.current(), lines.get(0));
        assertTrue(Version.current().matches("\\d+\\.\\d+\\.\\d+(-[A-Za-z0-9.]+)?"), Version.current());

        assertEquals("commit " + Version.commit(), lines.get(1));
        String head = gitHead();
        if (head == null) {
            assertEquals(Version.UNKNOWN, Version.commit(), "no git checkout here: the build knew none either");
        } else {
            // the build's commit is this checkout's HEAD (a linked work tree's own, not its main repository's)
            assertTrue(Version.commit().matches("[0-9a-f]{10}(-dirty)?"), Version.commit());
            assertEquals(head.substring(0, 10), Version.commit().substring(0, 10));
        }

        assertEquals("built " + Version.buildTime(), lines.get(2));
        Instant built = Instant.parse(Version.buildTime());
        assertTrue(built.isBefore(Instant.now().plusSeconds(60)), built.toString());
        assertTrue(built.isAfter(Instant.now().minus(Duration.ofDays(3650))), built.toString());

        assertTrue(lines.get(3).startsWith("Java " + System.getProperty("java.version") + " ("), lines.get(3));
    }

    @Test
    void completionIsABashScriptForEveryCommandAndOption(@TempDir Path tmp) throws Exception {
        CliRun r = CliRun.run("completion");
        assertEquals(0, r.code(), r.toString());
        assertEquals("", r.err());
        String script = r.out();
        assertTrue(script.startsWith("#!/usr/bin/env bash"), script.substring(0, Math.min(200, script.length())));
        assertTrue(script.contains("complete -F _complete_medsearch"), "registers the function for medsearch");
        Set<String> commands = Main.commandLine().getSubcommands().keySet();
        assertTrue(
                commands.containsAll(List.of("serve", "demo", "index", "search", "completion")), commands.toString());
        for (String c : commands) {
            assertTrue(script.contains(c), "mentions the subcommand " + c);
        }
        for (String option : new String[] {"--model", "--index", "--data", "--port", "--token-file", "--version"}) {
            assertTrue(script.contains(option), "mentions " + option);
        }
        assertFalse(script.contains("--mednist-url"), "hidden options stay hidden");

        // bash completes with it: commands after "medsearch se", options after "medsearch serve --mo"
        Path file = tmp.resolve("medsearch.bash");
        Files.writeString(file, script);
        assertEquals(List.of("search", "serve"), complete(file, "medsearch", "se"));
        assertEquals(List.of("--model"), complete(file, "medsearch", "serve", "--mo"));
        assertTrue(complete(file, "medsearch", "index", "--").containsAll(List.of("--model", "--data", "--index")));
    }

    @Test
    void completionIsListedWithTheOtherCommands() {
        CliRun help = CliRun.run("--help");
        assertEquals(0, help.code(), help.toString());
        assertTrue(help.out().lines().anyMatch(l -> l.strip().startsWith("completion ")), help.out());
        CliRun own = CliRun.run("completion", "--help");
        assertEquals(0, own.code(), own.toString());
        assertTrue(own.out().contains("source <(medsearch completion)"), own.out());
    }

    /** What the completion function offers for the words typed so far (the last one being completed). */
    static List<String> complete(Path script, String... words) throws Exception {
        StringBuilder arr = new StringBuilder();
        for (String w : words) {
            arr.append(" '").append(w).append("'");
        }
        String line = String.join(" ", words);
        String program = "source '" + script + "'\n"
                + "COMP_WORDS=(" + arr + ")\n"
                + "COMP_CWORD=" + (words.length - 1) + "\n"
                + "COMP_LINE='" + line + "'\n"
                + "COMP_POINT=${#COMP_LINE}\n"
                + "_complete_medsearch\n"
                + "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        Process p = new ProcessBuilder("bash", "-c", program)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<String> offered = new ArrayList<>(
                out.lines().map(String::strip).filter(s -> !s.isEmpty()).toList());
        offered.sort(null);
        return offered;
    }

    /** This checkout's HEAD, or null where there is no git or no checkout. */
    static String gitHead() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("git", "rev-parse", "HEAD")
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 && out.matches("[0-9a-f]{40}") ? out : null;
        } catch (IOException e) {
            return null;
        }
    }
}

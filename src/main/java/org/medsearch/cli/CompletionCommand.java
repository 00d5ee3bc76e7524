package org.medsearch.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code medsearch completion}: prints a bash completion script (zsh reads it too, after {@code
 * autoload -U bashcompinit && bashcompinit}) for every command and option of this CLI, written by
 * picocli's {@link AutoComplete} from the same annotations that parse the command line.
 */
@Command(
        name = "completion",
        mixinStandardHelpOptions = true,
        description = {
            "Print a bash completion script for medsearch's commands and options.",
            "In the current shell: source <(medsearch completion)",
            "For every shell: medsearch completion > /etc/bash_completion.d/medsearch "
                    + "(or ~/.local/share/bash-completion/completions/medsearch)"
        })
final class CompletionCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        String script = AutoComplete.bash(spec.root().name(), spec.root().commandLine());
        // the script ends with a newline already; print, not println, keeps it byte for byte picocli's
        spec.commandLine().getOut().print(script);
        spec.commandLine().getOut().flush();
    }
}

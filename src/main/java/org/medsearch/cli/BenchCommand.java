package org.medsearch.cli;

import picocli.CommandLine.Command;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "TODO")
final class BenchCommand implements Runnable {
    @Override
    public void run() {}
}

package org.medsearch.cli;

import picocli.CommandLine.Command;

@Command(name = "demo", mixinStandardHelpOptions = true, description = "TODO")
final class DemoCommand implements Runnable {
    @Override
    public void run() {}
}

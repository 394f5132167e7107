package org.pulmo.examples;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Pulmo's command line: {@code ./pulmo <command> [options]}; with no command it runs {@code train}. */
@Command(name = "pulmo", mixinStandardHelpOptions = true, version = "Pulmo 0.1.0",
    description = "Train and inspect Pulmo's COVID-19 models.",
    subcommands = {DemoTrain.class})
public final class Main implements Callable<Integer> {

    public static void main(String[] args) {
        // One line per log record ("INFO: using the CPU: ..."), not java.util.logging's two.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null)
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        CommandLine cli = new CommandLine(new Main());
        if (args.length == 0 || args[0].startsWith("-") && !isTopLevelOption(args[0])) {
            String[] withTrain = new String[args.length + 1];
            withTrain[0] = "train";
            System.arraycopy(args, 0, withTrain, 1, args.length);
            args = withTrain;
        }
        System.exit(cli.execute(args));
    }

    private static boolean isTopLevelOption(String a) {
        return a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version");
    }

    @Override public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }
}

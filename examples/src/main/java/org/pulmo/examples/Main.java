package org.pulmo.examples;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Pulmo's command line: {@code ./pulmo <command> [options]}; with no command it runs {@code train}. */
@Command(name = "pulmo", mixinStandardHelpOptions = true, version = "Pulmo 0.1.0",
    description = "Train and inspect Pulmo's COVID-19 models.",
    subcommands = {TrainCommand.class, EvaluateCommand.class, PredictCommand.class, ExplainCommand.class, SummaryCommand.class, TableCommand.class})
public final class Main implements Callable<Integer> {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line and returns its exit code (0 ok, 2 usage or data error, 3 diverged, 130 interrupted). */
    public static int run(String... args) {
        // One line per log record ("INFO: using the CPU: ..."), not java.util.logging's two.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null)
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        CommandLine cli = new CommandLine(new Main());
        // Errors people make (a missing folder, a bad option value) get one line, not a stack trace.
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof org.pulmo.data.DatasetException || e instanceof IllegalArgumentException || e instanceof java.io.IOException
                    || e instanceof org.pulmo.data.DataLoadException) {
                cmd.getErr().println("pulmo " + cmd.getCommandName() + ": " + e.getMessage());
                return 2;
            }
            throw e;
        });
        if (args.length == 0 || args[0].startsWith("-") && !isTopLevelOption(args[0])) {
            String[] withTrain = new String[args.length + 1];
            withTrain[0] = "train";
            System.arraycopy(args, 0, withTrain, 1, args.length);
            args = withTrain;
        }
        return cli.execute(args);
    }

    private static boolean isTopLevelOption(String a) {
        return a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version");
    }

    @Override public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }
}

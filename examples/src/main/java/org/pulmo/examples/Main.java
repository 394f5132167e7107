package org.pulmo.examples;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Pulmo's command line: {@code ./pulmo <command> [options]}; with no command it runs {@code train}. */
@Command(name = "pulmo", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = {"Train and inspect Pulmo's COVID-19 models.",
        "With no command it trains: 'pulmo' and 'pulmo --epochs 3' are 'pulmo train' and 'pulmo train --epochs 3'."},
    subcommands = {TrainCommand.class, EvaluateCommand.class, PredictCommand.class, ExplainCommand.class, ExportCommand.class,
        SummaryCommand.class, TableCommand.class, PlotCommand.class, ProbeCommand.class, CheckDataCommand.class})
public final class Main implements Callable<Integer> {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line and returns its exit code (0 ok, 1 out of memory or an internal error, 2 usage or data error, 3 diverged, 130 interrupted by Ctrl-C, 143 by SIGTERM). */
    public static int run(String... args) {
        // One line per log record ("INFO: using the CPU: ..."), not java.util.logging's two.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null)
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        // Numbers as files and scripts read them, whatever the machine's locale: "0.5", never "0,5" (plots' axes, tables,
        // the progress lines); messages and the user's own text are not touched
        java.util.Locale.setDefault(java.util.Locale.Category.FORMAT, java.util.Locale.ROOT);
        try {
            org.pulmo.backend.cpu.Parallel.Threads.property();   // a JVM option (PULMO_JAVA_OPTS) checked as the options are
        } catch (IllegalArgumentException e) {
            System.err.println("pulmo: " + e.getMessage());
            return 2;
        }
        CommandLine cli = new CommandLine(new Main());
        cli.registerConverter(java.nio.file.Path.class, new Cli.NonEmptyPath());   // every command's Path options (registered on the subcommands too)
        // every command's -V / --version (mixinStandardHelpOptions gives each one) names the build, not only pulmo's
        for (CommandLine sub : cli.getSubcommands().values()) sub.getCommandSpec().versionProvider(new Version());
        // A usage error (unknown option, missing or malformed value) is one line and a hint, not the whole help.
        cli.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            String msg = e.getMessage();
            if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty())
                msg += " (did you mean " + String.join(" or ", u.getSuggestions()) + "?)";
            cmd.getErr().println(Cli.usageError(cmd.getCommandName(), commandPath(cmd), msg));
            return 2;
        });
        // Errors people make (a missing folder, a bad option value, an unwritable --out) get one line, not a stack trace.
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("pulmo " + cmd.getCommandName() + ": " + Cli.describe(e));
            return Cli.isUserError(e) ? 2 : 1;
        });
        if (args.length == 0 || args[0].startsWith("-") && !isTopLevelOption(args[0])) {
            String[] withTrain = new String[args.length + 1];
            withTrain[0] = "train";
            System.arraycopy(args, 0, withTrain, 1, args.length);
            args = withTrain;
        }
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            // picocli passes Errors through; a stack trace here would say nothing that the next line does not.
            System.err.println("pulmo: " + Cli.outOfMemory(e));
            if ("1".equals(System.getenv("PULMO_STACKTRACE"))) e.printStackTrace();   // where the heap ran out, for a report
            return 1;
        }
    }

    /** "pulmo train" for the train command's parser. */
    private static String commandPath(CommandLine cmd) {
        StringBuilder sb = new StringBuilder();
        for (CommandLine c = cmd; c != null; c = c.getParent()) sb.insert(0, c.getCommandName() + (sb.isEmpty() ? "" : " "));
        return sb.toString();
    }

    private static boolean isTopLevelOption(String a) {
        return a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version");
    }

    /** {@code pulmo --version}: "Pulmo 0.1.0-SNAPSHOT, commit d8f57fe" (the build's git commit, as every run.json records it). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() { return new String[] {"Pulmo " + org.pulmo.train.BuildInfo.current()}; }
    }

    @Override public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }
}

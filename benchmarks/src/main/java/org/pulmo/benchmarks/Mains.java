package org.pulmo.benchmarks;

import java.util.Locale;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * How every benchmark and profile {@code main} ends when it cannot measure: one line on stderr naming the class and
 * what is wrong, and a non-zero exit code, never a stack trace (as the {@code pulmo} command line): 2 for a command
 * line or argument at fault (JMH's own option errors included) and for a machine that cannot run the benchmark (no
 * usable GPU), 1 for a run in which no benchmark produced a result (JMH printed each one's error above) and for
 * anything unexpected ({@code PULMO_STACKTRACE=1} adds the stack trace).
 */
final class Mains {
    private Mains() {}

    /** A main's body; it may throw what JMH throws. */
    @FunctionalInterface
    interface Body {
        void run() throws Exception;
    }

    /** Refused arguments or a machine that cannot run the benchmark: the message is the whole line after the class name. */
    static final class Refused extends RuntimeException {
        final int exitCode;

        Refused(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    /** Arguments at fault (exit code 2). */
    static Refused refuse(String why) { return new Refused(why, 2); }

    /** Whether {@code args} ask for help ({@code -h} or {@code --help} first), for the mains that are not JMH's. */
    static boolean asksHelp(String[] args) { return args.length > 0 && (args[0].equals("-h") || args[0].equals("--help")); }

    /** Runs {@code body} as {@code name}'s main; see the class comment for how it ends when it cannot measure. */
    static void run(String name, Body body) {
        int code = outcome(name, body, System.err);
        if (code != 0) System.exit(code);
    }

    /** Runs {@code body}; 0 when it returned, else the exit code, with its one line written to {@code err}. */
    static int outcome(String name, Body body, java.io.PrintStream err) {
        int code;
        String line;
        Throwable cause = null;
        try {
            body.run();
            return 0;
        } catch (Refused e) {
            code = e.exitCode;
            line = e.getMessage();
        } catch (CommandLineOptionException e) {
            code = 2;
            line = e.getMessage() + " (-h lists JMH's options)";
        } catch (org.openjdk.jmh.runner.NoBenchmarksException e) {   // its message is null; an argument at fault
            code = 2;
            line = "no benchmark of this class matches the names given (check the include and -e exclude patterns; -l lists them)";
        } catch (RunnerException e) {
            code = 1;
            line = "nothing measured: " + (e.getMessage() != null ? e.getMessage() : e.toString());
            // JMH's own message can hide the value at fault ("Profilers failed to initialize"): its causes name it
            Throwable c = e.getCause();
            for (int depth = 0; c != null && depth < 8; c = c.getCause(), depth++)
                if (c.getMessage() != null && !line.contains(c.getMessage())) line += ": " + c.getMessage();
            cause = e;
        } catch (OutOfMemoryError e) {
            code = 1;
            line = String.format(Locale.ROOT, "out of memory with a heap of %d MiB: a smaller batch or size, or a larger -Xmx",
                Runtime.getRuntime().maxMemory() >> 20);
        } catch (Throwable e) {
            code = 1;
            line = "unexpected " + e + " (PULMO_STACKTRACE=1 prints its stack trace)";
            cause = e;
        }
        System.out.flush();
        err.println(name + ": " + line);
        if (cause != null && "1".equals(System.getenv("PULMO_STACKTRACE"))) cause.printStackTrace(err);
        return code;
    }

    /** {@code Integer.parseInt(value)} for the argument {@code what}, at least {@code min}, else refused naming both. */
    static int wholeNumber(String what, String value, int min) {
        int v;
        try {
            v = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw refuse(what + " must be a whole number, got '" + value + "'");
        }
        if (v < min) throw refuse(what + " must be at least " + min + ", got " + v);
        return v;
    }
}

package org.pulmo.benchmarks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Work rates beside JMH's times: runs a benchmark class with JMH command-line options and prints, per
 * parameter set, the time per op and a rate (GB/s of minimum traffic, images/s) for each fork and their median.
 * {@code SgemmBench.printGflops} uses it with GFLOP/s.
 */
final class Rates {
    private Rates() {}

    /** Work per op of one result (its @Params and benchmark name), in the rate's unit times {@code perSecond}. */
    @FunctionalInterface
    interface Work {
        double perOp(RunResult r);
    }

    /**
     * Runs {@code bench} (all its methods unless the options name others) and prints "name params: time, median
     * rate, forks" lines. {@code unit} names the rate ("GB/s", "images/s"); {@code work} gives work per op in that
     * unit's numerator (bytes / 1e9 for GB/s, images for images/s).
     */
    static Collection<RunResult> run(Class<?> bench, String[] args, String unit, Work work)
            throws RunnerException, CommandLineOptionException {
        return run(bench, args, Params.Open.NONE, unit, work);
    }

    /** {@link #run(Class, String[], String, Work)} with the class's own check of its open String parameters. */
    static Collection<RunResult> run(Class<?> bench, String[] args, Params.Open open, String unit, Work work)
            throws RunnerException, CommandLineOptionException {
        Collection<RunResult> results = measure(bench, args, open);
        if (results.isEmpty()) return results;   // it listed or helped
        System.out.println();
        System.out.println("Time per op and " + unit + " (median of forks; forks in brackets):");
        boolean modes = results.stream().map(r -> r.getParams().getMode()).distinct().count() > 1;   // -bm thrpt,avgt: say which line is which
        for (RunResult r : results) System.out.println(line(r, unit, work::perOp, modes));
        java.nio.file.Path ratesFile = ratesFile(new CommandLineOptions(args));
        if (ratesFile != null) {
            try {
                org.pulmo.io.AtomicFiles.writeString(ratesFile, ratesJson(results, unit, work::perOp));
            } catch (java.io.IOException e) {
                throw new Mains.Refused("measured (above), but the rates could not be written to " + ratesFile + ": " + e, 1);
            }
            System.out.println(unit + " per result, as JSON: " + ratesFile);
        }
        // a rate means little without what the machine attains at the same moment: GB/s beside a plain copy's, images/s
        // beside the FMA peak (GFLOP/s: SgemmBench prints its peak itself, or the run measured it); the CPU's, so not
        // beside a GPU's figures; measured after the rates are written, which a failure here must not cost
        boolean onGpu = results.stream().anyMatch(r -> {
            String d = r.getParams().getParam("device");
            return d != null && !d.equals("cpu");
        });
        if (!onGpu && unit.equals("GB/s")) System.out.println(copyLine(copyBandwidthHere(), org.pulmo.backend.cpu.Parallel.threads()));
        if (!onGpu && unit.equals("images/s")) System.out.println(SgemmBench.peakLine(SgemmBench.peakHere(), org.pulmo.backend.cpu.Parallel.threads()));
        return results;
    }

    /** Floats in each of {@link #copyBandwidthHere}'s two arrays: 256 MiB, past any last-level cache, or an eighth of the heap. */
    static int copyFloats(long maxHeap) {
        return (int) Math.min(64L << 20, maxHeap / 8 / Float.BYTES);
    }

    /**
     * This JVM's copy bandwidth now, in GB/s counted as the GB/s of the benchmarks are (bytes read once plus bytes written
     * once): {@link #copyFloats} floats copied with System.arraycopy on {@link org.pulmo.backend.cpu.Parallel#threads()}
     * threads, one contiguous part each, for 0.5 s untimed, then for 1 s timed, the best copy kept. No JMH fork.
     */
    static double copyBandwidthHere() {
        return copyBandwidth(copyFloats(Runtime.getRuntime().maxMemory()), 500_000_000L, 1_000_000_000L);
    }

    /** The best GB/s of copying n floats, after warmNanos of untimed copies, over timedNanos of timed ones. */
    static double copyBandwidth(int n, long warmNanos, long timedNanos) {
        float[] from = new float[n], to = new float[n];
        for (int i = 0; i < n; i++) from[i] = i;   // touched: the pages exist before the first timed copy
        Runnable copy = () -> org.pulmo.backend.cpu.Parallel.forRange(n, Long.MAX_VALUE / n, (s, e) -> System.arraycopy(from, s, to, s, e - s));
        for (long warm = System.nanoTime() + warmNanos; System.nanoTime() < warm; ) copy.run();
        double best = 0;
        for (long end = System.nanoTime() + timedNanos; best == 0 || System.nanoTime() < end; ) {
            long t0 = System.nanoTime();
            copy.run();
            best = Math.max(best, 2.0 * n * Float.BYTES / ((System.nanoTime() - t0) / 1e9) / 1e9);
        }
        if (to[n - 1] != n - 1 || to[n / 2] != n / 2) throw new IllegalStateException("the copy of " + n + " floats did not reach every part");
        return best;
    }

    /** The line that puts a run's GB/s beside the copy bandwidth measured right after it. */
    static String copyLine(double gbs, int threads) {
        return String.format(Locale.ROOT, "Copy bandwidth of this JVM right after the run, %d thread%s: %.1f GB/s (System.arraycopy of"
            + " %d MiB, read and write counted as above; forks given other -Dpulmo.threads than this JVM have another)",
            threads, threads == 1 ? "" : "s", gbs, copyFloats(Runtime.getRuntime().maxMemory()) * (long) Float.BYTES >> 20);
    }

    /**
     * Where the rates go as JSON when JMH writes a result file ({@code -rf json}, {@code -rff FILE}): beside it, FILE's name
     * with {@code .rates.json} for a {@code .json} extension and after any other ({@code out.csv.rates.json}, so that a CSV
     * and a JSON result file of one name keep theirs apart); JMH's own file holds its scores only. Null without a result file.
     */
    static java.nio.file.Path ratesFile(CommandLineOptions cli) {
        if (!cli.getResultFormat().hasValue() && !cli.getResult().hasValue()) return null;
        String format = cli.getResultFormat().hasValue() ? cli.getResultFormat().get().toString().toLowerCase(Locale.ROOT) : "csv";
        String file = cli.getResult().hasValue() ? cli.getResult().get() : "jmh-result." + format;
        return java.nio.file.Path.of((file.endsWith(".json") ? file.substring(0, file.length() - 5) : file) + ".rates.json");
    }

    /**
     * One object per result: {benchmark, mode, params, unit, median, forks (each fork's rate), seconds_per_op (the
     * median of the forks' times)}, the figures the printed lines show.
     */
    static String ratesJson(Collection<RunResult> results, String unit, ToDoubleFunction<RunResult> work) {
        List<java.util.Map<String, Object>> rows = new ArrayList<>();
        for (RunResult r : results) {
            Forks f = forks(r, work);
            List<Double> rates = f.rates(), secs = f.seconds();
            java.util.Map<String, Object> row = new java.util.LinkedHashMap<>();
            row.put("benchmark", r.getParams().getBenchmark());
            row.put("mode", r.getParams().getMode().shortLabel());
            java.util.Map<String, String> params = new java.util.LinkedHashMap<>();
            for (String k : r.getParams().getParamsKeys()) params.put(k, r.getParams().getParam(k));
            row.put("params", params);
            row.put("unit", unit);
            row.put("median", median(rates));
            row.put("forks", rates);
            row.put("seconds_per_op", median(secs));
            rows.add(row);
        }
        return new com.google.gson.GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(rows) + "\n";
    }

    /** Whether the options only ask for an answer (-h, -l, -lp, -lprof, -lrf), with nothing to measure. */
    static boolean onlyAsks(String[] args) throws CommandLineOptionException {
        CommandLineOptions cli = new CommandLineOptions(args);
        return cli.shouldHelp() || cli.shouldList() || cli.shouldListWithParams() || cli.shouldListProfilers() || cli.shouldListResultFormats();
    }

    /**
     * Runs {@code bench}'s benchmarks (all unless the options name some; only this class's either way) and returns their
     * results, or answers -h, -l, -lp, -lprof and -lrf as JMH does and returns none. A run that gives no result is a
     * RunnerException.
     */
    static Collection<RunResult> measure(Class<?> bench, String[] args) throws RunnerException, CommandLineOptionException {
        return measure(bench, args, Params.Open.NONE);
    }

    /**
     * {@link #measure(Class, String[])}, the -p values first checked ({@link Params#check}, {@code open} the class's check of
     * its open String parameters). A {@code -jvmArgsAppend} given on the command line is added after the class's own
     * {@code @Fork(jvmArgsAppend)} (its heap and stack sizes, the Vector API module), where JMH would replace them.
     */
    static Collection<RunResult> measure(Class<?> bench, String[] args, Params.Open open) throws RunnerException, CommandLineOptionException {
        CommandLineOptions cli = new CommandLineOptions(args);
        Params.check(bench, args, open);
        OptionsBuilder opts = new OptionsBuilder();
        opts.parent(cli);
        org.openjdk.jmh.annotations.Fork fork = bench.getAnnotation(org.openjdk.jmh.annotations.Fork.class);
        if (cli.getJvmArgsAppend().hasValue() && fork != null) {
            List<String> both = new ArrayList<>(List.of(fork.jvmArgsAppend()));
            both.addAll(cli.getJvmArgsAppend().get());
            opts.jvmArgsAppend(both.toArray(String[]::new));
        }
        if (cli.getIncludes().isEmpty()) opts.include(bench.getSimpleName());
        // a method named on the command line ("sgemm") is this class's, not every class's of that name in the jar (GPU ones)
        opts.exclude("^(?!" + java.util.regex.Pattern.quote(bench.getName() + ".") + ")");
        Runner runner = new Runner(opts.build());
        if (cli.shouldHelp()) {   // JMH's own answers to -h, -l, -lp, -lprof and -lrf, as java -jar gives them; nothing runs
            try {
                cli.showHelp();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return List.of();
        }
        if (cli.shouldList() || cli.shouldListWithParams()) {
            if (cli.shouldListWithParams()) {
                // JMH lists from the command line's own includes and excludes: none there would list every class of the
                // jar, and a method named there ("conv") every class's method of that name; so this class's, as a run takes
                List<String> own = new ArrayList<>(List.of(args));
                own.addAll(List.of("-e", "^(?!" + java.util.regex.Pattern.quote(bench.getName() + ".") + ")"));
                if (cli.getIncludes().isEmpty()) own.add(java.util.regex.Pattern.quote(bench.getName() + "."));
                runner.listWithParams(new CommandLineOptions(own.toArray(String[]::new)));
            }
            else runner.list();
            return List.of();
        }
        if (cli.shouldListProfilers()) {
            cli.listProfilers();
            return List.of();
        }
        if (cli.shouldListResultFormats()) {
            cli.listResultFormats();
            return List.of();
        }
        Collection<RunResult> results = runner.run();
        if (results.isEmpty())   // every benchmark failed (JMH printed why) or none matched: not a run to exit 0 from
            throw new RunnerException("no benchmark of " + bench.getSimpleName() + " produced a result (see above)");
        return results;
    }

    /** Each fork's seconds per op and rate (work per op over those seconds), in fork order. */
    record Forks(List<Double> seconds, List<Double> rates) {}

    static Forks forks(RunResult r, ToDoubleFunction<RunResult> work) {
        double perOp = work.applyAsDouble(r);
        List<Double> rates = new ArrayList<>(), secs = new ArrayList<>();
        for (BenchmarkResult fork : r.getBenchmarkResults()) {
            double s = secondsPerOp(fork.getPrimaryResult().getScore(), fork.getPrimaryResult().getScoreUnit());
            secs.add(s);
            rates.add(perOp / s);
        }
        return new Forks(secs, rates);
    }

    /** A result's line: name (with its benchmark mode when {@code withMode}), parameters, time per op, rate, each fork's rate. */
    static String line(RunResult r, String unit, ToDoubleFunction<RunResult> work, boolean withMode) {
        Forks f = forks(r, work);
        List<Double> rates = f.rates(), secs = f.seconds();
        StringBuilder forks = new StringBuilder();
        for (double v : rates) forks.append(forks.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", v));
        String name = r.getParams().getBenchmark();
        name = name.substring(name.lastIndexOf('.') + 1) + (withMode ? " (" + r.getParams().getMode().shortLabel() + ")" : "");
        return String.format(Locale.ROOT, "%-22s %-44s %12s/op  %10.1f %s  [%s]", name,
            params(r), formatSeconds(median(secs)), median(rates), unit, forks);
    }

    /**
     * The threads the forked JVM of {@code r} ran Pulmo's CPU kernels on: the last {@code -Dpulmo.threads} among its JVM
     * arguments (the launcher's own, which JMH passes on, and {@code -jvmArgs}/{@code -jvmArgsAppend}), else the
     * machine's processors, as {@code Parallel} decides. Work that scales with threads is counted with this, not with
     * the launcher's count.
     */
    static int forkThreads(RunResult r) {
        return threads(r.getParams().getJvmArgs(), Runtime.getRuntime().availableProcessors());
    }

    /**
     * The last {@code -Dpulmo.threads=N} of {@code jvmArgs}, else {@code processors}, read as {@code Parallel} reads it
     * ({@link org.pulmo.backend.cpu.Parallel.Threads#parse}): a value that is not a count of at least 1 means the processors.
     */
    static int threads(java.util.Collection<String> jvmArgs, int processors) {
        int threads = processors;
        for (String a : jvmArgs)
            if (a.equals("-Dpulmo.threads") || a.startsWith("-Dpulmo.threads=")) {
                int n = org.pulmo.backend.cpu.Parallel.Threads.parse(a.equals("-Dpulmo.threads") ? "" : a.substring("-Dpulmo.threads=".length()));
                threads = n >= 1 ? n : processors;
            }
        return threads;
    }

    /** Seconds per op from a JMH score and its unit (throughput or average-time modes). */
    static double secondsPerOp(double score, String unit) {
        return switch (unit) {
            case "ops/s" -> 1 / score;
            case "ops/ms" -> 1e-3 / score;
            case "ops/us" -> 1e-6 / score;
            case "s/op" -> score;
            case "ms/op" -> score * 1e-3;
            case "us/op" -> score * 1e-6;
            case "ns/op" -> score * 1e-9;
            case "ops/ns" -> 1e-9 / score;
            case "ops/min" -> 60 / score;
            case "min/op" -> score * 60;
            default -> throw new IllegalArgumentException("unexpected JMH score unit " + unit);
        };
    }

    static double median(List<Double> values) {
        double[] s = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (s.length == 0) return Double.NaN;
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String formatSeconds(double s) {
        if (s >= 1) return String.format(Locale.ROOT, "%.3f s", s);
        if (s >= 1e-3) return String.format(Locale.ROOT, "%.3f ms", s * 1e3);
        return String.format(Locale.ROOT, "%.1f us", s * 1e6);
    }

    static String params(RunResult r) {
        StringBuilder s = new StringBuilder();
        for (String key : r.getParams().getParamsKeys()) s.append(key).append('=').append(r.getParams().getParam(key)).append(' ');
        return s.toString().trim();
    }
}

package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.models.MaNet;
import org.pulmo.tensor.Device;
import org.pulmo.testing.Children;
import org.pulmo.train.Trainer;
import picocli.CommandLine;

/**
 * The papers' recipes ({@code examples/recipes/*.sh}) and the GPU machine's {@code scripts/gpu-reproduce.sh} train for
 * hours, so here they run in a second against a stand-in for pulmo that records each command line and makes the files
 * the next step looks for. Every recorded line is then parsed by pulmo's own parser and checked: an option renamed
 * since a script was written, a row of a table trained otherwise than the table's other rows, a row labelled with
 * another configuration than it trained, an evaluation of another run's checkpoint or of other data, a table row or a
 * plot of a folder that nothing wrote. The GPU script's rows are held to the recipes' rows of the same label.
 */
class RecipesTest {

    /** One recorded call: its arguments and what pulmo's parser made of them (the command object, options filled in). */
    record Call(List<String> args, Object command) {
        String name() { return args.get(0); }
    }

    /** What one table row, or one compared run, was trained with: its label, the run's settings and its folder. */
    record Row(String label, Trainer.Settings settings, Path run) {}

    /** The calls of one script and the rows of each table it wrote (by the table's --out) and of its plot. */
    record Script(List<Call> calls, Map<String, List<Row>> tables, List<Row> compared) {
        List<Trainer.Settings> trained() {
            return calls.stream().filter(c -> c.command() instanceof TrainCommand).map(c -> settings((TrainCommand) c.command())).toList();
        }
    }

    /**
     * What each label of the recipes' tables and plots must have trained: the model, the augmentation and, for MA-Net,
     * its blocks and loss (its other switches at the paper's setting). Everything else is the same within a table
     * ({@link #common}).
     */
    static final Map<String, String> CONFIGURATION = Map.ofEntries(
        Map.entry("DPN-92, no augmentation", "dpn92, none"),
        Map.entry("DPN-92, augmentation", "dpn92, dpn-senet"),
        Map.entry("DPN-92-SE, no augmentation", "dpn92-se, none"),
        Map.entry("DPN-92-SE, augmentation", "dpn92-se, dpn-senet"),
        Map.entry("CE", "manet-resnet50, resize, MAB, FAB, loss ce"),
        Map.entry("CE + CS", "manet-resnet50, resize, MAB, FAB, loss ce-cs"),
        Map.entry("Adaptive", "manet-resnet50, resize, MAB, FAB, loss adaptive"),
        Map.entry("ResNet-50", "resnet50, resize"),
        Map.entry("pair, no MAB or FAB (not the paper's row)", "manet-resnet50, resize, loss adaptive"),
        Map.entry("pair, no MAB or FAB", "manet-resnet50, resize, loss adaptive"),
        Map.entry("MAB only", "manet-resnet50, resize, MAB, loss adaptive"),
        Map.entry("MAB + FAB", "manet-resnet50, resize, MAB, FAB, loss adaptive"),
        Map.entry("MA-Net", "manet-resnet50, resize, MAB, FAB, loss adaptive"));

    static final List<String> DPN_LABELS = List.of("DPN-92, no augmentation", "DPN-92, augmentation", "DPN-92-SE, no augmentation",
        "DPN-92-SE, augmentation");
    static final List<String> TABLE7 = List.of("CE", "CE + CS", "Adaptive");
    static final List<String> TABLE8 = List.of("ResNet-50", "pair, no MAB or FAB (not the paper's row)", "MAB only", "MAB + FAB");

    @TempDir Path tmp;

    @Test void dpnSenetRecipeTrainsTheFourRowsOfTables1To3AsThePaperDoes() throws Exception {
        Path data = dataFolder(tmp.resolve("xray"), "covid", "normal", "bacterial", "viral");
        Script s = recipe("dpn-senet-tables-1-3.sh", Map.of(), data.toString());
        assertEquals(List.of("table.md"), List.copyOf(s.tables().keySet()));
        List<Row> rows = s.tables().get("table.md");
        assertEquals(DPN_LABELS, labels(rows));
        for (Row r : rows) {
            assertEquals(100, r.settings().epochs(), r.label() + ": the paper's 100 epochs");
            assertEquals(224, r.settings().imageSize(), r.label() + ": the paper's 224 x 224");
            assertEquals(42, r.settings().seed(), r.label());
        }
        assertEquals(DPN_LABELS, labels(s.compared()));
        assertEquals(4, s.trained().size(), "one training per row");
    }

    @Test void dpnSenetRecipeOnTheDemoDataRunsEveryRowOncePerSeed() throws Exception {
        Script s = recipe("dpn-senet-tables-1-3.sh", Map.of("SEEDS", "42 7 42", "EPOCHS", "1", "DEMO_IMAGES", "32"));
        List<Row> rows = s.tables().get("table.md");
        assertNotNull(rows, "no table.md among " + s.tables().keySet());
        assertEquals(8, rows.size(), "four rows, each under seeds 42 and 7 (the repeated 42 dropped)");
        for (String label : DPN_LABELS)
            assertEquals(List.of(42L, 7L), rows.stream().filter(r -> r.label().equals(label)).map(r -> r.settings().seed()).toList(), label);
        for (Row r : rows) {
            assertEquals(1, r.settings().epochs(), r.label());
            assertEquals(32, r.settings().imageSize(), r.label() + ": the demo's size on a CPU");
        }
        assertEquals(DPN_LABELS, labels(s.compared()), "the plots show the first seed's runs");
        for (Row r : s.compared()) assertEquals(42, r.settings().seed(), r.label());
    }

    @Test void maNetRecipeTrainsTables7And8AsThePaperDoes() throws Exception {
        Path data = dataFolder(tmp.resolve("ct"), "covid", "noncovid");
        Script s = recipe("manet-tables-7-8.sh", Map.of(), data.toString());
        assertEquals(List.of("table7.md", "table8.md"), List.copyOf(s.tables().keySet()));
        assertEquals(TABLE7, labels(s.tables().get("table7.md")));
        assertEquals(TABLE8, labels(s.tables().get("table8.md")));
        for (List<Row> table : s.tables().values())
            for (Row r : table) {
                Trainer.Settings t = r.settings();
                assertEquals(List.of(120, 16, 0.01f, 0.9f, "step", 224), List.of(t.epochs(), t.batchSize(), t.lr(), t.momentum(), t.schedule(),
                    t.imageSize()), r.label() + ": MA-Net's Sec. 4.1 (epochs, batch, lr, momentum, schedule, size)");
            }
        assertTrue(tableCalls(s).stream().allMatch(c -> ((TableCommand) c.command()).binary), "a binary task's tables: covid against noncovid");
        assertEquals(List.of("ResNet-50", "CE", "CE + CS", "MAB only", "pair, no MAB or FAB", "MA-Net"), labels(s.compared()));
        assertEquals(6, s.trained().size(), "one training per configuration: the full MA-Net is a row of both tables");
        assertTrue(s.calls().get(0).command() instanceof CheckDataCommand cd && cd.partsOnly && Integer.valueOf(2).equals(cd.classes),
            "a folder of other than two classes is refused before anything trains: " + s.calls().get(0).args());
    }

    /**
     * Run again into the same OUT (after Ctrl-C, or with a larger EPOCHS), a recipe keeps what is done: every run it
     * finds goes on with --resume, none is trained over (--overwrite removed finished runs and the interrupted run's
     * checkpoint), and each run's test report is made again from its best checkpoint.
     */
    @Test void aRecipeRunAgainResumesItsRunsAndRemovesNothing() throws Exception {
        for (String name : List.of("dpn-senet-tables-1-3.sh", "manet-tables-7-8.sh")) {
            Staged st = staged(name);
            run(st.script(), List.of(), Map.of("EPOCHS", "1"), st.calls());
            int first = read(st.calls()).size();
            run(st.script(), List.of(), Map.of("EPOCHS", "1"), st.calls());
            List<List<String>> all = read(st.calls());
            assertEquals(2 * first, all.size(), name + ": the same calls again");
            for (int i = 0; i < all.size(); i++) {
                List<String> args = all.get(i);
                if (args.get(0).equals("train")) {
                    assertTrue(!args.contains("--overwrite"), name + ": " + args);
                    assertEquals(i >= first, args.contains("--resume"), name + ": the second time, and only then, each run resumes: " + args);
                }
                if (args.get(0).equals("evaluate")) assertTrue(args.contains("--overwrite"), name + ": the run's own report is renewed: " + args);
            }
        }
    }

    @Test void maNetRecipeOnTheDemoDataRunsAtTheDemosSize() throws Exception {
        Script s = recipe("manet-tables-7-8.sh", Map.of());
        for (Trainer.Settings t : s.trained()) {
            assertEquals(3, t.epochs(), t.model());
            assertEquals(32, t.imageSize(), t.model());
        }
        assertTrue(tableCalls(s).stream().noneMatch(c -> ((TableCommand) c.command()).binary), "the demo data has four classes");
    }

    /**
     * gpu-reproduce.sh with every row: its runs are the recipes' runs of the same label, but for its DPN rows' batch of
     * 32 (the script's header says why), on cuda, at 224 x 224.
     */
    @Test void gpuReproduceRowsAreTheRecipesRows() throws Exception {
        Path root = Children.projectRoot();
        assertNotNull(root, "no pulmo root above " + System.getProperty("user.dir"));
        Path tree = tmp.resolve("gpu");
        Files.createDirectories(tree.resolve("scripts"));
        Files.copy(root.resolve("scripts/gpu-reproduce.sh"), tree.resolve("scripts/gpu-reproduce.sh"));
        Path calls = standIn(tree.resolve(".gpu/java.sh"));
        dataFolder(tree.resolve(".gpu-data/xray-4class"), "covid", "normal", "bacterial", "viral");
        dataFolder(tree.resolve(".gpu-data/ct-sarscov2"), "covid", "noncovid");
        List<String> rows = List.of("dpn92-none", "dpn92-aug", "dpn92se-none", "dpn92se-aug", "resnet50", "manet-full", "manet-ce", "manet-ce-cs",
            "manet-no-fab", "manet-no-mab-no-fab", "manet-no-mab");
        Path work = tmp.resolve("gpu-tmp"), out = tmp.resolve("gpu-out");
        Files.createDirectories(work);
        Children.Child c = run(tree.resolve("scripts/gpu-reproduce.sh"), rows, Map.of("TMPDIR", work.toString(), "OUT", out.toString()), calls);
        assertTrue(!c.output().contains("SKIPPED") && !c.output().contains("unknown row"), c.tail());
        Script gpu = checked(read(calls), work.resolve("pulmo-reproduce"));
        assertEquals(rows.size(), gpu.trained().size(), "one training per row");
        assertEquals(rows.size(), (int) gpu.calls().stream().filter(k -> k.command() instanceof ExplainCommand).count(), "a Grad-CAM per row");
        for (Call k : gpu.calls()) if (k.command() instanceof TrainCommand t)
            assertEquals(Device.cuda(0), Device.parse(t.deviceOptions.device), k.args().toString());
        assertEquals(List.of("dpn-senet-tables-1-3.md", "manet-table7.md", "manet-table8.md"), List.copyOf(gpu.tables().keySet()));
        assertEquals(DPN_LABELS, labels(gpu.tables().get("dpn-senet-tables-1-3.md")));
        assertEquals(TABLE7, labels(gpu.tables().get("manet-table7.md")));
        assertEquals(TABLE8, labels(gpu.tables().get("manet-table8.md")));

        Map<String, Row> recipes = new LinkedHashMap<>();
        for (Script s : List.of(recipe("dpn-senet-tables-1-3.sh", Map.of(), dataFolder(tmp.resolve("xray"), "covid", "normal").toString()),
                recipe("manet-tables-7-8.sh", Map.of(), dataFolder(tmp.resolve("ct"), "covid", "noncovid").toString())))
            for (List<Row> table : s.tables().values()) for (Row r : table) recipes.put(r.label(), r);
        for (List<Row> table : gpu.tables().values())
            for (Row g : table) {
                Trainer.Settings r = recipes.get(g.label()).settings(), t = g.settings();
                boolean dpn = t.model().startsWith("dpn");
                assertEquals(dpn ? 32 : r.batchSize(), t.batchSize(), g.label() + ": batch");
                assertEquals(common(r, t.batchSize()), common(t), g.label() + ": trained otherwise than the recipe's row");
            }
    }

    // ---- running a script against the stand-in ----

    /** A copy of {@code examples/recipes/NAME} in a fresh tree beside a stand-in ./pulmo, and the stand-in's record of calls. */
    private record Staged(Path tree, Path script, Path calls) {}

    private Staged staged(String name) throws Exception {
        Path root = Children.projectRoot();
        assertNotNull(root, "no pulmo root above " + System.getProperty("user.dir"));
        Path tree = Files.createTempDirectory(tmp, "repo");
        Files.createDirectories(tree.resolve("examples/recipes"));
        Path script = Files.copy(root.resolve("examples/recipes").resolve(name), tree.resolve("examples/recipes").resolve(name));
        return new Staged(tree, script, standIn(tree.resolve("pulmo")));
    }

    /** Runs {@code examples/recipes/NAME} from a copy beside a stand-in ./pulmo, as it runs in the repository. */
    private Script recipe(String name, Map<String, String> env, String... args) throws Exception {
        Staged st = staged(name);
        run(st.script(), List.of(args), env, st.calls());
        return checked(read(st.calls()), st.tree());
    }

    /** Runs {@code script} with {@code args} and {@code env}, its stand-in recording into {@code calls}; it must exit 0. */
    private static Children.Child run(Path script, List<String> args, Map<String, String> env, Path calls) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", script.toString()));
        cmd.addAll(args);
        Map<String, String> e = new TreeMap<>(env);
        e.put("PULMO_CALLS", calls.toString());
        Children.Child c = Children.run(cmd, e, 120, calls.resolveSibling(script.getFileName() + ".log"), script.getFileName().toString());
        assertEquals(0, c.code(), c.tail());
        return c;
    }

    /**
     * A stand-in for pulmo at {@code at}: appends its arguments (NUL-separated, a line per call) to $PULMO_CALLS, and
     * makes what a real call would leave for the next one: a run's best.safetensors and run.json, an evaluation's
     * metrics.json. {@code org.pulmo.examples.Main} as the first argument (the GPU bundle's java.sh) is dropped.
     */
    private static Path standIn(Path at) throws Exception {
        Files.createDirectories(at.getParent());
        Files.writeString(at, """
            #!/usr/bin/env bash
            [ "${1:-}" = org.pulmo.examples.Main ] && shift
            { printf '%s\\0' "$@"; printf '\\n'; } >> "$PULMO_CALLS"
            out= prev=
            for a in "$@"; do [ "$prev" = --out ] && out=$a; prev=$a; done
            case ${1:-} in
              train) mkdir -p "$out" && : > "$out/best.safetensors" && : > "$out/run.json" ;;
              evaluate) mkdir -p "$out" && : > "$out/metrics.json" ;;
            esac
            """);
        assertTrue(at.toFile().setExecutable(true));
        Path calls = at.resolveSibling("calls.txt");
        Files.writeString(calls, "");
        return calls;
    }

    private static List<List<String>> read(Path calls) throws Exception {
        List<List<String>> all = new ArrayList<>();
        for (String line : Files.readString(calls, StandardCharsets.UTF_8).split("\n", -1)) {
            if (line.isEmpty()) continue;
            assertTrue(line.endsWith("\0"), "a call's record: " + line);
            all.add(List.of(line.substring(0, line.length() - 1).split("\0", -1)));
        }
        assertTrue(!all.isEmpty(), "the script called pulmo not once");
        return all;
    }

    /** A folder with a split.csv naming one test image per class and a folder per class, as gpu-data.sh writes. */
    private static Path dataFolder(Path d, String... classes) throws Exception {
        StringBuilder csv = new StringBuilder("path,label,split\n");
        for (String c : classes) {
            Files.createDirectories(d.resolve(c));
            csv.append(c).append("/a.jpg,").append(c).append(",train\n").append(c).append("/b.jpg,").append(c).append(",test\n");
        }
        Files.writeString(d.resolve("split.csv"), csv.toString());
        return d;
    }

    // ---- what every script's calls must satisfy ----

    /**
     * Parses every call with pulmo's parser and follows the files from one call to the next: each evaluation is of a
     * run trained before it, on that run's data; each table row an evaluation made before it; each compared run or
     * explained checkpoint a run trained before it. Paths are resolved against {@code cwd}, where the script ran pulmo.
     */
    private static Script checked(List<List<String>> all, Path cwd) {
        List<Call> calls = new ArrayList<>();
        Map<Path, TrainCommand> runs = new LinkedHashMap<>();
        Map<Path, TrainCommand> evaluations = new LinkedHashMap<>();
        Map<String, List<Row>> tables = new LinkedHashMap<>();
        List<Row> compared = new ArrayList<>();
        for (List<String> args : all) {
            Object command = parse(args);
            calls.add(new Call(args, command));
            switch (command) {
                case TrainCommand t -> {
                    assertTrue(t.noEvaluate, args + ": the script evaluates the run itself, so training must not");
                    runs.put(cwd.resolve(t.out).normalize(), t);
                }
                case EvaluateCommand e -> {
                    TrainCommand t = runOf(runs, cwd.resolve(e.checkpoint).normalize(), args);
                    assertEquals(dataOptions(t.data), dataOptions(e.data), args + ": evaluated on other data than it trained on");
                    assertEquals("test", e.split, args.toString());
                    evaluations.put(cwd.resolve(e.out).normalize(), t);
                }
                case TableCommand tc -> {
                    List<Row> rows = new ArrayList<>();
                    for (String row : tc.rows) {
                        int eq = row.indexOf('=');
                        Path folder = cwd.resolve(row.substring(eq + 1)).normalize();
                        TrainCommand t = evaluations.get(folder);
                        assertNotNull(t, args + ": row " + row + " is no evaluation made before it");
                        rows.add(new Row(row.substring(0, eq), settings(t), cwd.resolve(t.out).normalize()));
                    }
                    assertNotNull(tc.out, args + ": a table the script keeps");
                    assertTrue(tables.put(tc.out.getFileName().toString(), rows) == null, args + ": a second table into " + tc.out);
                    sameButForTheirConfiguration(rows, args);
                }
                case PlotCommand p -> {
                    assertTrue(compared.isEmpty(), args + ": one comparison per script");
                    for (String c : p.compare) {
                        int eq = c.indexOf('=');
                        Path run = cwd.resolve(c.substring(eq + 1)).normalize();
                        TrainCommand t = runs.get(run);
                        assertNotNull(t, args + ": " + c + " is no run trained before it");
                        compared.add(new Row(c.substring(0, eq), settings(t), run));
                    }
                    assertTrue(!compared.isEmpty(), args.toString());
                    sameButForTheirConfiguration(compared, args);
                }
                case ExplainCommand x -> {
                    runOf(runs, cwd.resolve(x.checkpoint).normalize(), args);
                    assertEquals("gradcam", x.method, args.toString());
                }
                case CheckDataCommand cd -> assertTrue(runs.isEmpty(), args + ": the data is checked before anything trains");
                default -> fail(args + ": a command the scripts do not run");
            }
        }
        assertEquals(runs.size(), (int) calls.stream().filter(c -> c.command() instanceof TrainCommand).count(), "two trainings into one folder");
        return new Script(calls, tables, compared);
    }

    /** The command object pulmo's parser fills in for {@code args}; a rejected line fails the test with picocli's message. */
    private static Object parse(List<String> args) {
        try {
            CommandLine.ParseResult r = new CommandLine(new Main()).parseArgs(args.toArray(String[]::new));
            assertTrue(r.hasSubcommand(), args + ": no command");
            return r.subcommand().commandSpec().userObject();
        } catch (CommandLine.ParameterException e) {
            throw new AssertionError("pulmo refuses a script's call " + args + ": " + e.getMessage(), e);
        }
    }

    private static TrainCommand runOf(Map<Path, TrainCommand> runs, Path checkpoint, List<String> args) {
        assertEquals("best.safetensors", checkpoint.getFileName().toString(), args + ": the run's best checkpoint");
        TrainCommand t = runs.get(checkpoint.getParent());
        assertNotNull(t, args + ": " + checkpoint + " is no run trained before it");
        return t;
    }

    /** Every row trained alike ({@link #common}), each with the configuration its label names ({@link #CONFIGURATION}). */
    private static void sameButForTheirConfiguration(List<Row> rows, List<String> args) {
        for (Row r : rows) {
            assertEquals(CONFIGURATION.get(r.label()), configuration(r.settings()), args + ": row '" + r.label() + "'");
            assertEquals(common(rows.get(0).settings()), common(r.settings()),
                args + ": row '" + r.label() + "' trained otherwise than row '" + rows.get(0).label() + "'");
        }
        Map<String, Long> perLabel = rows.stream().collect(Collectors.groupingBy(Row::label, LinkedHashMap::new, Collectors.counting()));
        Map<Long, List<Row>> bySeed = rows.stream().collect(Collectors.groupingBy(r -> r.settings().seed()));
        for (List<Row> seed : bySeed.values())   // each seed trains every label once
            assertEquals(List.copyOf(perLabel.keySet()), labels(seed), args + ": the labels of seed " + seed.get(0).settings().seed());
    }

    /** What a table compares: the model, the augmentation and MA-Net's blocks and loss. */
    static String configuration(Trainer.Settings s) {
        StringBuilder b = new StringBuilder(s.model() + ", " + s.augmentation().label());
        MaNet.Options m = s.maNet();
        if (m != null) {
            if (m.mab()) b.append(", MAB");
            if (m.fab()) b.append(", FAB");
            b.append(", loss ").append(m.loss().name().toLowerCase(Locale.ROOT).replace('_', '-'));
            MaNet.Options d = MaNet.Options.DEFAULT;   // the switches no table varies, named only when not the paper's
            if (m.reduction() != d.reduction()) b.append(", reduction ").append(m.reduction());
            if (m.mutexRunningStats() != d.mutexRunningStats()) b.append(", batch-norm statistics of both paths");
            if (m.attentionGradient() != d.attentionGradient()) b.append(", attention map differentiated");
        }
        return b.toString();
    }

    /** What every row of one table shares: the training schedule, the optimiser, the image size, the starting weights. */
    static List<Object> common(Trainer.Settings s) { return common(s, s.batchSize()); }

    /** {@link #common} of {@code s} as if it had trained in batches of {@code batchSize}. */
    static List<Object> common(Trainer.Settings s, int batchSize) {
        return List.of(s.epochs(), batchSize, s.lr(), s.momentum(), s.weightDecay(), s.schedule(), s.imageSize(), s.workers(), s.strict(),
            String.valueOf(s.initFrom()));
    }

    private static List<Object> dataOptions(DataOptions d) {
        return List.of(d.data, d.demoImages, d.valFraction, d.testFraction, String.valueOf(d.groupPattern), d.splitSeed);
    }

    private static Trainer.Settings settings(TrainCommand t) { return t.settings(Device.CPU); }

    private static List<Call> tableCalls(Script s) { return s.calls().stream().filter(c -> c.command() instanceof TableCommand).toList(); }

    private static List<String> labels(List<Row> rows) { return rows.stream().map(Row::label).toList(); }
}

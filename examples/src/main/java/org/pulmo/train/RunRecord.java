package org.pulmo.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.io.AtomicFiles;

/**
 * {@code run.json}: what a training run was and how it went, for whoever compares or reproduces it later. Written
 * atomically when training starts, after every epoch and when the run ends, so that it is complete at any moment:
 * <ul>
 *   <li>{@code status}: running, finished, interrupted (Ctrl-C; {@code --resume} continues), diverged or failed, with
 *       the {@code message} that ended a run that did not finish. A process killed outright leaves "running" and the
 *       time of its last {@code updated}; a later {@code --resume} marks that invocation "unrecorded";</li>
 *   <li>the {@code command} as typed, the {@code seed}, every setting the run used (the papers' defaults filled in), the
 *       data (where, how many images per part and per class), the device and the backend that ran it (GPU, cuDNN and
 *       TF32 or strict FP32 on cuda), the host (Java, operating system, cores) and the Pulmo build ({@link BuildInfo});</li>
 *   <li>how it went: epochs done of those planned, the best validation accuracy and its epoch, wall time (all
 *       invocations), training time and images per second (over all epochs, and the last one), the time spent waiting
 *       for images, the most device memory in use in any epoch ({@code device_peak_mib}, null on the CPU), the device
 *       memory held at the end, the process's peak resident memory (Linux) and, after {@code pulmo train}'s
 *       evaluation, the {@code test} metrics. An epoch is counted once its checkpoint is on disk (it is written while
 *       the next epoch trains): a process killed meanwhile leaves a record that names the epoch {@code --resume} goes on
 *       from, while metrics.csv may already hold the next epoch's row, which the resume trains again and replaces;</li>
 *   <li>{@code invocations}: one entry per command that trained this run (the first and each {@code --resume}),
 *       with its epochs, device and backend, build, times and outcome.</li>
 * </ul>
 * Numbers that are unknown are null (JSON has no NaN).
 */
public final class RunRecord {
    public static final String FILE = "run.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();
    private static final double MIB = 1 << 20;

    /**
     * What a run learns from: where the images are, how many each part holds, the training images per class, and how
     * they were split (the split options and a digest of each part's images; see the CLI's split record).
     */
    public record DataSummary(String source, int train, int val, int test, List<String> classes, int[] trainPerClass, Map<String, String> split) {}

    private final Path file;
    private final Backend backend;
    private final JsonObject root, invocation;
    private final long startNanos = System.nanoTime();
    private final double earlierWallSeconds;
    private boolean earlierUnknown;   // resumed without a readable record: the earlier invocations' wall time is not known
    private int firstEpoch = -1;

    private RunRecord(Path file, Backend backend, JsonObject root, JsonObject invocation, double earlierWallSeconds) {
        this.file = file;
        this.backend = backend;
        this.root = root;
        this.invocation = invocation;
        this.earlierWallSeconds = earlierWallSeconds;
    }

    /** The status of an invocation whose process ended without saying how (killed outright, or the machine stopped). */
    static final String UNRECORDED = "unrecorded";

    /**
     * Starts the record of the run in {@code s.out()} and writes it: a new record, or with {@code s.resume()} the run's
     * own record with this invocation added. An earlier record that cannot be read (written by hand, truncated) is
     * set aside as {@code run.json.unreadable} with a line on {@code out}, and a new record starts from this invocation.
     */
    public static RunRecord begin(Trainer.Settings s, String command, DataSummary data, boolean cudaGraphs, PrintStream out) throws IOException {
        Path file = s.out().resolve(FILE);
        Backend backend = Backends.of(s.device());
        JsonObject root = null;
        if (s.resume() && Files.exists(file)) {
            try {
                root = parse(file);
            } catch (JsonParseException e) {
                Path aside = s.out().resolve(FILE + ".unreadable");
                Files.move(file, aside, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                out.println("Note: " + file + " could not be read (" + oneLine(e.getMessage()) + "); it is kept as " + aside
                    + " and a new record starts with this invocation");
            }
        }
        String now = now();
        double earlier = 0;
        if (root == null) {
            root = new JsonObject();
            root.addProperty("status", "running");
            root.add("message", JsonNull.INSTANCE);
            root.addProperty("command", command);
            root.addProperty("started", now);
            root.addProperty("epochs_done", 0);
            root.addProperty("best_epoch", 0);
            root.add("best_val_acc", JsonNull.INSTANCE);
            root.add("invocations", new JsonArray());
        } else {
            for (JsonElement e : root.getAsJsonArray("invocations")) {
                if (!e.isJsonObject()) continue;
                JsonObject i = e.getAsJsonObject();
                if (!Double.isNaN(number(i, "wall_seconds"))) earlier += number(i, "wall_seconds");
                // still "running" after its process is gone (this one holds the folder's lock): killed, or the machine stopped
                if (i.get("status") instanceof JsonPrimitive p && "running".equals(p.getAsString())) i.addProperty("status", UNRECORDED);
            }
            root.addProperty("status", "running");
            root.add("message", JsonNull.INSTANCE);
            root.addProperty("command", command);   // the latest; each invocation keeps its own below
            root.remove("steps_recorded");           // said again by this invocation, if it records
            root.remove("steps_not_recorded_because");
        }
        root.addProperty("updated", now);
        root.addProperty("epochs_planned", s.epochs());
        root.addProperty("seed", s.seed());
        root.add("settings", settings(s, cudaGraphs));
        root.add("data", data(data));
        JsonObject device = new JsonObject();
        device.addProperty("name", s.device().toString());
        device.addProperty("backend", backend.toString());
        root.add("device", device);
        root.add("host", host());
        BuildInfo build = BuildInfo.current();
        JsonObject pulmo = new JsonObject();
        pulmo.addProperty("version", build.version());
        pulmo.addProperty("commit", build.commit());
        pulmo.addProperty("uncommitted_changes", build.uncommittedChanges());
        root.add("pulmo", pulmo);

        JsonObject inv = new JsonObject();
        inv.addProperty("command", command);
        inv.addProperty("started", now);
        inv.add("ended", JsonNull.INSTANCE);
        inv.addProperty("wall_seconds", 0.0);
        inv.add("epochs", JsonNull.INSTANCE);
        inv.addProperty("device", s.device().toString());
        // each invocation's own: a resume on another machine (threads, vector width, GPU, cuDNN, TF32) replaces the
        // record's device and host, and the numbers of the epochs it trained are that backend's
        inv.addProperty("backend", backend.toString());
        inv.addProperty("pulmo_commit", build.commit());
        inv.addProperty("status", "running");
        root.getAsJsonArray("invocations").add(inv);
        RunRecord r = new RunRecord(file, backend, root, inv, earlier);
        if (s.resume() && root.getAsJsonArray("invocations").size() == 1) {   // resumed, yet this is the record's first invocation
            r.earlierUnknown = true;
            root.addProperty("wall_seconds_complete", false);
        }
        r.write();
        return r;
    }

    /** After an epoch: its figures, the best validation accuracy so far and the memory, from the run's whole history. */
    public synchronized void epoch(History history, int bestEpoch, double bestValAcc) throws IOException {
        List<History.Row> rows = history.rows();
        double seconds = 0, images = 0, wait = 0, peak = Double.NaN;
        int firstHere = -1;
        for (History.Row r : rows) {
            seconds += r.seconds();
            images += r.imagesPerSecond() * r.seconds();
            if (!Double.isNaN(r.dataWaitSeconds())) wait += r.dataWaitSeconds();
            if (!Double.isNaN(r.devicePeakMib())) peak = Double.isNaN(peak) ? r.devicePeakMib() : Math.max(peak, r.devicePeakMib());
        }
        History.Row last = rows.isEmpty() ? null : rows.getLast();
        root.addProperty("epochs_done", last == null ? 0 : last.epoch());
        root.addProperty("best_epoch", bestEpoch);
        root.add("best_val_acc", num(bestEpoch > 0 ? bestValAcc : Double.NaN));
        root.add("training_seconds", num(round(seconds, 2)));
        root.add("images_per_s", num(seconds > 0 ? round(images / seconds, 2) : Double.NaN));
        root.add("images_per_s_last_epoch", num(last == null ? Double.NaN : round(last.imagesPerSecond(), 2)));
        root.add("data_wait_seconds", num(round(wait, 2)));
        root.add("device_peak_mib", num(round(peak, 1)));
        if (last != null) {
            if (firstEpoch < 0) firstEpoch = last.epoch();   // the first epoch this invocation trained
            JsonArray epochs = new JsonArray();
            epochs.add(firstEpoch);
            epochs.add(last.epoch());
            invocation.add("epochs", epochs);
        }
        write();
    }

    /**
     * With {@code --cuda-graphs}: whether the training steps are recorded as a CUDA graph and replayed, and if not why
     * ({@code steps_recorded}, {@code steps_not_recorded_because}), so that a speed figure says what ran. Written with
     * the next epoch's figures.
     */
    public synchronized void stepsRecorded(boolean recorded, String whyNot) {
        root.addProperty("steps_recorded", recorded);
        root.add("steps_not_recorded_because", recorded || whyNot == null ? JsonNull.INSTANCE : new JsonPrimitive(oneLine(whyNot)));
    }

    /** The test metrics no longer describe the best checkpoint (a resumed run replaced it): dropped until evaluated again. */
    public synchronized void testRemoved() throws IOException {
        if (root.remove("test") != null) write();
    }

    /** The test metrics of the best checkpoint ({@code ClassificationReport.values()}), once evaluated. */
    public synchronized void test(Map<String, Double> values) throws IOException {
        JsonObject t = new JsonObject();
        for (var e : values.entrySet()) t.add(e.getKey(), num(e.getValue()));
        root.add("test", t);
        write();
    }

    /**
     * The run's outcome: finished, interrupted, diverged or failed, with the message that ended it (null when finished).
     * Synchronized, as the record's other writers: a second Ctrl-C ends the run from the signal's thread.
     */
    public synchronized void end(String status, String message) throws IOException {
        root.addProperty("status", status);
        root.add("message", message == null ? JsonNull.INSTANCE : new JsonPrimitive(oneLine(message)));
        invocation.addProperty("ended", now());
        invocation.addProperty("status", status);
        write();
    }

    /**
     * "0:03:25 (training 0:03:02 at 20.1 images/s, device peak 12.30 GiB)": the run's wall time over all its invocations,
     * for the line that ends training; the device peak only where the device keeps an account.
     */
    public String summary() {
        double wall = earlierWallSeconds + (System.nanoTime() - startNanos) / 1e9;
        StringBuilder sb = new StringBuilder(earlierUnknown ? "at least " + clock(wall) + ", the earlier invocations' time unknown" : clock(wall))
            .append(" (training ").append(clock(number("training_seconds")));
        if (!Double.isNaN(number("images_per_s"))) sb.append(String.format(Locale.ROOT, " at %.1f images/s", number("images_per_s")));
        if (!Double.isNaN(number("device_peak_mib"))) sb.append(String.format(Locale.ROOT, ", device peak %.2f GiB", number("device_peak_mib") / 1024));
        return sb.append(')').toString();
    }

    private double number(String key) { return number(root, key); }

    /**
     * A number of a record's object (every one a record holds is a time, a rate or a size), NaN where it is absent, null,
     * not a number, negative or infinite (a damaged or edited record: shown as unknown, not as "0:00:-5").
     */
    private static double number(JsonObject o, String key) {
        double v = o.get(key) instanceof JsonPrimitive p && p.isNumber() ? p.getAsDouble() : Double.NaN;
        return v >= 0 && Double.isFinite(v) ? v : Double.NaN;
    }

    /** A text of a record's object, "n/a" where it is absent or null, "?" where it is not a single value (a damaged record). */
    private static String text(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? "n/a" : e instanceof JsonPrimitive p ? p.getAsString() : "?";
    }

    /** A run record as its file holds it; a JsonParseException where the file is not one (no list of invocations). */
    private static JsonObject parse(Path file) throws IOException {
        // Java's error for a folder is "Is a directory", without its path
        if (Files.isDirectory(file)) throw new java.nio.file.FileSystemException(file.toString(), null, "a folder, not a run record");
        try {
            JsonElement e = StrictJson.parse(Files.readString(file, StandardCharsets.UTF_8));
            if (e.isJsonObject() && e.getAsJsonObject().get("invocations") instanceof JsonArray) return e.getAsJsonObject();
        } catch (IllegalStateException e) {
            throw new JsonParseException(e.getMessage(), e);
        } catch (java.nio.charset.CharacterCodingException e) {   // Java's message is "Input length = 4", naming nothing
            throw new JsonParseException(History.NOT_TEXT, e);
        }
        throw new JsonParseException("not a run record (no list of invocations)");
    }

    /**
     * What {@code pulmo table} shows of a run, read back from its record; figures the record lacks are NaN, texts "n/a".
     */
    public record Reading(String status, String epochsDone, String epochsPlanned, String bestEpoch, String seed, double wallSeconds,
                          double imagesPerS, double devicePeakMib, String backend, String commit, boolean uncommittedChanges) {
        /** Reads {@code file}; one that is not a run record is an IllegalArgumentException naming it. */
        public static Reading of(Path file) throws IOException {
            JsonObject j;
            try {
                j = parse(file);
            } catch (JsonParseException e) {
                throw new IllegalArgumentException(file + " is not a run record: " + oneLine(e.getMessage()));
            }
            JsonObject device = j.get("device") instanceof JsonObject d ? d : new JsonObject();
            JsonObject pulmo = j.get("pulmo") instanceof JsonObject p ? p : new JsonObject();
            return new Reading(text(j, "status"), text(j, "epochs_done"), text(j, "epochs_planned"), text(j, "best_epoch"), text(j, "seed"),
                number(j, "wall_seconds"), number(j, "images_per_s"), number(j, "device_peak_mib"), text(device, "backend"),
                text(pulmo, "commit"), pulmo.get("uncommitted_changes") instanceof JsonPrimitive u && u.isBoolean() && u.getAsBoolean());
        }
    }

    /** h:mm:ss of a number of seconds ("?" when unknown). */
    public static String clock(double seconds) {
        if (Double.isNaN(seconds)) return "?";
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    /** Rewrites the file with the times and memory of this moment. */
    private void write() throws IOException {
        double wall = (System.nanoTime() - startNanos) / 1e9;
        invocation.addProperty("wall_seconds", round(wall, 1));
        root.addProperty("wall_seconds", round(earlierWallSeconds + wall, 1));
        root.addProperty("updated", now());
        Backend.MemoryUse m = backend.memoryUse();
        root.add("device_held_mib", num(m == null ? Double.NaN : round(m.heldBytes() / MIB, 1)));
        long rss = peakResidentBytes();
        double before = Double.isNaN(number("host_peak_rss_mib")) ? 0 : number("host_peak_rss_mib");
        root.add("host_peak_rss_mib", num(rss < 0 ? (before > 0 ? before : Double.NaN) : round(Math.max(before, rss / MIB), 1)));
        AtomicFiles.write(file, (GSON.toJson(order(root)) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** The top-level keys in reading order: outcome first, then what the run was, then the invocations. */
    private static final List<String> ORDER = List.of("status", "message", "command", "started", "updated", "epochs_done", "epochs_planned",
        "best_epoch", "best_val_acc", "wall_seconds", "training_seconds", "images_per_s", "images_per_s_last_epoch", "data_wait_seconds",
        "device_peak_mib", "device_held_mib", "host_peak_rss_mib", "steps_recorded", "steps_not_recorded_because", "test", "seed", "settings", "data", "device", "host", "pulmo", "invocations");

    private static JsonObject order(JsonObject o) {
        JsonObject out = new JsonObject();
        for (String k : ORDER) if (o.has(k)) out.add(k, o.get(k));
        for (var e : o.entrySet()) if (!out.has(e.getKey())) out.add(e.getKey(), e.getValue());
        return out;
    }

    private static JsonObject settings(Trainer.Settings s, boolean cudaGraphs) {
        JsonObject o = new JsonObject();
        o.addProperty("model", s.model());
        o.addProperty("epochs", s.epochs());
        o.addProperty("batch_size", s.batchSize());
        o.addProperty("lr", s.lr());
        o.addProperty("momentum", s.momentum());
        o.addProperty("weight_decay", s.weightDecay());
        o.addProperty("schedule", s.schedule());
        o.addProperty("image_size", s.imageSize());
        o.addProperty("augmentation", s.augmentation().label());
        o.addProperty("seed", s.seed());
        o.addProperty("workers", s.workers() > 0 ? s.workers() : org.pulmo.data.DataLoader.Options.defaultWorkers());   // 0: the default, recorded as the number it gave
        o.addProperty("strict", s.strict());
        o.addProperty("cuda_graphs", cudaGraphs);
        o.add("init_from", s.initFrom() == null ? JsonNull.INSTANCE : new JsonPrimitive(s.initFrom()));
        if (s.maNet() != null) {
            JsonObject m = new JsonObject();
            m.addProperty("mab", s.maNet().mab());
            m.addProperty("fab", s.maNet().fab());
            m.addProperty("loss", s.maNet().loss().name().toLowerCase(Locale.ROOT).replace('_', '-'));
            m.addProperty("bn_stats", s.maNet().mutexRunningStats() ? "both" : "main");
            m.addProperty("attention_grad", s.maNet().attentionGradient() ? "through" : "constant");
            o.add("manet", m);
        }
        return o;
    }

    private static JsonObject data(DataSummary d) {
        JsonObject o = new JsonObject();
        o.addProperty("source", d.source());
        o.addProperty("train", d.train());
        o.addProperty("val", d.val());
        o.addProperty("test", d.test());
        JsonObject perClass = new JsonObject();
        for (int k = 0; k < d.classes().size(); k++) perClass.addProperty(d.classes().get(k), k < d.trainPerClass().length ? d.trainPerClass()[k] : 0);
        o.add("train_per_class", perClass);
        JsonObject split = new JsonObject();
        for (var e : d.split().entrySet()) if (!e.getKey().equals("data")) split.addProperty(e.getKey(), e.getValue());
        o.add("split", split);
        return o;
    }

    private static JsonObject host() {
        JsonObject o = new JsonObject();
        o.addProperty("java", System.getProperty("java.vm.vendor", "?") + " " + Runtime.version());
        o.addProperty("os", System.getProperty("os.name", "?") + " " + System.getProperty("os.version", "") + " " + System.getProperty("os.arch", ""));
        o.addProperty("cores", Runtime.getRuntime().availableProcessors());
        o.addProperty("max_heap_mib", round(Runtime.getRuntime().maxMemory() / MIB, 0));
        return o;
    }

    /** The process's peak resident set (VmHWM of /proc/self/status), or -1 where there is none (not Linux). */
    static long peakResidentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
        } catch (IOException | RuntimeException e) {
            // not Linux, or a format we do not know: unknown
        }
        return -1;
    }

    private static JsonElement num(double v) { return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE; }

    private static double round(double v, int digits) {
        if (!Double.isFinite(v)) return v;
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    private static String now() { return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(); }

    private static String oneLine(String s) { return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").strip(); }

    /** The command line as a shell would take it back: words with spaces or quotes single-quoted. */
    public static String commandLine(String program, List<String> args) {
        StringBuilder sb = new StringBuilder(program);
        for (String a : args) {
            sb.append(' ');
            if (!a.isEmpty() && a.matches("[A-Za-z0-9_@%+=:,./-]+")) sb.append(a);
            else sb.append('\'').append(a.replace("'", "'\\''")).append('\'');
        }
        return sb.toString();
    }
}

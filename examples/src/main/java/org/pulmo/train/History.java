package org.pulmo.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.pulmo.io.AtomicFiles;

/**
 * One metrics row per finished epoch, written as {@code metrics.csv} and {@code metrics.json} after every epoch.
 * The first ten columns are the same for every model; {@code data_wait_s} is how long the training loop waited for
 * the data loader in the epoch (decoding and augmenting images on the CPU): near {@code seconds}, the data is what
 * limits the run, not the model; {@code device_peak_mib}, the most device memory in use during the epoch (training
 * and validation; empty on the CPU, which keeps no account). An MA-Net run adds four more at the end: the epoch's training means of L_CE
 * (eq. 12-13), L_CS (eq. 14) and the adaptive weights a1, a2 (eq. 15), {@code train_l_ce,train_l_cs,train_a1,train_a2}.
 * For MA-Net {@code train_loss} is the total a1 L_CE + a2 L_CS that was minimised. {@link #read} takes the columns
 * by name, so files written before a column existed still resume.
 */
public final class History {

    /** MA-Net's loss parts, training means over one epoch (null for other models). */
    public record MaNetLosses(double ce, double cs, double a1, double a2) {}

    /**
     * One epoch; {@code dataWaitSeconds} and {@code devicePeakMib} NaN where unknown (a file written before the column
     * existed; device memory on the CPU).
     */
    public record Row(int epoch, double lr, double trainLoss, double trainAcc, double valLoss, double valAcc,
                      double imagesPerSecond, double seconds, double dataWaitSeconds, double devicePeakMib, MaNetLosses maNet) {
        public Row(int epoch, double lr, double trainLoss, double trainAcc, double valLoss, double valAcc, double imagesPerSecond, double seconds) {
            this(epoch, lr, trainLoss, trainAcc, valLoss, valAcc, imagesPerSecond, seconds, Double.NaN, Double.NaN, null);
        }
    }

    static final String HEADER = "epoch,lr,train_loss,train_acc,val_loss,val_acc,images_per_s,seconds,data_wait_s,device_peak_mib";
    static final String MANET_HEADER = ",train_l_ce,train_l_cs,train_a1,train_a2";

    private final List<Row> rows = new ArrayList<>();

    public List<Row> rows() { return List.copyOf(rows); }

    /** Why a file of the run could not be read when its bytes are not UTF-8 text. */
    static final String NOT_TEXT = "not UTF-8 text (a damaged file?)";

    /**
     * A metrics file that cannot be read as Pulmo writes it (damaged, edited, or another file): named, with the reason
     * ({@link #NOT_TEXT} for bytes that are not UTF-8 text, else the line and column at fault).
     */
    public static final class DamagedException extends java.nio.file.FileSystemException {
        DamagedException(Path file) { this(file, NOT_TEXT); }

        /** A file of the run that is text but not what Pulmo wrote there ({@code reason} says how). */
        DamagedException(Path file, String reason) { super(file.toString(), null, reason); }
    }

    public void add(Row r) { rows.add(r); }

    /** A history of the same rows that later {@link #add}s to this one leave as it is. */
    public History copy() {
        History h = new History();
        h.rows.addAll(rows);
        return h;
    }

    /** Takes back the last row added (an epoch whose weights turned out broken, so no checkpoint holds it). */
    void removeLast() { rows.removeLast(); }

    /** Rows of an earlier run's CSV up to epoch {@code upTo} (for --resume); an absent file gives none. */
    public static History read(Path csv, int upTo) throws IOException {
        History h = new History();
        if (!Files.exists(csv)) return h;
        if (Files.isDirectory(csv)) throw new DamagedException(csv, "a folder, not a file");
        List<String> lines;
        try {
            lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {   // Java's message is "Input length = 1", naming nothing
            throw new DamagedException(csv);
        }
        if (lines.isEmpty()) return h;
        try {
            return read(csv, lines, upTo);
        } catch (java.io.UncheckedIOException e) {   // a cell that is not a number (see number())
            throw e.getCause();
        }
    }

    private static History read(Path csv, List<String> lines, int upTo) throws DamagedException {
        History h = new History();
        // columns by name: a file with its columns in another order, or another file, is not read by position
        List<String> names = List.of(lines.get(0).split(",", -1));
        for (String required : HEADER.split(","))
            if (!names.contains(required) && !required.equals("data_wait_s") && !required.equals("device_peak_mib"))
                throw new DamagedException(csv, "not a Pulmo metrics file (its header has no column '" + required + "')");
        List<String> maNet = List.of(MANET_HEADER.substring(1).split(","));
        long maNetColumns = maNet.stream().filter(names::contains).count();
        if (maNetColumns != 0 && maNetColumns != maNet.size())
            throw new DamagedException(csv, "has " + maNetColumns + " of MA-Net's " + maNet.size() + " columns " + maNet);
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            String[] f = lines.get(i).split(",", -1);
            int line = i + 1;
            if (f.length != names.size())
                throw new DamagedException(csv, "line " + line + " has " + f.length + " fields, its header " + names.size());
            java.util.function.ToDoubleFunction<String> col = name -> {
                int k = names.indexOf(name);
                return k < 0 ? Double.NaN : number(csv, line, name, f[k]);
            };
            double epoch = col.applyAsDouble("epoch");
            if (!(epoch >= 1 && epoch == Math.rint(epoch) && epoch <= Integer.MAX_VALUE))
                throw new DamagedException(csv, "line " + line + ": epoch '" + f[names.indexOf("epoch")] + "' is not an epoch number (1, 2, ...)");
            MaNetLosses m = maNetColumns > 0 && !Double.isNaN(col.applyAsDouble("train_l_ce"))
                ? new MaNetLosses(col.applyAsDouble("train_l_ce"), col.applyAsDouble("train_l_cs"), col.applyAsDouble("train_a1"), col.applyAsDouble("train_a2"))
                : null;
            Row r = new Row((int) epoch, col.applyAsDouble("lr"), col.applyAsDouble("train_loss"), col.applyAsDouble("train_acc"),
                col.applyAsDouble("val_loss"), col.applyAsDouble("val_acc"), col.applyAsDouble("images_per_s"), col.applyAsDouble("seconds"),
                col.applyAsDouble("data_wait_s"), col.applyAsDouble("device_peak_mib"), m);
            if (!h.rows.isEmpty() && r.epoch <= h.rows.getLast().epoch)   // gaps happen (rows lost before a resume), repeats do not
                throw new DamagedException(csv, "line " + line + ": epoch " + r.epoch + " follows epoch " + h.rows.getLast().epoch);
            if (r.epoch <= upTo) h.add(r);
        }
        return h;
    }

    /** A cell as a number (empty: unknown, NaN), or an error naming the file, line and column. */
    private static double number(Path csv, int line, String column, String cell) {
        if (cell.isEmpty()) return Double.NaN;
        try {
            return Double.parseDouble(cell);
        } catch (NumberFormatException e) {
            throw new java.io.UncheckedIOException(new DamagedException(csv, "line " + line + ", column " + column + ": '" + cell + "' is not a number"));
        }
    }

    public void write(Path dir) throws IOException {
        boolean maNet = rows.stream().anyMatch(r -> r.maNet != null);
        StringBuilder csv = new StringBuilder(HEADER).append(maNet ? MANET_HEADER : "").append('\n');
        StringBuilder json = new StringBuilder("[\n");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            MaNetLosses m = r.maNet;
            csv.append(String.format(Locale.ROOT, "%d,%s,%s,%s,%s,%s,%.2f,%.2f,%s,%s", r.epoch, g(r.lr), g(r.trainLoss), g(r.trainAcc),
                g(r.valLoss), g(r.valAcc), r.imagesPerSecond, r.seconds, f2(r.dataWaitSeconds, ""), f2(r.devicePeakMib, "")));
            if (maNet) csv.append(m == null ? ",,,," : "," + g(m.ce) + "," + g(m.cs) + "," + g(m.a1) + "," + g(m.a2));
            csv.append('\n');
            json.append(String.format(Locale.ROOT,
                "  {\"epoch\": %d, \"lr\": %s, \"train_loss\": %s, \"train_acc\": %s, \"val_loss\": %s, \"val_acc\": %s, \"images_per_s\": %.2f, \"seconds\": %.2f, \"data_wait_s\": %s, \"device_peak_mib\": %s",
                r.epoch, j(r.lr), j(r.trainLoss), j(r.trainAcc), j(r.valLoss), j(r.valAcc), r.imagesPerSecond, r.seconds,
                f2(r.dataWaitSeconds, "null"), f2(r.devicePeakMib, "null")));
            if (m != null) json.append(String.format(Locale.ROOT, ", \"train_l_ce\": %s, \"train_l_cs\": %s, \"train_a1\": %s, \"train_a2\": %s",
                j(m.ce), j(m.cs), j(m.a1), j(m.a2)));
            json.append('}').append(i + 1 < rows.size() ? "," : "").append('\n');
        }
        json.append("]\n");
        // atomically: a kill or a full disk mid-write must not leave the earlier epochs' rows truncated away
        AtomicFiles.writeString(dir.resolve("metrics.csv"), csv);
        AtomicFiles.writeString(dir.resolve("metrics.json"), json);
    }

    /** Two decimals, or {@code unknown} for NaN. */
    private static String f2(double v, String unknown) { return Double.isNaN(v) ? unknown : String.format(Locale.ROOT, "%.2f", v); }

    private static String g(double v) { return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v); }

    private static String j(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null"; }
}

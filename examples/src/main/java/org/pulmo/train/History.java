package org.pulmo.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** One metrics row per finished epoch, written as {@code metrics.csv} and {@code metrics.json} after every epoch. */
public final class History {

    public record Row(int epoch, double lr, double trainLoss, double trainAcc, double valLoss, double valAcc,
                      double imagesPerSecond, double seconds) {}

    static final String HEADER = "epoch,lr,train_loss,train_acc,val_loss,val_acc,images_per_s,seconds";

    private final List<Row> rows = new ArrayList<>();

    public List<Row> rows() { return List.copyOf(rows); }

    public void add(Row r) { rows.add(r); }

    /** Rows of an earlier run's CSV up to epoch {@code upTo} (for --resume); an absent file gives none. */
    public static History read(Path csv, int upTo) throws IOException {
        History h = new History();
        if (!Files.exists(csv)) return h;
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split(",");
            if (f.length < 8) continue;
            Row r = new Row(Integer.parseInt(f[0]), d(f[1]), d(f[2]), d(f[3]), d(f[4]), d(f[5]), d(f[6]), d(f[7]));
            if (r.epoch <= upTo) h.add(r);
        }
        return h;
    }

    private static double d(String s) { return s.isEmpty() ? Double.NaN : Double.parseDouble(s); }

    public void write(Path dir) throws IOException {
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        StringBuilder json = new StringBuilder("[\n");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            csv.append(String.format(Locale.ROOT, "%d,%s,%s,%s,%s,%s,%.2f,%.2f%n", r.epoch, g(r.lr), g(r.trainLoss), g(r.trainAcc),
                g(r.valLoss), g(r.valAcc), r.imagesPerSecond, r.seconds));
            json.append(String.format(Locale.ROOT,
                "  {\"epoch\": %d, \"lr\": %s, \"train_loss\": %s, \"train_acc\": %s, \"val_loss\": %s, \"val_acc\": %s, \"images_per_s\": %.2f, \"seconds\": %.2f}%s%n",
                r.epoch, j(r.lr), j(r.trainLoss), j(r.trainAcc), j(r.valLoss), j(r.valAcc), r.imagesPerSecond, r.seconds, i + 1 < rows.size() ? "," : ""));
        }
        json.append("]\n");
        Files.writeString(dir.resolve("metrics.csv"), csv, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("metrics.json"), json, StandardCharsets.UTF_8);
    }

    private static String g(double v) { return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v); }

    private static String j(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null"; }
}

package org.pulmo.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar for one epoch: {@code epoch 3/10 [=========>     ] 12/20  loss 0.6931  acc 51.2%  38.5 img/s  ETA 0:04}.
 * On a terminal it redraws one line, kept narrower than the terminal (the {@code COLUMNS} variable, else 80
 * columns: a line that wraps cannot be redrawn with a carriage return and would print a new line per batch); otherwise
 * (a log file, a test) it prints the finished line, and before it, indented, the line so far once a minute
 * ({@code -Dpulmo.progress.logSeconds}), so that a log of an epoch that takes hours on a CPU shows it going on.
 */
public final class Progress {
    private final PrintStream out;
    private final boolean live;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private final long logEveryNs;
    private long lastDraw = start;
    private int done;
    private long images;
    private double lossSum;
    private long correct;

    public Progress(PrintStream out, boolean live, String label, int totalBatches) {
        this(out, live, label, totalBatches, Math.max(1, Long.getLong("pulmo.progress.logSeconds", 60)) * 1_000_000_000L);
    }

    Progress(PrintStream out, boolean live, String label, int totalBatches, long logEveryNs) {
        this.out = out;
        this.live = live;
        this.label = label;
        this.total = Math.max(totalBatches, 1);
        this.logEveryNs = logEveryNs;
    }

    public void step(int batchImages, double batchLoss, int batchCorrect) {
        done++;
        images += batchImages;
        lossSum += batchLoss * batchImages;
        correct += batchCorrect;
        long now = System.nanoTime();
        if (live && (now - lastDraw > 200_000_000L || done == total)) {
            lastDraw = now;
            out.print("\r" + liveLine(COLUMNS));
            out.flush();
        } else if (!live && now - lastDraw >= logEveryNs && done < total) {   // a log: the line so far, indented
            lastDraw = now;
            out.println("  " + line());
            out.flush();
        }
    }

    public double loss() { return images == 0 ? Double.NaN : lossSum / images; }

    public double accuracy() { return images == 0 ? Double.NaN : correct / (double) images; }

    public long images() { return images; }

    public double seconds() { return (System.nanoTime() - start) / 1e9; }

    public double imagesPerSecond() { return images / Math.max(seconds(), 1e-9); }

    /** Ends the bar's line, adding {@code suffix} (validation results). */
    public void finish(String suffix) {
        out.print((live ? "\r" : "") + line() + suffix + System.lineSeparator());
        out.flush();
    }

    /** The terminal's width from {@code COLUMNS} (exported by most shells for their children only when asked), else 80. */
    static final int COLUMNS = columns(System.getenv("COLUMNS"));

    static int columns(String env) {
        try {
            int n = Integer.parseInt(env == null ? "" : env.trim());
            if (n >= 20) return n;
        } catch (NumberFormatException e) { /* not set or not a number */ }
        return 80;
    }

    String line() { return line(20); }

    /** The bar for a terminal of {@code columns}: the bar shrinks (down to 5) and the line is cut to columns - 1. */
    String liveLine(int columns) {
        int rest = line(0).length();
        String l = line(Math.max(5, Math.min(20, columns - 1 - rest)));
        return l.length() < columns ? l : l.substring(0, columns - 1);
    }

    private String line(int width) {
        int filled = (int) Math.round(width * done / (double) total);
        String bar = "=".repeat(Math.max(filled - 1, 0)) + (filled > 0 ? (done == total ? "=" : ">") : "") + " ".repeat(width - filled);
        double secs = seconds();
        long eta = done == 0 ? 0 : Math.round(secs / done * (total - done));
        return String.format(Locale.ROOT, "%s [%s] %d/%d  loss %.4f  acc %5.1f%%  %.1f img/s  %s %d:%02d", label, bar, done, total,
            loss(), 100 * accuracy(), imagesPerSecond(), done == total ? "took" : "ETA", done == total ? Math.round(secs) / 60 : eta / 60,
            done == total ? Math.round(secs) % 60 : eta % 60);
    }
}

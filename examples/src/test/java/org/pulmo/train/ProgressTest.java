package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

/** The live bar never wraps: a wrapped line cannot be redrawn with a carriage return. */
class ProgressTest {

    static Progress midway(String label, int total) {
        Progress p = new Progress(new PrintStream(new ByteArrayOutputStream()), false, label, total);
        for (int i = 0; i < total / 2; i++) p.step(16, 0.693, 9);
        return p;
    }

    @Test void theLiveLineFitsTheTerminal() {
        Progress p = midway("epoch 100/120", 1234);
        for (int cols : new int[] {80, 60, 40, 200}) {
            String l = p.liveLine(cols);
            assertTrue(l.length() < cols, cols + " columns: " + l.length() + " characters: " + l);
        }
        assertTrue(p.liveLine(200).contains("[" + "=".repeat(9) + ">"), "a wide terminal keeps the 20-character bar: " + p.liveLine(200));
        assertTrue(p.line().length() >= 80, "the finished line for logs keeps its full bar: " + p.line());
    }

    /**
     * Into a log (not a terminal) an epoch prints, indented, the line so far at a step once the interval has passed since
     * the last line (every step here, at an interval of 1 ns; never at one of an hour), never at the epoch's last step,
     * and never a carriage return; the finished line stays the one unindented line of the epoch.
     */
    @Test void aLogGetsTheLineSoFarOnceAnIntervalHasPassed() {
        for (long interval : new long[] {1L, 3_600_000_000_000L}) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Progress p = new Progress(new PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8), false, "epoch 1/2", 4, interval);
            for (int b = 0; b < 4; b++) p.step(8, 0.7 - 0.1 * b, 4 + b);
            p.finish("  | val acc 50.0%");
            String text = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
            String[] lines = text.split("\n");
            int interim = interval == 1L ? 3 : 0;
            assertEquals(interim + 1, lines.length, text);
            for (int i = 0; i < interim; i++)
                assertTrue(lines[i].startsWith("  epoch 1/2 [") && lines[i].contains(" " + (i + 1) + "/4 "), lines[i]);
            String last = lines[interim];
            assertTrue(last.startsWith("epoch 1/2 [") && last.contains(" 4/4 ") && last.endsWith("val acc 50.0%"), last);
            assertTrue(!text.contains("\r"), text);
        }
    }

    @Test void columnsComeFromTheEnvironmentOrDefaultTo80() {
        assertEquals(132, Progress.columns("132"));
        assertEquals(80, Progress.columns(null));
        assertEquals(80, Progress.columns("wide"));
        assertEquals(80, Progress.columns("5"));
    }
}

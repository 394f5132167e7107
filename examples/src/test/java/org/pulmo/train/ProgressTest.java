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
     * Into a log (not a terminal) an epoch prints, indented, the line so far whenever the interval has passed, and
     * never a carriage return; the finished line stays the one unindented line of the epoch.
     */
    @Test void aLogGetsTheLineSoFarOnceAnIntervalHasPassed() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8), false, "epoch 1/2", 4, 50_000_000L);
        p.step(8, 0.7, 4);                       // at once: nothing yet
        Thread.sleep(80);
        p.step(8, 0.6, 5);                       // past the interval: the line so far
        p.step(8, 0.5, 6);                       // right after it: nothing
        Thread.sleep(80);
        p.step(8, 0.4, 7);                       // the last batch: only the finished line
        p.finish("  | val acc 50.0%");
        String[] lines = bytes.toString(java.nio.charset.StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length, String.join("\n", lines));
        assertTrue(lines[0].startsWith("  epoch 1/2 [") && lines[0].contains(" 2/4 "), lines[0]);
        assertTrue(lines[1].startsWith("epoch 1/2 [") && lines[1].contains(" 4/4 ") && lines[1].endsWith("val acc 50.0%"), lines[1]);
        assertTrue(!bytes.toString(java.nio.charset.StandardCharsets.UTF_8).contains("\r"));
    }

    @Test void columnsComeFromTheEnvironmentOrDefaultTo80() {
        assertEquals(132, Progress.columns("132"));
        assertEquals(80, Progress.columns(null));
        assertEquals(80, Progress.columns("wide"));
        assertEquals(80, Progress.columns("5"));
    }
}

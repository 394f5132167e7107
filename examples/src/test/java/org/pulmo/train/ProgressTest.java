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

    @Test void columnsComeFromTheEnvironmentOrDefaultTo80() {
        assertEquals(132, Progress.columns("132"));
        assertEquals(80, Progress.columns(null));
        assertEquals(80, Progress.columns("wide"));
        assertEquals(80, Progress.columns("5"));
    }
}

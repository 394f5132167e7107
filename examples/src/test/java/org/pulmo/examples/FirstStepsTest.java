package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The library tour runs, and every number it prints says what its comment claims. */
class FirstStepsTest {

    @Test void theTourPrintsWhatItClaims() {
        PrintStream before = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            FirstSteps.main(new String[0]);
        } finally {
            System.setOut(before);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        Matcher g = Pattern.compile("largest difference from the hand-computed gradient: (\\S+)").matcher(out);
        assertTrue(g.find() && Double.parseDouble(g.group(1)) < 1e-5, out);
        assertTrue(out.contains("2. DPN-92-SE: 39,698,651 parameters, logits of shape [1, 4]"), out);
        Matcher step = Pattern.compile("step \\d: L_CE (\\S+)  L_CS (\\S+)  a1 (\\S+)  a2 (\\S+)  total (\\S+)").matcher(out);
        int steps = 0;
        while (step.find()) {
            steps++;
            double ce = Double.parseDouble(step.group(1)), cs = Double.parseDouble(step.group(2)), a1 = Double.parseDouble(step.group(3)),
                a2 = Double.parseDouble(step.group(4)), total = Double.parseDouble(step.group(5));
            assertEquals(Math.exp(1 / ce) / (Math.exp(1 / ce) + Math.exp(1 / cs)), a1, 2e-3, "eq. 15: " + step.group());
            assertEquals(1 - a1, a2, 1.5e-3, "eq. 16: " + step.group());
            assertEquals(a1 * ce + a2 * cs, total, 2e-3, "the total: " + step.group());
        }
        assertEquals(5, steps, out);
        assertTrue(out.contains("main-path logits without the partner against the pair's: largest difference 0.00e+00"), out);
    }
}

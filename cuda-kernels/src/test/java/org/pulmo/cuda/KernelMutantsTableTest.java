package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.testing.Children;

/**
 * {@link KernelMutants}'s table against the kernels as they are, in the ordinary test run (no compiler needed): a kernel
 * changed where a bug of the table is planted makes that bug stale, and the campaign would no longer test what its table
 * says; this names the bug at once.
 */
class KernelMutantsTableTest {
    @TempDir Path tmp;

    @Test void everyBugsTextStandsInItsKernelExactlyOnce() throws Exception {
        EmulatedGpu emu = new EmulatedGpu(Children.projectRoot(), tmp);
        assertEquals(List.of(), KernelMutants.stale(KernelMutants.BUGS, emu.kernels()),
            "bugs whose text is not in their kernel exactly once (mend the table in KernelMutants)");
        Set<String> names = new HashSet<>();
        for (KernelMutants.Bug b : KernelMutants.BUGS) {
            assertTrue(names.add(b.name()), () -> "two bugs named " + b.name());
            assertNotEquals(b.from(), b.to(), () -> b.name() + " changes nothing");
            assertTrue(b.name().matches("[A-Z]\\d\\d") && !b.what().isBlank(), () -> b.name() + ": a name like E01 and a description");
        }
    }

    /** Planting changes the one file, at the one place, and nothing else; a stale bug is refused, naming it. */
    @Test void plantingReplacesTheTextInACopyAndRefusesAStaleBug() throws Exception {
        EmulatedGpu emu = new EmulatedGpu(Children.projectRoot(), tmp);
        KernelMutants.Bug bug = KernelMutants.named("P12");
        Path copy = emu.plant(bug, tmp.resolve("p12"));
        try (var files = Files.list(emu.kernels())) {
            for (Path f : files.toList()) {
                String original = Files.readString(f), planted = Files.readString(copy.resolve(f.getFileName()));
                if (f.getFileName().toString().equals(bug.file())) assertEquals(original.replace(bug.from(), bug.to()), planted);
                else assertEquals(original, planted, f.getFileName().toString());
            }
        }
        assertNotEquals(Files.readString(emu.kernels().resolve(bug.file())), Files.readString(copy.resolve(bug.file())));
        KernelMutants.Bug stale = new KernelMutants.Bug("X01", "sgd.cu", "nothing", "a text no kernel has", "", null);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> emu.plant(stale, tmp.resolve("x01")));
        assertTrue(e.getMessage().contains("X01") && e.getMessage().contains("sgd.cu"), e.getMessage());
        assertEquals(List.of("X01"), KernelMutants.stale(List.of(stale, bug), emu.kernels()));
        assertThrows(IllegalArgumentException.class, () -> KernelMutants.named("Z99"));
    }
}

package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend computes with vectors no wider than the machine's. The JIT compiles the Vector API to vector
 * instructions only up to the machine's width (-XX:MaxVectorSize); an operation on a wider species still gives the
 * right numbers, but as a Java loop over an array, some hundred times slower: with 512-bit double vectors fixed in
 * batch norm's sums, a training step of DPN-92-SE at 32 x 32 with 256-bit vectors took 1.3-1.4 s instead of 0.45 s,
 * three quarters of it in batch norm. The module's tests also run with -XX:MaxVectorSize=32 (an AVX2 machine) and
 * 16, where this test fails on any wider species.
 */
class VectorWidthTest {

    @Test void everySpeciesOfTheCpuBackendFitsTheMachinesVectors() throws Exception {
        int machine = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        Path dir = Path.of(CpuBackend.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            .resolve(CpuBackend.class.getPackageName().replace('.', '/'));
        List<String> seen = new ArrayList<>(), tooWide = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (!name.endsWith(".class")) continue;
                Class<?> c = Class.forName(CpuBackend.class.getPackageName() + "." + name.substring(0, name.length() - 6));
                for (Field field : c.getDeclaredFields()) {
                    if (!Modifier.isStatic(field.getModifiers()) || !VectorSpecies.class.isAssignableFrom(field.getType())) continue;
                    field.setAccessible(true);
                    VectorSpecies<?> s = (VectorSpecies<?>) field.get(null);
                    String what = c.getSimpleName() + "." + field.getName() + " (" + s + ")";
                    seen.add(what);
                    if (s.vectorBitSize() > machine) tooWide.add(what);
                }
            }
        }
        assertTrue(seen.size() >= 10, "the backend's species were found: " + seen);
        assertTrue(seen.stream().anyMatch(w -> w.startsWith("CpuNorm.")), "batch norm's species were looked at: " + seen);
        assertEquals(List.of(), tooWide, "species wider than this machine's " + machine + "-bit vectors");
    }

    /**
     * No fixed width written inline either (a species taken where it is used escapes the test above on any machine),
     * except as the fallback beside the machine's own on one line (Lanes.D's floor of two lanes).
     */
    @Test void theSourcesNameNoFixedVectorWidth() throws Exception {
        Path src = Path.of("src/main/java").resolve(CpuBackend.class.getPackageName().replace('.', '/'));
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(src), "sources not beside the tests: " + src.toAbsolutePath());
        java.util.regex.Pattern fixed = java.util.regex.Pattern.compile("SPECIES_(64|128|256|512)|S_(64|128|256|512)_BIT");
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.sorted().toList()) {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++)
                    if (fixed.matcher(lines.get(i)).find() && !lines.get(i).contains("SPECIES_PREFERRED"))
                        found.add(f.getFileName() + ":" + (i + 1) + ": " + lines.get(i).strip());
            }
        }
        assertEquals(List.of(), found, "a fixed vector width; take the machine's (SPECIES_PREFERRED) or one derived from it");
    }
}

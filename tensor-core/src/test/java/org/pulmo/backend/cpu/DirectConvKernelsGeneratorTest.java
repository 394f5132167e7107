package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The committed DirectConvKernels.java is exactly what its generator prints. */
class DirectConvKernelsGeneratorTest {
    @Test
    void committedKernelsMatchTheGenerator() throws IOException {
        assertEquals(DirectConvKernelsGenerator.source(), Files.readString(DirectConvKernelsGenerator.FILE),
                "DirectConvKernels.java differs from DirectConvKernelsGenerator's output: rerun the generator (see its Javadoc)");
    }
}

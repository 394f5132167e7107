package org.pulmo.io;

import java.io.IOException;

/**
 * A weights or checkpoint file that cannot be read: truncated, corrupt, not a safetensors file, or one that
 * does not fit the model. The message starts with the file and says what is wrong; nothing was loaded.
 */
public class SafetensorsException extends IOException {
    private final String file;

    public SafetensorsException(String file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public SafetensorsException(String file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    public String file() { return file; }

    /** A checkpoint that was not written because its weights hold NaN or infinity: training diverged. */
    public static final class NonFiniteWeights extends SafetensorsException {
        public NonFiniteWeights(String file, String problem) { super(file, problem); }
    }
}

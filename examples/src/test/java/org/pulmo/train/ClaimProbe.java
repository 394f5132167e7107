package org.pulmo.train;

import java.nio.file.Path;

/**
 * A child process for RunFolderTest: tries to claim the folder given and prints "claimed" or why not; with a second
 * argument "trainer", prints who trains into it ({@link RunFolder#trainer}) or "nobody", then claims it.
 */
public final class ClaimProbe {
    private ClaimProbe() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 1 && args[1].equals("trainer")) System.out.println(RunFolder.trainer(Path.of(args[0])).orElse("nobody"));
        try (AutoCloseable c = RunFolder.claim(Path.of(args[0]), System.out)) {
            System.out.println("claimed");
        } catch (IllegalArgumentException e) {
            System.out.println(e.getMessage());
        }
    }
}

package org.pulmo.train;

import java.nio.file.Path;

/** A child process for RunFolderTest: tries to claim the folder given and prints "claimed" or why not. */
public final class ClaimProbe {
    private ClaimProbe() {}

    public static void main(String[] args) throws Exception {
        try (AutoCloseable c = RunFolder.claim(Path.of(args[0]), System.out)) {
            System.out.println("claimed");
        } catch (IllegalArgumentException e) {
            System.out.println(e.getMessage());
        }
    }
}

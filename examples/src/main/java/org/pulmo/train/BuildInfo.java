package org.pulmo.train;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The Pulmo build this program is: its version and the git commit it was built from, read from the
 * {@code git.properties} the build writes beside the classes (examples' pom.xml). A build outside a git checkout
 * has none: the commit is then "unknown".
 */
public record BuildInfo(String version, String commit, boolean uncommittedChanges) {

    static final String RESOURCE = "/org/pulmo/examples/git.properties";

    /** This program's build. */
    public static BuildInfo current() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            // an unreadable resource inside our own jar: the build is then simply not known
        }
        return new BuildInfo(p.getProperty("git.build.version", "unknown"), p.getProperty("git.commit.id.abbrev", "unknown"),
            Boolean.parseBoolean(p.getProperty("git.dirty", "false")));
    }

    /** "0.1.0-SNAPSHOT, commit d8f57fe" (", with uncommitted changes" when the checkout had them). */
    @Override public String toString() {
        return version + ", commit " + commit + (uncommittedChanges ? " with uncommitted changes" : "");
    }
}

package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.testing.Children;

/**
 * {@code scripts/git-properties.sh}, which writes the commit every run.json records: a linked worktree records its
 * own commit, not the main checkout's; uncommitted work marks the build; outside git the commit is "unknown".
 */
class GitPropertiesTest {

    @Test void aWorktreeRecordsItsOwnCommitAndAChangeMarksTheBuild(@TempDir Path dir) throws Exception {
        String noGit = "no git on PATH (a build from a source archive records the commit as unknown)";
        if (System.getenv("CI") != null) assertTrue(Children.onPath("git"), noGit + ", on a CI machine, which builds from a clone");
        else org.junit.jupiter.api.Assumptions.assumeTrue(Children.onPath("git"), noGit);
        Path main = Files.createDirectories(dir.resolve("main"));
        git(main, "init", "-q");
        Files.writeString(main.resolve("a.txt"), "one\n");
        git(main, "add", "a.txt");
        git(main, "commit", "-q", "-m", "first");
        String first = git(main, "rev-parse", "--short=7", "HEAD");
        Files.writeString(main.resolve("a.txt"), "two\n");
        git(main, "commit", "-q", "-am", "second");
        String second = git(main, "rev-parse", "--short=7", "HEAD");
        Path worktree = dir.resolve("wt");
        git(main, "worktree", "add", "-q", worktree.toString(), first);

        Properties p = write(worktree, dir.resolve("wt.properties"));
        assertEquals(first, p.getProperty("git.commit.id.abbrev"), "the worktree's own commit (main's is " + second + ")");
        assertEquals("false", p.getProperty("git.dirty"));
        assertEquals("1.2.3", p.getProperty("git.build.version"));
        assertEquals(second, write(main, dir.resolve("main.properties")).getProperty("git.commit.id.abbrev"));

        Files.writeString(worktree.resolve("a.txt"), "changed\n");
        assertEquals("true", write(worktree, dir.resolve("changed.properties")).getProperty("git.dirty"), "a tracked change");
        git(worktree, "checkout", "-q", "--", "a.txt");
        Files.writeString(worktree.resolve("new.java"), "class New {}\n");
        assertEquals("true", write(worktree, dir.resolve("untracked.properties")).getProperty("git.dirty"), "a file not yet added");
    }

    @Test void outsideGitTheCommitIsUnknownAndTheBuildGoesOn(@TempDir Path dir) throws Exception {
        Path plain = Files.createDirectories(dir.resolve("plain"));
        Properties p = write(plain, dir.resolve("out/sub/git.properties"));
        assertEquals("unknown", p.getProperty("git.commit.id.abbrev"));
        assertEquals("false", p.getProperty("git.dirty"));
    }

    /** Runs the script on {@code checkout} with version 1.2.3 and reads what it wrote to {@code out}. */
    private static Properties write(Path checkout, Path out) throws Exception {
        Path script = Children.projectRoot().resolve("scripts/git-properties.sh");
        Children.Child c = Children.run(List.of("bash", script.toString(), checkout.toString(), "1.2.3", out.toString()),
            Map.of("GIT_CEILING_DIRECTORIES", checkout.getParent().toString()), 60, checkout.toAbsolutePath().getParent().resolve(out.getFileName() + ".log"), "git-properties");
        assertEquals(0, c.code(), c.tail());
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(out)));
        assertNotNull(p.getProperty("git.commit.id.abbrev"), Files.readString(out));
        return p;
    }

    private static String git(Path in, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("git", "-C", in.toString(), "-c", "user.name=t", "-c", "user.email=t@t",
            "-c", "commit.gpgsign=false"));
        cmd.addAll(List.of(args));
        Children.Child c = Children.run(cmd, Map.of(), 60, in.toAbsolutePath().getParent().resolve("git.log"), "git " + args[0]);
        assertEquals(0, c.code(), c.tail());
        return c.output().trim();
    }
}

package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.Augmentation;
import org.pulmo.tensor.Device;

/** run.json on its own: the figures it derives from the history, its outcome, and what it does with a record it cannot read. */
class RunRecordTest {

    private static Trainer.Settings settings(Path out, boolean resume) {
        return new Trainer.Settings("resnet18", List.of("a", "b"), 3, 8, 0.01f, 0.9f, 1e-4f, "step", 32, Augmentation.parse("none"), 7L,
            out, resume, 1, false, null, Device.CPU, null);
    }

    private static final RunRecord.DataSummary DATA = new RunRecord.DataSummary("/data/x", 20, 4, 6, List.of("a", "b"), new int[] {12, 8},
        java.util.Map.of("split_seed", "7", "data_train", "20 images, sha256 0123456789abcdef"));

    private static JsonObject read(Path dir) throws IOException {
        return JsonParser.parseString(Files.readString(dir.resolve(RunRecord.FILE))).getAsJsonObject();
    }

    @Test void epochFiguresComeFromTheWholeHistory(@TempDir Path dir) throws IOException {
        RunRecord r = RunRecord.begin(settings(dir, false), "pulmo train", DATA, false, System.out);
        JsonObject j = read(dir);
        assertEquals("running", j.get("status").getAsString());
        assertEquals(0, j.get("epochs_done").getAsInt());
        assertEquals(3, j.get("epochs_planned").getAsInt());
        assertEquals(12, j.getAsJsonObject("data").getAsJsonObject("train_per_class").get("a").getAsInt());
        assertEquals("20 images, sha256 0123456789abcdef", j.getAsJsonObject("data").getAsJsonObject("split").get("data_train").getAsString());

        History h = new History();
        h.add(new History.Row(1, 0.01, 1.2, 0.5, 1.1, 0.6, 100, 2, 0.5, 300.0, null));
        r.epoch(h, 1, 0.6);
        assertEquals(1, read(dir).get("epochs_done").getAsInt());
        h.add(new History.Row(2, 0.01, 1.0, 0.6, 1.3, 0.55, 50, 4, Double.NaN, 250.0, null));
        r.epoch(h, 1, 0.6);
        j = read(dir);
        assertEquals(2, j.get("epochs_done").getAsInt());
        assertEquals(6.0, j.get("training_seconds").getAsDouble(), 1e-9);
        assertEquals((100 * 2 + 50 * 4) / 6.0, j.get("images_per_s").getAsDouble(), 0.006, "images over seconds, not a mean of rates");
        assertEquals(50, j.get("images_per_s_last_epoch").getAsDouble(), 1e-9);
        assertEquals(0.5, j.get("data_wait_seconds").getAsDouble(), 1e-9, "an unknown wait adds nothing");
        assertEquals(300.0, j.get("device_peak_mib").getAsDouble(), 1e-9, "the most of any epoch");
        assertEquals(1, j.get("best_epoch").getAsInt());
        assertEquals(0.6, j.get("best_val_acc").getAsDouble(), 1e-9);
        assertEquals("[1,2]", j.getAsJsonArray("invocations").get(0).getAsJsonObject().get("epochs").toString());
        assertEquals(j.getAsJsonObject("device").get("backend").getAsString(),
            j.getAsJsonArray("invocations").get(0).getAsJsonObject().get("backend").getAsString(), "each invocation names its backend");

        r.end("failed", "device cuda:0 ran out of memory\n  at step 3");
        j = read(dir);
        assertEquals("failed", j.get("status").getAsString());
        assertEquals("device cuda:0 ran out of memory at step 3", j.get("message").getAsString(), "one line");
        assertEquals("failed", j.getAsJsonArray("invocations").get(0).getAsJsonObject().get("status").getAsString());
        assertTrue(!j.getAsJsonArray("invocations").get(0).getAsJsonObject().get("ended").isJsonNull());
    }

    @Test void unknownNumbersAreNullNotNaN(@TempDir Path dir) throws IOException {
        RunRecord r = RunRecord.begin(settings(dir, false), "pulmo train", DATA, false, System.out);
        History h = new History();
        h.add(new History.Row(1, 0.01, Double.NaN, 0.5, Double.NaN, Double.NaN, 10, 1, Double.NaN, Double.NaN, null));
        r.epoch(h, 0, -1);
        String text = Files.readString(dir.resolve(RunRecord.FILE));
        assertTrue(!text.contains("NaN") && !text.contains("Infinity"), text);
        JsonObject j = read(dir);
        assertTrue(j.get("device_peak_mib").isJsonNull() && j.get("best_val_acc").isJsonNull(), text);
    }

    /** A record that cannot be read is kept aside, named, and a new one starts: resuming the training never fails on it. */
    @Test void anUnreadableRecordIsSetAsideOnResume(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(RunRecord.FILE), "{\"status\": \"running\", \"invoc");
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        RunRecord.begin(settings(dir, true), "pulmo train --resume", DATA, false, new PrintStream(printed, true, StandardCharsets.UTF_8));
        String note = printed.toString(StandardCharsets.UTF_8);
        assertTrue(note.contains("could not be read") && note.contains("run.json.unreadable"), note);
        assertEquals("{\"status\": \"running\", \"invoc", Files.readString(dir.resolve("run.json.unreadable")));
        assertEquals(1, read(dir).getAsJsonArray("invocations").size());
        // the earlier invocations' time went with the record: the wall time is a lower bound, and says so
        assertTrue(!read(dir).get("wall_seconds_complete").getAsBoolean(), read(dir).toString());
    }

    /** Bytes that are not text (Java's own message, "Input length = 4", names nothing) are unreadable in the same way. */
    @Test void aRecordOfBinaryGarbageIsSetAsideOnResume(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve(RunRecord.FILE), new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, (byte) 0x81});
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        RunRecord.begin(settings(dir, true), "pulmo train --resume", DATA, false, new PrintStream(printed, true, StandardCharsets.UTF_8));
        String note = printed.toString(StandardCharsets.UTF_8);
        assertTrue(note.contains("could not be read (not UTF-8 text") && note.contains("run.json.unreadable"), note);
        assertEquals(1, read(dir).getAsJsonArray("invocations").size());
    }

    /** An invocation whose process was killed outright stays "running"; the next --resume (which holds the folder) says it ended unrecorded. */
    @Test void aKilledInvocationIsMarkedUnrecordedByTheNextResume(@TempDir Path dir) throws IOException {
        RunRecord.begin(settings(dir, false), "pulmo train", DATA, false, System.out);   // killed: never ended
        RunRecord.begin(settings(dir, true), "pulmo train --resume", DATA, false, System.out).end("finished", null);
        var inv = read(dir).getAsJsonArray("invocations");
        assertEquals(RunRecord.UNRECORDED, inv.get(0).getAsJsonObject().get("status").getAsString());
        assertEquals("finished", inv.get(1).getAsJsonObject().get("status").getAsString());
    }

    @Test void aRecordWithAllItsInvocationsHasACompleteWallTime(@TempDir Path dir) throws IOException {
        RunRecord first = RunRecord.begin(settings(dir, false), "pulmo train", DATA, false, System.out);
        assertTrue(!first.summary().startsWith("at least"), first.summary());
        first.end("interrupted", "Ctrl-C");
        RunRecord resumed = RunRecord.begin(settings(dir, true), "pulmo train --resume", DATA, false, System.out);
        assertTrue(!read(dir).has("wall_seconds_complete") && !resumed.summary().startsWith("at least"), resumed.summary());
        Files.delete(dir.resolve(RunRecord.FILE));   // a run resumed from its checkpoint alone
        RunRecord bare = RunRecord.begin(settings(dir, true), "pulmo train --resume", DATA, false, System.out);
        assertTrue(bare.summary().startsWith("at least ") && bare.summary().contains("the earlier invocations' time unknown"), bare.summary());
    }

    @Test void aResumedRecordKeepsItsInvocationsAndAddsItsWallTime(@TempDir Path dir) throws IOException {
        RunRecord.begin(settings(dir, false), "pulmo train", DATA, false, System.out).end("interrupted", "Ctrl-C");
        JsonObject first = read(dir);
        first.getAsJsonArray("invocations").get(0).getAsJsonObject().addProperty("wall_seconds", 1000.0);   // as if it had run long
        Files.writeString(dir.resolve(RunRecord.FILE), first.toString());
        RunRecord.begin(settings(dir, true), "pulmo train --resume", DATA, true, System.out).end("finished", null);
        JsonObject j = read(dir);
        assertEquals("finished", j.get("status").getAsString());
        assertTrue(j.get("message").isJsonNull());
        assertEquals(2, j.getAsJsonArray("invocations").size());
        assertEquals("interrupted", j.getAsJsonArray("invocations").get(0).getAsJsonObject().get("status").getAsString());
        assertTrue(j.get("wall_seconds").getAsDouble() >= 1000 && j.get("wall_seconds").getAsDouble() < 1060, j.toString());
        assertEquals("pulmo train --resume", j.get("command").getAsString());
        assertTrue(j.getAsJsonObject("settings").get("cuda_graphs").getAsBoolean());
    }

    /** pulmo table's reading of a record: the figures written, NaN and "n/a" for what a record lacks, and a clear error. */
    @Test void aRecordReadsBackForTheTable(@TempDir Path dir) throws IOException {
        RunRecord r = RunRecord.begin(settings(dir, false), "pulmo train", DATA, false, System.out);
        History h = new History();
        h.add(new History.Row(1, 0.01, 1.2, 0.5, 1.1, 0.6, 100, 2, 0.5, 300.0, null));
        r.epoch(h, 1, 0.6);
        r.end("finished", null);
        RunRecord.Reading read = RunRecord.Reading.of(dir.resolve(RunRecord.FILE));
        assertEquals("finished", read.status());
        assertEquals("1", read.epochsDone());
        assertEquals("3", read.epochsPlanned());
        assertEquals("1", read.bestEpoch());
        assertEquals("7", read.seed());
        assertEquals(100.0, read.imagesPerS(), 1e-9);
        assertEquals(300.0, read.devicePeakMib(), 1e-9);
        assertEquals(read(dir).getAsJsonObject("device").get("backend").getAsString(), read.backend());
        assertEquals(BuildInfo.current().commit(), read.commit());
        assertTrue(read.wallSeconds() >= 0 && read.wallSeconds() < 60, String.valueOf(read.wallSeconds()));

        Files.writeString(dir.resolve("bare.json"), "{\"invocations\": [], \"device_peak_mib\": null}");
        RunRecord.Reading bare = RunRecord.Reading.of(dir.resolve("bare.json"));
        assertTrue(Double.isNaN(bare.devicePeakMib()) && Double.isNaN(bare.wallSeconds()));
        assertEquals("n/a", bare.backend());
        assertEquals("n/a", bare.seed());
        // fields of the wrong kind (an edited or damaged record) read as unknown: they were an internal error in pulmo table
        Files.writeString(dir.resolve("odd.json"), "{\"invocations\": [], \"seed\": {\"a\": 1}, \"epochs_done\": [], \"status\": [1, 2],"
            + " \"device\": {\"backend\": {}}, \"pulmo\": {\"commit\": [\"x\"]}, \"wall_seconds\": -5, \"images_per_s\": 1e400}");
        RunRecord.Reading odd = RunRecord.Reading.of(dir.resolve("odd.json"));
        assertEquals(java.util.List.of("?", "?", "?", "?", "?"), java.util.List.of(odd.seed(), odd.epochsDone(), odd.status(), odd.backend(), odd.commit()));
        assertTrue(Double.isNaN(odd.wallSeconds()) && Double.isNaN(odd.imagesPerS()), odd.toString());

        for (String text : new String[] {"{\"status\": \"runn", "[1, 2]", "{\"status\": \"finished\"}"}) {
            Files.writeString(dir.resolve("bad.json"), text);
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> RunRecord.Reading.of(dir.resolve("bad.json")));
            assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains("not a run record"), e.getMessage());
        }
    }

    @Test void theCommandLineQuotesWhatAShellWouldSplit() {
        assertEquals("pulmo train --data '/my data' --out 'it'\\''s' --lr 0.01 ''",
            RunRecord.commandLine("pulmo train", List.of("--data", "/my data", "--out", "it's", "--lr", "0.01", "")));
    }
}

package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.Augmentation;
import org.pulmo.tensor.Device;

/** run.json over several invocations of one run: its wall time adds up all of them, and its epoch count is the run's own. */
class RunRecordAcrossInvocationsTest {

    private static Trainer.Settings settings(Path out, boolean resume) {
        return new Trainer.Settings("resnet18", List.of("a", "b"), 5, 8, 0.01f, 0.9f, 1e-4f, "step", 32, Augmentation.parse("none"), 7L,
            out, resume, 1, false, null, Device.CPU, null);
    }

    private static final RunRecord.DataSummary DATA = new RunRecord.DataSummary("/data/x", 20, 4, 6, List.of("a", "b"), new int[] {12, 8}, Map.of());

    private static JsonObject read(Path dir) throws IOException {
        return JsonParser.parseString(Files.readString(dir.resolve(RunRecord.FILE))).getAsJsonObject();
    }

    /** Two earlier invocations of 1000 s and 200 s: the third's record says at least 1200 s, the sum of all, not the last one's. */
    @Test void wallTimeIsTheSumOfEveryInvocation(@TempDir Path dir) throws IOException {
        RunRecord.begin(settings(dir, false), "pulmo train", DATA, false, System.out).end("interrupted", "Ctrl-C");
        RunRecord.begin(settings(dir, true), "pulmo train --resume", DATA, false, System.out).end("interrupted", "Ctrl-C");
        JsonObject j = read(dir);
        j.getAsJsonArray("invocations").get(0).getAsJsonObject().addProperty("wall_seconds", 1000.0);
        j.getAsJsonArray("invocations").get(1).getAsJsonObject().addProperty("wall_seconds", 200.0);
        Files.writeString(dir.resolve(RunRecord.FILE), j.toString());
        RunRecord.begin(settings(dir, true), "pulmo train --resume", DATA, false, System.out).end("finished", null);
        double wall = read(dir).get("wall_seconds").getAsDouble();
        assertTrue(wall >= 1200 && wall < 1260, "1000 + 200 + this invocation's few seconds: " + wall);
    }

    /**
     * A resumed run whose metrics.csv was lost holds rows from the resumed epoch on only: epochs done is the last row's
     * epoch (4 of epochs 3 and 4), not the number of rows it holds (2).
     */
    @Test void epochsDoneIsTheLastEpochNotTheRowCount(@TempDir Path dir) throws IOException {
        RunRecord r = RunRecord.begin(settings(dir, false), "pulmo train", DATA, false, System.out);
        History h = new History();
        h.add(new History.Row(3, 0.01, 1.2, 0.5, 1.1, 0.6, 100, 2, 0.5, Double.NaN, null));
        h.add(new History.Row(4, 0.01, 1.0, 0.6, 1.0, 0.7, 100, 2, 0.5, Double.NaN, null));
        r.epoch(h, 4, 0.7);
        JsonObject j = read(dir);
        assertEquals(4, j.get("epochs_done").getAsInt());
        assertEquals(4, j.get("best_epoch").getAsInt());
    }
}

package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.Augmentation;
import org.pulmo.tensor.Device;

/**
 * An epoch's metrics row is written before its checkpoint, so a process killed between the two leaves metrics.csv one row
 * ahead of last.safetensors. --resume trains that epoch again; its row must then appear once, from the epoch trained again.
 */
class ResumeDropsRowsPastTheCheckpointTest {

    private static Trainer.Result train(Path dir, int epochs, boolean resume) throws IOException {
        Trainer.Settings s = new Trainer.Settings("scripted", List.of("a", "b"), epochs, 4, 0.001f, 0.9f, 0f, "constant", 8,
            Augmentation.NONE, 7, dir, resume, 1, false, null, Device.CPU, null);
        return new Trainer(s, new TrainerBestAndResumeTest.Scripted(), new TrainerBestAndResumeTest.Tiny(new int[] {0, 1, 0, 1, 0, 1, 0, 1}),
            new TrainerBestAndResumeTest.Tiny(new int[] {0, 0, 0, 0}), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false).run();
    }

    @Test void theRowOfAnEpochWithoutItsCheckpointIsReplacedNotRepeated(@TempDir Path dir) throws IOException {
        train(dir, 1, false);
        Path csv = dir.resolve("metrics.csv");
        List<String> lines = new ArrayList<>(Files.readAllLines(csv));
        assertEquals(2, lines.size(), "header and epoch 1");
        lines.add("2" + lines.get(1).substring(lines.get(1).indexOf(',')).replaceFirst(",[^,]*,", ",9.99,"));   // epoch 2's row, its checkpoint never written
        Files.write(csv, lines);

        Trainer.Result r = train(dir, 2, true);
        assertEquals(List.of(1, 2), r.history().rows().stream().map(History.Row::epoch).toList());
        History back = History.read(csv, Integer.MAX_VALUE);   // a repeated epoch would make the file unreadable
        assertEquals(List.of(1, 2), back.rows().stream().map(History.Row::epoch).toList());
        assertEquals(0.001, back.rows().get(1).lr(), 1e-9, "the row of the epoch trained again, not the one left behind");
    }
}

package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.train.History.HEADER;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HistoryTest {

    @Test void rowsSurviveAWriteAndARead(@TempDir Path dir) throws IOException {
        History h = new History();
        h.add(new History.Row(1, 0.01, 1.5, 0.4, 1.4, 0.45, 120.5, 8.25, 3.5, 512.25, new History.MaNetLosses(1.3, 0.4, 0.7, 0.3)));
        h.add(new History.Row(2, 0.005, 1.1, 0.6, 1.0, 0.55, 130, 7.5, 0.75, Double.NaN, new History.MaNetLosses(1.1, 0.2, 0.8, 0.2)));
        h.write(dir);
        History back = History.read(dir.resolve("metrics.csv"), 1);
        assertEquals(1, back.rows().size(), "rows after --resume's epoch are dropped");
        History.Row r = back.rows().getFirst();
        assertEquals(3.5, r.dataWaitSeconds(), 1e-9);
        assertEquals(8.25, r.seconds(), 1e-9);
        assertEquals(512.25, r.devicePeakMib(), 1e-9);
        assertEquals(0.4, r.maNet().cs(), 1e-9);
        assertEquals(0.3, r.maNet().a2(), 1e-9);
        String json = Files.readString(dir.resolve("metrics.json"));
        assertTrue(json.contains("\"data_wait_s\": 3.50") && json.contains("\"data_wait_s\": 0.75"), json);
        assertTrue(json.contains("\"device_peak_mib\": 512.25") && json.contains("\"device_peak_mib\": null"), json);
    }

    /** A run written before data_wait_s existed (MA-Net's parts in columns 9-12) still resumes, its columns read by name. */
    @Test void aFileWithoutTheDataWaitColumnReadsByName(@TempDir Path dir) throws IOException {
        Path csv = dir.resolve("metrics.csv");
        Files.writeString(csv, """
            epoch,lr,train_loss,train_acc,val_loss,val_acc,images_per_s,seconds,train_l_ce,train_l_cs,train_a1,train_a2
            1,0.01,1.5,0.4,1.4,0.45,120.50,8.25,1.3,0.4,0.7,0.3
            """);
        History.Row r = History.read(csv, 5).rows().getFirst();
        assertTrue(Double.isNaN(r.dataWaitSeconds()), "unknown wait: " + r.dataWaitSeconds());
        assertTrue(Double.isNaN(r.devicePeakMib()), "unknown device memory: " + r.devicePeakMib());
        assertEquals(1.3, r.maNet().ce(), 1e-9);
        assertEquals(0.3, r.maNet().a2(), 1e-9);
        Files.writeString(csv, """
            epoch,lr,train_loss,train_acc,val_loss,val_acc,images_per_s,seconds
            1,0.01,1.5,0.4,1.4,0.45,120.50,8.25
            """);
        r = History.read(csv, 5).rows().getFirst();
        assertNull(r.maNet());
        assertEquals(120.5, r.imagesPerSecond(), 1e-9);
        History h = History.read(csv, 5);
        h.write(dir);
        assertTrue(Files.readAllLines(csv).get(1).endsWith(",8.25,,"), "an unknown wait and device peak are written empty: " + Files.readAllLines(csv).get(1));
    }

    /** A metrics.csv that is not text is named with what is wrong (Java says only "Input length = 1"). */
    /**
     * Columns are read by name (two columns swapped in the header and every row were plotted by position: validation
     * accuracy 700 %), and a file that is not what training writes is refused naming the line and column (an internal
     * error or "For input string" before).
     */
    @Test void columnsAreReadByNameAndAnythingElseIsNamed(@TempDir Path dir) throws IOException {
        Path csv = dir.resolve("metrics.csv");
        Files.writeString(csv, "epoch,lr,val_acc,train_acc,val_loss,train_loss,images_per_s,seconds\n1,0.01,0.5,0.25,1.2,7,10,2\n");
        History.Row r = History.read(csv, 9).rows().getFirst();
        org.junit.jupiter.api.Assertions.assertEquals(0.5, r.valAcc());
        org.junit.jupiter.api.Assertions.assertEquals(7, r.trainLoss());
        String[][] cases = {
            {"a,b,c,d,e,f,g,h\n1,2,3,4,5,6,7,8\n", "not a Pulmo metrics file (its header has no column 'epoch')"},
            {HEADER + "\n1,0.01,abc,0.5,1,0.5,10,2,,\n", "line 2, column train_loss: 'abc' is not a number"},
            {HEADER + "\n2.5,0.01,1,0.5,1,0.5,10,2,,\n", "line 2: epoch '2.5' is not an epoch number"},
            {HEADER + "\n1,0.01,1,0.5,1,0.5,10,2,,\n1,0.01,1,0.5,1,0.5,10,2,,\n", "line 3: epoch 1 follows epoch 1"},
            {HEADER + "\n1,0.01,1,0.5\n", "line 2 has 4 fields, its header 10"},
            {HEADER + ",train_l_ce,train_l_cs\n1,0.01,1,0.5,1,0.5,10,2,,,1,0.5\n", "has 2 of MA-Net's 4 columns"}};
        for (String[] c : cases) {
            Files.writeString(csv, c[0]);
            java.nio.file.FileSystemException e = org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.FileSystemException.class,
                () -> History.read(csv, 9));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith(csv + ": " + c[1]), e.getMessage());
        }
    }

    @Test void aFileThatIsNotTextIsNamed(@TempDir Path dir) throws IOException {
        Path csv = dir.resolve("metrics.csv");
        Files.write(csv, new byte[] {'e', 'p', (byte) 0xc3, 0x28, '\n'});
        java.nio.file.FileSystemException e = org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.FileSystemException.class,
            () -> History.read(csv, 10));
        assertEquals(csv.toString(), e.getFile());
        assertEquals(History.NOT_TEXT, e.getReason());
    }

    /**
     * The files are replaced, never rewritten in place (a kill or a full disk mid-write would leave them cut short): a
     * hard link to the old metrics.csv still holds the old rows after the write, as it would not after a write in place.
     */
    @Test void theFilesAreReplacedWholeNotRewrittenInPlace(@TempDir Path dir) throws IOException {
        History h = new History();
        h.add(new History.Row(1, 0.01, 1.5, 0.4, 1.4, 0.45, 120.5, 8.25, 3.5, Double.NaN, null));
        h.write(dir);
        Path old = Files.createLink(dir.resolve("old.csv"), dir.resolve("metrics.csv"));
        String before = Files.readString(old);
        h.add(new History.Row(2, 0.01, 1.2, 0.5, 1.3, 0.5, 120.5, 8.25, 3.5, Double.NaN, null));
        h.write(dir);
        assertEquals(before, Files.readString(old), "the old file is untouched");
        assertEquals(3, Files.readAllLines(dir.resolve("metrics.csv")).size());
    }
}

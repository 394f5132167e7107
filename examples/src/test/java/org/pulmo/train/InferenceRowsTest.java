package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.data.Dataset;
import org.pulmo.data.Image;
import org.pulmo.data.ImageDecodeException;
import org.pulmo.data.Transform;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Tensor;

/**
 * Row r of an inference result is one image throughout: its probabilities, label and source all belong to image
 * {@code index[r]}, also after an unreadable image was left out and across batches.
 */
class InferenceRowsTest {

    /** Image i is [1, 1, 2] = (0, i / 10); image 3 cannot be read; label i mod 2. */
    record Ramp(int size) implements Dataset {
        @Override public List<String> classes() { return List.of("a", "b"); }
        @Override public int label(int index) { return index % 2; }
        @Override public Image image(int index) throws ImageDecodeException {
            if (index == 3) throw new ImageDecodeException(Path.of("ramp-3.png"), "planted bad image");
            return new Image(1, 1, 2, new float[] {0, index / 10f});
        }
        @Override public String source(int index) { return "ramp image " + index; }
    }

    @Test void probabilitiesLabelsAndSourcesStayWithTheirImage() {
        Dataset data = new Ramp(10);
        Module model = new Module() {   // logits = the two pixels: p(b) = sigmoid(i / 10) tells which image a row is
            @Override public Tensor forward(Tensor x) { return x.reshape(x.shape()[0], 2); }
        };
        Inference.Result r = Inference.run(model, data, data.classes(), Transform.identity(), 4, false);
        assertArrayEquals(new int[] {0, 1, 2, 4, 5, 6, 7, 8, 9}, r.index());
        for (int row = 0; row < r.index().length; row++) {
            int i = r.index()[row];
            assertEquals(1 / (1 + Math.exp(-i / 10.0)), r.predictions().probabilities()[row][1], 1e-5, "row " + row + " (image " + i + ")");
            assertEquals(data.label(i), r.predictions().labels()[row], "label of row " + row);
            assertEquals(data.source(i), r.sources()[row], "source of row " + row);
        }
    }
}

package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradMode;
import org.pulmo.models.Backbone;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Grad-CAM of a backbone at a chosen stage is taken from that stage's output, not from the last one. */
class GradCamLayerTest {

    /**
     * Two stages: stage 0 copies its 2-channel 8 x 8 input (1 x 1 identity convolution), stage 1 averages 2 x 2 blocks
     * (a stride-2 convolution) to 4 x 4; the head is GradCamTest.TwoRegions's: y_0 = mean(A_0) - mean(A_1), y_1 the mirror.
     */
    static final class TwoStages extends Module implements Backbone {
        final Conv2d copy = registerModule("copy", new Conv2d(2, 2, 1, new Rng(1)));
        final Conv2d pool = registerModule("pool", new Conv2d(2, 2, 2, 2, 0, false, new Rng(2)));
        final Linear fc = registerModule("fc", new Linear(2, 2, false, new Rng(3)));

        TwoStages() {
            try (var ignored = GradMode.noGrad()) {
                copy.weight.copyFrom(Tensor.of(new float[] {1, 0, 0, 1}, 2, 2, 1, 1));
                float[] w = new float[16];   // [out, in, 2, 2]: a quarter of each of the channel's own four pixels
                for (int k = 0; k < 4; k++) { w[k] = 0.25f; w[12 + k] = 0.25f; }
                pool.weight.copyFrom(Tensor.of(w, 2, 2, 2, 2));
                fc.weight.copyFrom(Tensor.of(new float[] {1, -1, -1, 1}, 2, 2));
            }
        }

        @Override public int stageCount() { return 2; }
        @Override public int[] stageChannels() { return new int[] {2, 2}; }
        @Override public Tensor stage(int i, Tensor x) { return i == 0 ? copy.forward(x) : pool.forward(x); }
        @Override public Tensor head(Tensor features) { return fc.forward(features.globalAvgPool()); }
        @Override public int numClasses() { return 2; }
        @Override public Tensor forward(Tensor x) { return head(stage(1, stage(0, x))); }
    }

    @Test void eachStageGivesAMapAtItsOwnResolution() {
        int s = 8;
        float[] px = new float[2 * s * s];
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                px[y * s + x] = (y < 4 && x < 4) ? 1f : 0.1f;              // class 0's evidence, top left
                px[(s + y) * s + x] = (y >= 4 && x >= 4) ? 1f : 0.1f;      // class 1's evidence, bottom right
            }
        Tensor img = Tensor.of(px, 1, 2, s, s);
        TwoStages net = new TwoStages();
        assertEquals(List.of("stage0", "stage1"), GradCam.layers(net));
        for (int[] layerSide : new int[][] {{0, 8}, {1, 4}}) {
            int side = layerSide[1];
            GradCam.Result r = GradCam.compute(net, img, "stage" + layerSide[0], 0);
            assertEquals(side, r.height(), "stage" + layerSide[0]);
            assertEquals(side, r.width(), "stage" + layerSide[0]);
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)   // class 0's map is 1 on the top-left quarter and 0 elsewhere at either resolution
                    assertEquals(y < side / 2 && x < side / 2 ? 1f : 0f, r.map()[y * side + x], 1e-5f, "stage" + layerSide[0] + " (" + y + ", " + x + ")");
        }
    }
}

package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.pulmo.nn.loss.Losses;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Layers' values by hand beyond LayersTest: SE's gate, Conv2d's short constructor, the cosine loss's default eps. */
class LayersByHandTest {

    @Test void squeezeExcitationIsSigmoidOfFc2OfReluOfFc1OfTheMean() {
        SqueezeExcitation se = new SqueezeExcitation(4, 2, new Rng(5));
        Tensor x = Tensor.randn(new Rng(6), 2, 4, 3, 3);
        float[] xv = x.toArray(), w1 = se.fc1.weight.toArray(), b1 = se.fc1.bias.toArray(), w2 = se.fc2.weight.toArray(), b2 = se.fc2.bias.toArray();
        float[] y = se.forward(x).toArray();
        int relusThatCut = 0;
        for (int n = 0; n < 2; n++) {
            double[] m = new double[4], z = new double[2];
            for (int c = 0; c < 4; c++) { for (int i = 0; i < 9; i++) m[c] += xv[(n * 4 + c) * 9 + i]; m[c] /= 9; }
            for (int r = 0; r < 2; r++) {
                z[r] = b1[r];
                for (int c = 0; c < 4; c++) z[r] += w1[r * 4 + c] * m[c];
                if (z[r] < 0) relusThatCut++;
                z[r] = Math.max(0, z[r]);
            }
            for (int c = 0; c < 4; c++) {
                double a = b2[c];
                for (int r = 0; r < 2; r++) a += w2[c * 2 + r] * z[r];
                double s = 1 / (1 + Math.exp(-a));
                for (int i = 0; i < 9; i++) assertEquals(xv[(n * 4 + c) * 9 + i] * s, y[(n * 4 + c) * 9 + i], 1e-5, "n " + n + " c " + c);
            }
        }
        assertTrue(relusThatCut > 0, "the example must exercise the ReLU (seeds chosen so some fc1 outputs are negative)");
    }

    @Test void theShortConvConstructorTakesStrideThenPadding() {
        Conv2d conv = new Conv2d(1, 2, 3, 2, 1, false, new Rng(1));
        assertEquals(2, conv.params.strideH());
        assertEquals(1, conv.params.padH());
        assertArrayEquals(new int[] {1, 2, 4, 4}, conv.forward(Tensor.randn(new Rng(2), 1, 1, 7, 7)).shape());
    }

    @Test void cosineSimilarityDefaultsToPyTorchsEps() {
        Tensor a = Tensor.of(new float[] {1e-4f, 0f, 3e-5f, 0f}, 2, 2), b = Tensor.of(new float[] {2e-4f, 0f, 0f, 1e-5f}, 2, 2);
        assertEquals(0.5, Losses.cosineSimilarity(a, b).item(), 1e-6, "small vectors are not clamped by an eps of 1e-8");
        assertEquals(Losses.cosineSimilarity(a, b, 1e-8f).item(), Losses.cosineSimilarity(a, b).item());
    }
}

package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.autograd.GradMode;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.LrSchedule;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Proof that the pieces learn together: a small CNN (conv-BN-ReLU-pool twice, global pool, linear) trained
 * with Sgd and the step schedule on a generated 3-class image task reaches at least 95% held-out accuracy.
 * Classes: horizontal stripes, vertical stripes, a checkerboard; each with a random phase, random contrast
 * and Gaussian noise of the same size as the pattern, on 16x16 images.
 */
class LearnsTest {
    static final int SIZE = 16;

    static float[] image(int cls, Rng rng) {
        float[] img = new float[SIZE * SIZE];
        int period = 2 + rng.nextInt(3), phase = rng.nextInt(period);
        float contrast = 0.6f + 0.8f * rng.nextFloat();
        for (int i = 0; i < SIZE; i++)
            for (int j = 0; j < SIZE; j++) {
                boolean on = switch (cls) {
                    case 0 -> (i + phase) / period % 2 == 0;
                    case 1 -> (j + phase) / period % 2 == 0;
                    default -> ((i + phase) / period + (j + phase) / period) % 2 == 0;
                };
                img[i * SIZE + j] = (on ? contrast : -contrast) + (float) rng.nextGaussian() * 0.8f;
            }
        return img;
    }

    record Data(Tensor x, float[] y) {}

    static Data data(int n, Rng rng) {
        float[] x = new float[n * SIZE * SIZE], y = new float[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 3;
            System.arraycopy(image(i % 3, rng), 0, x, i * SIZE * SIZE, SIZE * SIZE);
        }
        return new Data(Tensor.of(x, n, 1, SIZE, SIZE), y);
    }

    @Test void aSmallCnnLearnsAThreeClassImageTask() {
        Rng rng = new Rng(31);
        Data train = data(360, rng), test = data(150, rng);
        Sequential net = new Sequential(
            new Conv2d(1, 8, 3, 1, 1, false, rng), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),   // [N, 8, 8, 8]
            new Conv2d(8, 16, 3, 1, 1, false, rng), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2), // [N, 16, 4, 4]
            new GlobalAvgPool(), new Linear(16, 3, rng));                                                // [N, 3]
        Sgd sgd = Sgd.forModule(net, 0.05f, 0.9f, 1e-4f, false, false);
        LrSchedule schedule = new LrSchedule.Step(0.05, 4, 0.5);
        int batch = 30, n = train.y().length;
        for (int epoch = 0; epoch < 10; epoch++) {
            sgd.setLr((float) schedule.lr(epoch));
            net.train();
            int[] order = GradCheck.permutation(rng, n);
            for (int s = 0; s + batch <= n; s += batch) {
                Tensor[] xs = new Tensor[batch];
                float[] y = new float[batch];
                for (int i = 0; i < batch; i++) {
                    xs[i] = train.x().narrow(0, order[s + i], 1);
                    y[i] = train.y()[order[s + i]];
                }
                sgd.zeroGrad();
                Tensor loss = Losses.crossEntropy(net.forward(Tensor.cat(0, xs)), Tensor.of(y, batch));
                assertFalse(Float.isNaN(loss.item()), "loss is NaN at epoch " + epoch);
                loss.backward();
                sgd.step();
            }
        }
        net.eval();
        float[] pred;
        try (var s = GradMode.noGrad()) { pred = net.forward(test.x()).argmax(1, false).toArray(); }
        int correct = 0;
        for (int i = 0; i < pred.length; i++) if (pred[i] == test.y()[i]) correct++;
        double accuracy = correct / (double) pred.length;
        System.out.printf("LearnsTest: held-out accuracy %.3f%n", accuracy);
        assertTrue(accuracy >= 0.95, "held-out accuracy " + accuracy);
    }
}

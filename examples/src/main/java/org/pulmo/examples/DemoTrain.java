package org.pulmo.examples;

import java.util.Locale;
import java.util.concurrent.Callable;
import org.pulmo.autograd.GradMode;
import org.pulmo.backend.Backends;
import org.pulmo.data.DataLoader;
import org.pulmo.data.DemoChestDataset;
import org.pulmo.data.Transform;
import org.pulmo.data.Transforms;
import org.pulmo.ops.Normalization;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains a small CNN on the built-in synthetic chest images, written directly on the tensor core
 * (conv - BN - ReLU - max-pool, twice, then global average pool and a linear classifier; SGD with momentum).
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Train on the built-in demo data (synthetic 4-class chest images, generated offline).")
final class DemoTrain implements Callable<Integer> {

    @Option(names = "--data", defaultValue = "demo", description = "Data set: only 'demo' for now (default: ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--epochs", defaultValue = "8", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "0.02", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE}).")
    float momentum;

    @Option(names = "--image-size", defaultValue = "32", description = "Demo image side in pixels (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--train-images", defaultValue = "1024", description = "Demo training images (default: ${DEFAULT-VALUE}).")
    int trainImages;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda (default: ${DEFAULT-VALUE}).")
    String device;

    @Override public Integer call() {
        if (!data.equals("demo")) {
            System.err.println("pulmo train: --data " + data + ": image-folder data sets are not supported yet; use --data demo");
            return 2;
        }
        Device dev = device.equals("auto") ? Backends.bestAvailable() : Device.parse(device);
        if (!dev.isCpu()) {
            String why = Backends.unavailableReason(dev);
            if (why != null) { System.err.println("pulmo train: device " + dev + " is not usable: " + why); return 2; }
        }
        Rng rng = new Rng(seed);
        DemoChestDataset train = new DemoChestDataset(trainImages, imageSize, seed);
        DemoChestDataset val = new DemoChestDataset(Math.max(trainImages / 4, 64), imageSize, seed + 1);
        int classes = train.numClasses();
        SmallCnn model = new SmallCnn(classes, rng, dev);
        System.out.printf(Locale.ROOT, "Demo: %d training and %d validation images of %dx%d, %d classes %s, on %s%n",
            trainImages, val.size(), imageSize, imageSize, classes, String.join("/", train.classes()), dev);
        // [0, 1] -> [-1, 1]: the demo images need no ImageNet statistics.
        Transform toInput = Transforms.normalize(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
        try (DataLoader trainLoader = new DataLoader(train, toInput, DataLoader.Options.training(batchSize, seed).withDropLast(true));
             DataLoader valLoader = new DataLoader(val, toInput, DataLoader.Options.evaluation(256))) {
            for (int epoch = 1; epoch <= epochs; epoch++) {
                long t0 = System.nanoTime();
                double lossSum = 0;
                int correct = 0, seen = 0;
                try (DataLoader.Epoch batches = trainLoader.epoch(epoch)) {
                    for (DataLoader.Batch batch : batches) {
                        Tensor x = batch.images().to(dev), y = batch.labels().to(dev);
                        Tensor logits = model.forward(x, true);
                        Tensor loss = crossEntropy(logits, y);
                        model.zeroGrad();
                        loss.backward();
                        model.sgdStep(lr, momentum);
                        lossSum += loss.item() * batch.size();
                        correct += countCorrect(logits, y);
                        seen += batch.size();
                    }
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                double valAcc = evaluate(model, valLoader, dev);
                System.out.printf(Locale.ROOT, "epoch %d/%d  loss %.4f  train acc %5.1f%%  val acc %5.1f%%  %.0f img/s%n",
                    epoch, epochs, lossSum / seen, 100.0 * correct / seen, 100 * valAcc, seen / secs);
            }
        }
        return 0;
    }

    /** Mean over the batch of -log softmax(logits)[label]. */
    static Tensor crossEntropy(Tensor logits, Tensor labels) {
        int n = labels.shape()[0];
        return logits.logSoftmax(1).gather(1, labels.reshape(n, 1)).mean().neg();
    }

    static int countCorrect(Tensor logits, Tensor labels) {
        float[] p = logits.argmax(1, false).toArray(), y = labels.toArray();
        int c = 0;
        for (int i = 0; i < p.length; i++) if (p[i] == y[i]) c++;
        return c;
    }

    static double evaluate(SmallCnn model, DataLoader loader, Device dev) {
        int correct = 0, seen = 0;
        try (var ignored = GradMode.noGrad(); DataLoader.Epoch batches = loader.epoch(0)) {
            for (DataLoader.Batch batch : batches) {
                correct += countCorrect(model.forward(batch.images().to(dev), false), batch.labels().to(dev));
                seen += batch.size();
            }
        }
        return correct / (double) seen;
    }

    /** conv3x3(3->8)-BN-ReLU-pool, conv3x3(8->16)-BN-ReLU-pool, global average pool, linear 16->classes. */
    static final class SmallCnn {
        final Tensor w1, g1, b1, rm1, rv1, w2, g2, b2, rm2, rv2, fcW, fcB;
        final Tensor[] params;
        final Tensor[] velocity;

        SmallCnn(int classes, Rng rng, Device dev) {
            w1 = kaiming(rng, 8, 3, 3, 3).to(dev).requiresGrad(true);
            w2 = kaiming(rng, 16, 8, 3, 3).to(dev).requiresGrad(true);
            g1 = Tensor.ones(8).to(dev).requiresGrad(true);
            b1 = Tensor.zeros(8).to(dev).requiresGrad(true);
            g2 = Tensor.ones(16).to(dev).requiresGrad(true);
            b2 = Tensor.zeros(16).to(dev).requiresGrad(true);
            rm1 = Tensor.zeros(8).to(dev);
            rv1 = Tensor.ones(8).to(dev);
            rm2 = Tensor.zeros(16).to(dev);
            rv2 = Tensor.ones(16).to(dev);
            float bound = (float) (1 / Math.sqrt(16));
            fcW = Tensor.rand(rng, -bound, bound, 16, classes).to(dev).requiresGrad(true);
            fcB = Tensor.rand(rng, -bound, bound, classes).to(dev).requiresGrad(true);
            params = new Tensor[] {w1, g1, b1, w2, g2, b2, fcW, fcB};
            velocity = new Tensor[params.length];
        }

        /** Kaiming normal, fan_out, for ReLU: std = sqrt(2 / (out channels * kH * kW)). */
        static Tensor kaiming(Rng rng, int cout, int cin, int kh, int kw) {
            return Tensor.randn(rng, cout, cin, kh, kw).mul((float) Math.sqrt(2.0 / (cout * kh * kw)));
        }

        Tensor forward(Tensor x, boolean training) {
            Tensor h = Normalization.batchNorm(x.conv2d(w1, null, 1, 1, 1, 1), g1, b1, rm1, rv1, training, 0.1f, 1e-5f)
                .relu().maxPool2d(2, 2, 0);                                  // [N, 8, S/2, S/2]
            h = Normalization.batchNorm(h.conv2d(w2, null, 1, 1, 1, 1), g2, b2, rm2, rv2, training, 0.1f, 1e-5f)
                .relu().maxPool2d(2, 2, 0);                                  // [N, 16, S/4, S/4]
            return h.globalAvgPool().matmul(fcW).add(fcB);                   // [N, classes]
        }

        void zeroGrad() { for (Tensor p : params) p.zeroGrad(); }

        /** v = momentum * v + grad; p -= lr * v (PyTorch's SGD without dampening). */
        void sgdStep(float lr, float momentum) {
            try (var ignored = GradMode.noGrad()) {
                for (int i = 0; i < params.length; i++) {
                    Tensor g = params[i].grad();
                    if (g == null) continue;
                    if (velocity[i] == null) velocity[i] = g.copy();
                    else velocity[i].addInPlace(velocity[i], momentum - 1).addInPlace(g, 1f);
                    params[i].addInPlace(velocity[i], -lr);
                }
            }
        }
    }
}

package org.pulmo.examples;

import java.util.Locale;
import org.pulmo.models.Dpn;
import org.pulmo.models.MaNet;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Pulmo as a library, in one page: a tensor and its gradient, DPN-92-SE's forward pass, then MA-Net trained by hand, without the
 * command line. Run it with
 * <pre>
 *   java --add-modules jdk.incubator.vector -cp examples/target/pulmo.jar org.pulmo.examples.FirstSteps
 * </pre>
 * (the jar {@code ./pulmo} builds; under a minute on two cores). Each step prints what it shows; the test suite runs
 * it and checks every number it prints.
 */
public final class FirstSteps {
    private FirstSteps() {}

    public static void main(String[] args) {
        // 1. Tensors record what is computed from them; backward() fills each leaf's grad.
        //    y = sum(relu(x W)): dy/dW = x^T (1 where x W > 0), computed here by hand to compare.
        Rng rng = new Rng(42);
        Tensor x = Tensor.randn(rng, 3, 4), w = Tensor.randn(rng, 4, 2).requiresGrad(true);
        Tensor y = x.matmul(w).relu().sum();
        y.backward();
        float[] xs = x.toArray(), ws = w.toArray(), byHand = new float[8];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) {
                float z = 0;
                for (int k = 0; k < 4; k++) z += xs[i * 4 + k] * ws[k * 2 + j];
                if (z > 0) for (int k = 0; k < 4; k++) byHand[k * 2 + j] += xs[i * 4 + k];
            }
        System.out.printf(Locale.ROOT, "1. y = %.4f; dy/dW largest difference from the hand-computed gradient: %.2e%n",
            y.item(), maxDifference(w.grad().toArray(), byHand));

        // 2. DPN-92-SE (DPN-SENet): a forward in evaluation mode gives one logit per class.
        Dpn dpn = Dpn.dpn92se(4, new Rng(1));
        dpn.eval();
        Tensor logits = dpn.forward(Tensor.randn(new Rng(2), 1, 3, 64, 64));
        System.out.printf(Locale.ROOT, "2. DPN-92-SE: %,d parameters, logits of shape [%d, %d]%n", dpn.parameterCount(), logits.shape()[0], logits.shape()[1]);

        // 3. MA-Net: a batch and its opposite-class partners through shared weights, the paper's loss (eq. 12-16), SGD
        //    (Sec. 4.1: lr 0.01, momentum 0.9). Each step prints L_CE (eq. 12-13), L_CS (eq. 14) and the adaptive weights
        //    a1 = e^(1/L_CE) / (e^(1/L_CE) + e^(1/L_CS)), a2 = 1 - a1 (eq. 15-16) of total = a1 L_CE + a2 L_CS.
        MaNet net = MaNet.resnet50(2, MaNet.Options.DEFAULT, new Rng(3));
        net.train();
        Sgd sgd = Sgd.forModule(net, 0.01f, 0.9f, 1e-4f, false, false);
        Tensor images = Tensor.randn(new Rng(4), 4, 3, 64, 64), partners = Tensor.randn(new Rng(5), 4, 3, 64, 64);
        Tensor labels = Tensor.of(new float[] {0, 1, 0, 1}, 4), partnerLabels = Tensor.of(new float[] {1, 0, 1, 0}, 4);   // each partner of the other class
        System.out.println("3. MA-Net, training steps on four pairs:");
        MaNet.PairOutput out = null;
        for (int step = 1; step <= 5; step++) {
            sgd.zeroGrad();
            out = net.forwardPair(images, partners);
            MaNet.LossValue loss = net.loss(out, labels, partnerLabels);
            loss.total().backward();
            sgd.step();
            System.out.printf(Locale.ROOT, "   step %d: L_CE %.4f  L_CS %.4f  a1 %.3f  a2 %.3f  total %.4f%n", step, loss.ce(), loss.cs(), loss.a1(), loss.a2(),
                loss.total().item());
        }
        // The main path does not depend on the partner (F_o is the Res-Layers' own output): inference runs it alone, and
        // MA-Net is then a ResNet-50. The same weights and batch statistics give the pair step's main logits without any partner.
        Tensor alone = net.forward(images), withPartner = net.forwardPair(images, partners).logitsX();
        System.out.printf(Locale.ROOT, "   main-path logits without the partner against the pair's: largest difference %.2e%n",
            maxDifference(alone.toArray(), withPartner.toArray()));
        // (In evaluation mode, net.eval(), batch norm uses its running statistics, which a few steps have not yet settled:
        // pulmo evaluate --recompute-bn, BatchNorm.recomputeRunningStatistics, re-estimates them from training images.)
    }

    static float maxDifference(float[] a, float[] b) {
        float d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }
}

package org.pulmo.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pulmo.models.Dpn;
import org.pulmo.models.MaNet;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.AdaptiveWeightedLoss;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Tensor;

/**
 * The papers' models written again with DJL's PyTorch engine (libtorch), op for op as Pulmo's modules compute them,
 * for the side-by-side training step of {@link DjlSideBySide}: ResNet-50 (torchvision v1.5, as
 * {@code org.pulmo.models.ResNet}), DPN-92-SE ({@code org.pulmo.models.Dpn} with SE on the whole block output) and
 * MA-Net's pair step on ResNet-50 (both paths, MAB and FAB after every stage, adaptive loss; {@code MaNet}).
 *
 * <p>The functional layers of DJL's blocks ({@link Conv2d#conv2d} with groups, {@link BatchNorm#batchNorm},
 * {@link Linear#linear}, {@link Pool}) and NDArray ops (concatenation, slices, softmax for MAB, sigmoid for SE and
 * FAB). The weights are a Pulmo model's state dict copied by name ({@link #Weights}), so both sides start from the
 * same numbers and {@link DjlSideBySide} checks that they compute the same logits, loss and gradients before it
 * times anything. The optimiser is PyTorch's SGD rule (momentum, weight decay on the parameters Pulmo decays)
 * written with in-place NDArray ops on detached views of the parameters.
 *
 * <p>Every intermediate array is created from an operand that lives in the step's sub-manager (DJL attaches an
 * op's result to its first operand's manager), so closing that manager frees the step's memory.
 */
final class DjlModels {
    private DjlModels() {}

    private static final Shape ONE = new Shape(1, 1);
    /** torchvision's BatchNorm eps; DPN's is 1e-3 ({@code Dpn.BN_EPS}, timm's value). */
    private static final float RESNET_EPS = 1e-5f, DPN_EPS = 1e-3f, BN_MOMENTUM = 0.1f;

    /** A Pulmo model's parameters (requiring gradients) and buffers, as NDArrays of one manager, by Pulmo's names. */
    static final class Weights {
        /** A trained parameter: its array, the weight decay Pulmo's Sgd gives it, and its momentum buffer. */
        record Param(NDArray value, float decay, NDArray momentum) {}

        final Map<String, NDArray> byName = new LinkedHashMap<>();
        final Map<String, Param> params = new LinkedHashMap<>();

        Weights(Module net, NDManager mgr, float weightDecay, DataType type) {
            Set<String> paramNames = net.namedParameters().keySet();
            Set<String> noDecay = new HashSet<>(Sgd.noDecayNames(net));
            for (Map.Entry<String, Tensor> e : net.stateDict().entrySet()) {
                Tensor t = e.getValue();
                if (t.shape().length == 0 || e.getKey().endsWith("num_batches_tracked")) continue;
                NDArray a = mgr.create(t.toArray(), new Shape(Arrays.stream(t.shape()).asLongStream().toArray()));
                if (type != DataType.FLOAT32) a = a.toType(type, false);
                byName.put(e.getKey(), a);
                if (paramNames.contains(e.getKey())) {
                    a.setRequiresGradient(true);
                    params.put(e.getKey(), new Param(a, noDecay.contains(e.getKey()) ? 0f : weightDecay, mgr.zeros(a.getShape(), a.getDataType())));
                }
            }
        }

        NDArray get(String name) {
            NDArray a = byName.get(name);
            if (a == null) throw new IllegalArgumentException("no weight named " + name);
            return a;
        }

        boolean has(String name) { return byName.containsKey(name); }

        /**
         * One SGD step as PyTorch's (and Pulmo's) {@code Sgd}: d = g + wd p, buf = momentum buf + d, p -= lr buf; then
         * the gradients are zeroed. Temporaries go to {@code step}, closed by the caller.
         */
        void sgdStep(NDManager step, float lr, float mom) {
            for (Param q : params.values()) {
                NDArray p = q.value();
                NDArray g = tmp(p.getGradient(), step);
                NDArray pd = tmp(p.stopGradient(), step);   // a detached view of the parameter: updated in place
                NDArray d = q.decay() == 0 ? g : tmp(pd.mul(q.decay()), step).addi(g);
                NDArray buf = q.momentum().muli(mom).addi(d);
                pd.subi(tmp(buf.mul(lr), step));
                g.muli(0);                                   // as zero_grad
            }
        }
    }

    private static NDArray tmp(NDArray a, NDManager m) {
        a.attach(m);
        return a;
    }

    // ------------------------------------------------------------------ layers

    private static NDArray conv(Weights w, String name, NDArray x, int stride, int groups) {
        NDArray k = w.get(name + ".weight");
        long ks = k.getShape().get(2);
        Shape pad = new Shape(ks / 2, ks / 2);
        NDArray bias = w.has(name + ".bias") ? w.get(name + ".bias") : null;
        if (ks == 1 && stride > 1) {
            // A 1x1 convolution with stride s is a 1x1 convolution of every s-th pixel: libtorch 2.7.1's oneDNN dies
            // with SIGFPE (brgemm_convolution_bwd_utils::brg_blocking_t::est_eff_1x1) while creating the strided 1x1
            // backward-data primitive on AVX-512 machines whose caches it misreads (seen on a Zen 5 VM), so DJL's
            // side takes this equivalent form: a strided slice, then a unit-stride 1x1 convolution.
            x = x.get(new NDIndex(":, :, ::{}, ::{}", stride, stride));
            stride = 1;
        }
        return Conv2d.conv2d(x, k, bias, new Shape(stride, stride), pad, ONE, groups).singletonOrThrow();
    }

    /** Training-mode batch norm (batch statistics; the running ones are updated as PyTorch does). */
    private static NDArray bn(Weights w, String name, NDArray x, float eps) {
        return BatchNorm.batchNorm(x, w.get(name + ".running_mean"), w.get(name + ".running_var"), w.get(name + ".weight"),
            w.get(name + ".bias"), 1, BN_MOMENTUM, eps, true).singletonOrThrow();
    }

    private static NDArray linear(Weights w, String name, NDArray x) {
        return Linear.linear(x, w.get(name + ".weight"), w.get(name + ".bias")).singletonOrThrow();
    }

    private static NDArray relu(NDArray x) { return Activation.relu(x); }

    private static NDArray channels(NDArray x, long from, long count) {
        return x.get(new NDIndex(":, {}:{}", from, from + count));
    }

    private static NDArray squeezeExcitation(Weights w, String name, NDArray x) {
        Shape s = x.getShape();
        NDArray g = Pool.globalAvgPool2d(x).reshape(s.get(0), s.get(1));          // squeeze [N, C]
        g = relu(linear(w, name + ".fc1", g));
        g = Activation.sigmoid(linear(w, name + ".fc2", g));                       // gate [N, C]
        return x.mul(g.reshape(s.get(0), s.get(1), 1, 1));
    }

    // ------------------------------------------------------------------ ResNet-50 (torchvision v1.5)

    /** Stage i (0 = stem, 1..4 = layer1..layer4) of a ResNet-50 whose weights sit under {@code prefix}. */
    static NDArray resnetStage(Weights w, String prefix, int i, NDArray x) {
        if (i == 0) {
            x = relu(bn(w, prefix + "bn1", conv(w, prefix + "conv1", x, 2, 1), RESNET_EPS));
            return Pool.maxPool2d(x, new Shape(3, 3), new Shape(2, 2), ONE, false);
        }
        for (int b = 0; w.has(prefix + "layer" + i + "." + b + ".conv1.weight"); b++) {
            String n = prefix + "layer" + i + "." + b + ".";
            int stride = b == 0 && i > 1 ? 2 : 1;
            NDArray identity = w.has(n + "downsample.0.weight")
                ? bn(w, n + "downsample.1", conv(w, n + "downsample.0", x, stride, 1), RESNET_EPS) : x;
            NDArray out = relu(bn(w, n + "bn1", conv(w, n + "conv1", x, 1, 1), RESNET_EPS));
            out = relu(bn(w, n + "bn2", conv(w, n + "conv2", out, stride, 1), RESNET_EPS));
            out = bn(w, n + "bn3", conv(w, n + "conv3", out, 1, 1), RESNET_EPS);
            x = relu(out.add(identity));
        }
        return x;
    }

    static NDArray resnetHead(Weights w, String prefix, NDArray x) {
        Shape s = x.getShape();
        return linear(w, prefix + "fc", Pool.globalAvgPool2d(x).reshape(s.get(0), s.get(1)));
    }

    static NDArray resnet50(Weights w, NDArray x) {
        for (int i = 0; i < 5; i++) x = resnetStage(w, "", i, x);
        return resnetHead(w, "", x);
    }

    // ------------------------------------------------------------------ DPN-92-SE

    /** timm's BnActConv2d: BN -> ReLU -> conv. */
    private static NDArray bnActConv(Weights w, String name, NDArray x, int stride, int groups) {
        return conv(w, name + ".conv", relu(bn(w, name + ".bn", x, DPN_EPS)), stride, groups);
    }

    /** DPN-92 with SE on each block's whole output ({@code Dpn.SePlacement.ALL}), as {@code Dpn.forward}. */
    static NDArray dpn(Weights w, Dpn.Config c, NDArray x) {
        String f = "features.";
        x = relu(bn(w, f + "conv1_1.bn", conv(w, f + "conv1_1.conv", x, 2, 1), DPN_EPS));
        NDArray resid = Pool.maxPool2d(x, new Shape(3, 3), new Shape(2, 2), ONE, false), dense = null;
        for (int s = 0; s < 4; s++) {
            long bw = (c.small() ? 64L : 256L) << s, inc = c.incSec()[s];
            for (int b = 1; b <= c.kSec()[s]; b++) {
                String n = f + "conv" + (s + 2) + "_" + b;
                NDArray in = dense == null ? resid : NDArrays.concat(new NDList(resid, dense), 1);
                int stride = b == 1 && s > 0 ? 2 : 1;
                if (b == 1) {                                 // projection to the new residual and dense paths
                    NDArray xs = bnActConv(w, n + (s == 0 ? ".c1x1_w_s1" : ".c1x1_w_s2"), in, stride, 1);
                    resid = channels(xs, 0, bw);
                    dense = channels(xs, bw, 2 * inc);
                }
                NDArray t = bnActConv(w, n + ".c1x1_a", in, 1, 1);
                t = bnActConv(w, n + ".c3x3_b", t, stride, c.groups());
                t = bnActConv(w, n + ".c1x1_c", t, 1, 1);
                if (w.has(n + ".se.fc1.weight")) t = squeezeExcitation(w, n + ".se", t);
                resid = resid.add(channels(t, 0, bw));
                dense = NDArrays.concat(new NDList(dense, channels(t, bw, inc)), 1);
            }
        }
        x = relu(bn(w, f + "conv5_bn_ac.bn", NDArrays.concat(new NDList(resid, dense), 1), DPN_EPS));
        Shape s = x.getShape();
        NDArray pooled = Pool.globalAvgPool2d(x).reshape(s.get(0), s.get(1), 1, 1);
        return conv(w, "classifier", pooled, 1, 1).reshape(s.get(0), -1);
    }

    // ------------------------------------------------------------------ MA-Net on ResNet-50

    /**
     * Eq. 3-5: F_am = softmax_HW((F_rei - F_rem)^2) (.) F_rem; with {@code mapGradient} false the attention map is a
     * constant in backward, as Pulmo's default ({@code MaNet.Options.attentionGradient}).
     */
    static NDArray mab(NDArray fRei, NDArray fRem, boolean mapGradient) {
        Shape s = fRem.getShape();
        NDArray d = fRei.sub(fRem).square().reshape(s.get(0), s.get(1), s.get(2) * s.get(3));
        NDArray a = d.softmax(2).reshape(s);
        return (mapGradient ? a : a.stopGradient()).mul(fRem);
    }

    /** Eq. 6-11: a = sigmoid(FC_a(Z) - FC_b(Z)), F_fm = a F_am + (1 - a) F_rem. */
    static NDArray fab(Weights w, String name, NDArray fAm, NDArray fRem) {
        Shape s = fAm.getShape();
        NDArray mix = fAm.add(fRem);
        NDArray v = Pool.globalAvgPool2d(mix).reshape(s.get(0), s.get(1)).add(Pool.globalMaxPool2d(mix).reshape(s.get(0), s.get(1)));
        NDArray z = relu(bn(w, name + ".bn1", linear(w, name + ".fc1", v), RESNET_EPS));
        z = relu(bn(w, name + ".bn2", linear(w, name + ".fc2", z), RESNET_EPS));
        NDArray a = Activation.sigmoid(linear(w, name + ".fc_a", z).sub(linear(w, name + ".fc_b", z)));
        return fAm.sub(fRem).mul(a.reshape(s.get(0), s.get(1), 1, 1)).add(fRem);
    }

    /** The outputs {@code MaNet.forwardPair} gives the loss: both paths' logits and final feature maps. */
    record Pair(NDArray logitsX, NDArray logitsM, NDArray featX, NDArray featM) {}

    /**
     * {@code MaNet.forwardPair} with MAB and FAB on, MAB's attention map differentiated or not as in Pulmo's default
     * options ({@link MaNet.Options#DEFAULT}). Both paths run in training mode through the same batch norms; the
     * mutex path here also moves the running statistics (Pulmo's default leaves them to the main path), which changes
     * no output of the step and no time worth measuring.
     */
    static Pair maNet(Weights w, NDArray x, NDArray m) {
        NDArray fRei = x, fRem = m;
        for (int i = 0; i < 5; i++) {
            fRei = resnetStage(w, "backbone.", i, fRei);
            fRem = resnetStage(w, "backbone.", i, fRem);
            fRem = fab(w, "fab." + i, mab(fRei, fRem, MaNet.Options.DEFAULT.attentionGradient()), fRem);
        }
        return new Pair(resnetHead(w, "backbone.", fRei), resnetHead(w, "backbone.", fRem), fRei, fRem);
    }

    // ------------------------------------------------------------------ losses

    /** Mean softmax cross-entropy; {@code oneHot} [N, classes]. */
    static NDArray crossEntropy(NDArray logits, NDArray oneHot) {
        return logits.logSoftmax(1).mul(oneHot).sum(new int[] {1}).mean().neg();
    }

    /** Batch mean of the cosine similarity of a[n] and b[n], norms clamped below at Losses.COSINE_EPS (eq. 14). */
    static NDArray cosine(NDArray a, NDArray b) {
        long n = a.getShape().get(0);
        NDArray af = a.reshape(n, -1), bf = b.reshape(n, -1);
        NDArray dot = af.mul(bf).sum(new int[] {1});
        NDArray na = af.square().sum(new int[] {1}).sqrt().maximum(Losses.COSINE_EPS);
        NDArray nb = bf.square().sum(new int[] {1}).sqrt().maximum(Losses.COSINE_EPS);
        return dot.div(na.mul(nb)).mean();
    }

    /** MA-Net's adaptive loss (eq. 12-16, a1 and a2 constants): a1 (CE(x) + CE(m)) + a2 L_CS. */
    static NDArray maNetLoss(Pair p, NDArray oneHotX, NDArray oneHotM) {
        NDArray lCe = crossEntropy(p.logitsX(), oneHotX).add(crossEntropy(p.logitsM(), oneHotM));
        NDArray lCs = cosine(p.featX(), p.featM());
        double a1 = AdaptiveWeightedLoss.weightOfFirst(value(lCe), value(lCs));
        return lCe.mul((float) a1).add(lCs.mul((float) (1 - a1)));
    }

    /** A scalar array's value, whatever its type. */
    static double value(NDArray a) { return a.toType(DataType.FLOAT64, false).getDouble(); }

    /** An array's values as floats, whatever its type. */
    static float[] floats(NDArray a) { return a.toType(DataType.FLOAT32, false).toFloatArray(); }

    /** One-hot rows of class indices given as floats. */
    static NDArray oneHot(NDManager mgr, float[] labels, int classes) {
        float[] h = new float[labels.length * classes];
        for (int i = 0; i < labels.length; i++) h[i * classes + (int) labels[i]] = 1;
        return mgr.create(h, new Shape(labels.length, classes));
    }

    /** Names of the gradients compared before timing: the first convolution and the classifier. */
    static List<String> checkedGradients(String model) {
        return switch (model) {
            case "dpn92-se" -> List.of("features.conv1_1.conv.weight", "features.conv4_10.c3x3_b.conv.weight", "classifier.weight");
            case "manet-resnet50" -> List.of("backbone.conv1.weight", "fab.3.fc_a.weight", "backbone.fc.weight");
            default -> List.of("conv1.weight", "layer3.2.conv2.weight", "fc.weight");
        };
    }
}

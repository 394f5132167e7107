package org.pulmo.models;

import org.pulmo.nn.BatchNorm1d;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.AdaptiveWeightedLoss;
import org.pulmo.nn.loss.Losses;
import org.pulmo.ops.FabFuse;
import org.pulmo.ops.Mab;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Zheng, Zhu, Shi, Yang, Shao and Xu, "MA-Net: Mutex attention network for COVID-19 diagnosis on CT images" (Applied
 * Intelligence, 2022), Fig. 3-5 and eq. 1-16. Ablations: Table 8 (MAB, FAB on/off), Table 7 (loss); backbones
 * ResNet-50 and DenseNet-169 (Tables 5, 6).
 *
 * <p>Training reads a pair: an image x and a "mutex" image m of another class. The backbone's stages
 * (Res-Layer0 = stem, Res-Layer1..4) run on both with shared weights (eq. 1). After each stage the mutex
 * attention block (MAB) highlights where the two feature maps differ, and the fusion attention block (FAB)
 * mixes that attended map back into the mutex path (eq. 2); the main path continues unchanged. One
 * classifier head serves both paths. So at inference (no mutex image) MA-Net is exactly its backbone.
 *
 * <p>Notation: x and X in the code ({@code logitsX}, {@code featX}, {@code yX}; also {@code fI}) are the paper's
 * subscript i, the input image's path (F_i, F_rei, y_i, V^i), and m and M its mutex partner's (F_m, F_rem, y_m,
 * V^m). A stage's index is s ({@link #forwardPair}'s loop, {@link #mutexPath}'s first argument).
 *
 * <p>Shapes (ResNet-50, 224 x 224): stage outputs [N, 64, 56, 56], [N, 256, 56, 56], [N, 512, 28, 28],
 * [N, 1024, 14, 14], [N, 2048, 7, 7] on both paths; MAB and FAB keep the shape. Parameters: backbone
 * ({@code backbone.*}, torchvision names) + one FAB per stage ({@code fab.0} .. {@code fab.4}); on ResNet-50
 * with 2 classes 23,512,130 + 6,640,156 = 30,152,286.
 */
public final class MaNet extends Module {

    /**
     * Table 7: cross-entropy only (eq. 12-13), CE + cosine similarity 1:1, or adaptive weights (eq. 15-16) taken as
     * constants in backward; ADAPTIVE_GRAD is the adaptive loss with gradients flowing through a1 and a2 as well
     * (what autograd does when nothing is detached; the paper does not say which it means).
     */
    public enum LossMode { CE, CE_CS, ADAPTIVE, ADAPTIVE_GRAD }

    /**
     * The paper's ablation switches, the FAB reduction ratio r (C' = C / r; the paper gives no value, 16 is
     * our choice, as in SE) and whether the mutex path's batch norms update the running statistics. MAB off: FAB
     * fuses the main path's map F_rei with F_rem (no mutex attention). FAB off: the mutex path continues with
     * F_am + F_rem (the unweighted F_mix of eq. 6; our reading of Table 8's "MAB only" row, see {@link #mutexPath}).
     * Both off: two plain backbone passes with shared weights, joined only by the loss and trained with L_CS too: not
     * Table 8's first row, which is the plain backbone (the recipes report ResNet-50 for that row).
     *
     * <p>{@code mutexRunningStats} false (the default) keeps the backbone's running mean and variance those of
     * the main path alone; true lets both paths move them, which is what running one set of modules on both
     * paths does in a framework unless told otherwise (the paper says nothing about it).
     *
     * <p>{@code attentionGradient} false (the default) takes MAB's attention map A_D = softmax_HW((F_rei - F_rem)^2)
     * as a constant in backward, so the mutex path's losses reach the backbone through F_am = A_D (.) F_rem by F_rem
     * alone; true differentiates A_D as well, which is what autograd does unless told otherwise (the paper does not
     * say). See {@link #mutexPath} for why the default departs.
     */
    public record Options(boolean mab, boolean fab, LossMode loss, int reduction, boolean mutexRunningStats, boolean attentionGradient) {
        public static final Options DEFAULT = new Options(true, true, LossMode.ADAPTIVE, 16, false, false);

        public Options {
            if (loss == null) throw new IllegalArgumentException("MA-Net options: no loss mode");
            if (reduction < 1) throw new IllegalArgumentException("MA-Net options: FAB's reduction r (C' = C / r, eq. 8) must be at least 1, got " + reduction);
        }

        public Options(boolean mab, boolean fab, LossMode loss, int reduction) { this(mab, fab, loss, reduction, false, false); }

        public Options(boolean mab, boolean fab, LossMode loss, int reduction, boolean mutexRunningStats) {
            this(mab, fab, loss, reduction, mutexRunningStats, false);
        }

        public Options withFab(boolean on) { return new Options(mab, on, loss, reduction, mutexRunningStats, attentionGradient); }

        public Options withLoss(LossMode l) { return new Options(mab, fab, l, reduction, mutexRunningStats, attentionGradient); }

        public Options withMutexRunningStats(boolean on) { return new Options(mab, fab, loss, reduction, on, attentionGradient); }

        public Options withAttentionGradient(boolean on) { return new Options(mab, fab, loss, reduction, mutexRunningStats, on); }
    }

    // ------------------------------------------------------------------ MAB

    /**
     * Mutex attention block (Sec. 3.3, Fig. 4, eq. 3-5): F_rei, F_rem [N, C, H, W] -> F_am [N, C, H, W]. No
     * parameters. The softmax runs over the H*W positions of each channel of each sample, so the attention of a
     * channel sums to 1 and is largest where the two images differ most. The op's page: {@link Mab}.
     */
    public static final class MutexAttention extends Module {
        public Tensor forward(Tensor fRei, Tensor fRem) {
            // eq. 3: D = (F_rei - F_rem)^2;  eq. 4: A_D = softmax_HW(D);  eq. 5: F_am = A_D (.) F_rem.
            // One fused op with its own backward (org.pulmo.ops.Mab): the same values as
            // fRei.sub(fRem).square().reshape(n, c, h * w).softmax(2).reshape(n, c, h, w).mul(fRem), without
            // keeping D and A_D for backward (mab.cu on the GPU).
            return Mab.mab(fRei, fRem);
        }

        /**
         * F_am with the attention map A_D taken as a constant in backward: the same values as {@link #forward(Tensor,
         * Tensor)}, but the gradient reaches F_rem only as A_D (.) dF_am, and F_rei not at all.
         */
        public Tensor forwardConstantMap(Tensor fRei, Tensor fRem) {
            // eq. 3-5 as in forward; backward: dF_rem = A_D (.) dF_am, one pass (org.pulmo.ops.Mab.mabConstantMap)
            return Mab.mabConstantMap(fRei, fRem);
        }

        @Override public Tensor forward(Tensor x) {
            throw new UnsupportedOperationException("MutexAttention takes two feature maps: forward(fRei, fRem)");
        }
    }

    // ------------------------------------------------------------------ FAB

    /**
     * Fusion attention block (Sec. 3.4, Fig. 5, eq. 6-11): F_am, F_rem [N, C, H, W] -> F_fm [N, C, H, W]. A per-channel
     * gate a in (0, 1), computed from both maps, decides how much of the attended map F_am and how much of the
     * mutex map F_rem the mutex path carries on. Parameters: fc1 (C -> C), bn1, fc2 (C -> C' = C / r), bn2,
     * fc_a and fc_b (C' -> C), Linear layers with bias, BatchNorm1d with eps 1e-5. The fusion's page (eq. 10-11):
     * {@link FabFuse}.
     */
    public static final class FusionAttention extends Module {
        public final int channels, reduced;
        final Linear fc1, fc2, fcA, fcB;
        final BatchNorm1d bn1, bn2;

        public FusionAttention(int channels, int reduction, Rng rng) {
            if (channels < 1 || reduction < 1)
                throw new IllegalArgumentException("FusionAttention: channels and reduction must be at least 1, got " + channels + " and " + reduction);
            this.channels = channels;
            this.reduced = Math.max(1, channels / reduction);   // Departure: eq. 8's C' is not given; C / 16 by default, as SE's r
            fc1 = registerModule("fc1", new Linear(channels, channels, rng));
            bn1 = registerModule("bn1", new BatchNorm1d(channels));
            fc2 = registerModule("fc2", new Linear(channels, reduced, rng));
            bn2 = registerModule("bn2", new BatchNorm1d(reduced));
            fcA = registerModule("fc_a", new Linear(reduced, channels, rng));
            fcB = registerModule("fc_b", new Linear(reduced, channels, rng));
        }

        public Tensor forward(Tensor fAm, Tensor fRem) {
            Tensor fMix = fAm.add(fRem);                                  // eq. 6:  F_mix = F_am + F_rem
            Tensor v = fMix.globalAvgPool().add(fMix.globalMaxPool());    // eq. 7:  V = avg(F_mix) + max(F_mix), [N, C]
            Tensor h = bn1.forwardRelu(fc1.forward(v));                   // eq. 8:  f_C^BR(V),  C -> C (FC, BN, ReLU)
            Tensor z = bn2.forwardRelu(fc2.forward(h));                   //         Z = f_C'^BR(...), C -> C', [N, C']
            // eq. 9: M = f_C(Z) is fc_a, N = f'_C(Z) is fc_b (the paper's N, not the batch size), each [N, C]
            Tensor mLogit = fcA.forward(z), nLogit = fcB.forward(z);
            // eq. 10: a = e^M / (e^M + e^N) = sigmoid(M - N), which cannot overflow;
            // eq. 11: F_fm = a F_am + (1 - a) F_rem. One fused op, page org.pulmo.ops.FabFuse (se_fab.cu's fab_fuse_* on the GPU).
            return FabFuse.fabFuse(fAm, fRem, mLogit, nLogit);
        }

        @Override public Tensor forward(Tensor x) {
            throw new UnsupportedOperationException("FusionAttention takes two feature maps: forward(fAm, fRem)");
        }

        @Override protected String extraRepr() { return channels + ", reduced=" + reduced; }
    }

    /** Holds the per-stage FABs under the names "0".."4" (as PyTorch's ModuleDict). */
    static final class FabList extends Module {
        final FusionAttention[] fabs;

        FabList(int[] channels, int reduction, Rng rng) {
            fabs = new FusionAttention[channels.length];
            for (int i = 0; i < channels.length; i++) fabs[i] = registerModule(Integer.toString(i), new FusionAttention(channels[i], reduction, rng));
        }

        @Override public Tensor forward(Tensor x) { throw new UnsupportedOperationException("FabList is a container"); }
    }

    // ------------------------------------------------------------------ network

    /**
     * What the loss needs from a training pair: both paths' logits [N, classes] and last feature maps [N, C, h, w]:
     * {@code featX} = F_o and {@code featM} = F_om of the last Res-Layer (after its FAB; reshaped, eq. 14's V^i and V^m), {@code logitsX} = head(F_o),
     * {@code logitsM} = head(F_om). Departure: which maps eq. 12-14 mean is our reading (the paper: "the feature maps of the
     * input and the mutex input"; docs/FIDELITY.md).
     */
    public record PairOutput(Tensor logitsX, Tensor logitsM, Tensor featX, Tensor featM) {}

    /**
     * The total loss to call backward on, and its parts as detached scalars on the loss's device: L_CE, L_CS and the
     * weights a1 ({@code weightCe}) and a2 ({@code weightCs}) used (eq. 15-16). They stay there until somebody reads them: {@link #ce()} and the others read one
     * now, which makes the host wait for the device's queued work, so a training loop keeps the tensors and reads
     * them every few steps.
     */
    public record LossValue(Tensor total, Tensor lossCe, Tensor lossCs, Tensor weightCe, Tensor weightCs) {
        public float ce() { return lossCe.item(); }
        public float cs() { return lossCs.item(); }
        public float a1() { return weightCe.item(); }
        public float a2() { return weightCs.item(); }
    }

    public final Options options;
    final Module backboneModule;
    final Backbone backbone;
    final MutexAttention mab;
    final FabList fab; // null when FAB is off

    /** Wraps a backbone (its parameters are registered as {@code backbone.*}). */
    public <B extends Module & Backbone> MaNet(B backbone, Options options, Rng rng) {
        this.options = options;
        this.backboneModule = registerModule("backbone", backbone);
        this.backbone = backbone;
        this.mab = new MutexAttention(); // parameterless, not registered (nothing to save)
        this.fab = options.fab() ? registerModule("fab", new FabList(backbone.stageChannels(), options.reduction(), rng)) : null;
    }

    public static MaNet resnet50(int numClasses, Options options, Rng rng) {
        return new MaNet(new ResNet(ResNet.RESNET50, numClasses, rng), options, rng);
    }

    public static MaNet densenet169(int numClasses, Options options, Rng rng) {
        return new MaNet(new DenseNet(DenseNet.DENSENET169, numClasses, rng), options, rng);
    }

    /** The wrapped backbone as a module (for loading weights into it, or comparing with a plain one). */
    public Module backbone() { return backboneModule; }

    /** One FAB per stage, or null with FAB off. */
    public FusionAttention fab(int stage) { return fab == null ? null : fab.fabs[stage]; }

    /**
     * How {@link #forwardPair} runs the two paths through each backbone stage: as one batch of 2N (true), as two
     * calls (false), or, by default (null), as {@link #pairedByDefault} decides: on a GPU always, on the CPU when a
     * path's batch has at most {@link #PAIRED_MAX_PIXELS} pixels (N x H x W of the input). The same values and gradients either way, up to float32 summation order
     * (MaNetTest): batch norm keeps each path's own statistics ({@link org.pulmo.nn.BatchNorm#pairedBatches}). As one
     * batch, every convolution sees twice the batch, packs its weights once and computes one weight gradient instead
     * of two to be added, at the price of a copy of both paths' maps at every stage boundary.
     */
    public void setPairedExecution(Boolean on) { pairedExecution = on; }

    private Boolean pairedExecution;

    /**
     * The default's bound for running both paths as one batch. Measured on a 2-core Zen 5 (benchmarks/RESULTS.md):
     * at 4 pairs of 112 x 112 (50 176 pixels a path) the pair step took 9 % less time as one batch (peak memory +6 %),
     * at 8 pairs of 224 x 224 (401 408) the same time and 17 % more memory (larger convolution scratch, the stage
     * copies): the larger GEMMs pay only while a path's own are small.
     */
    public static final long PAIRED_MAX_PIXELS = 1L << 16;

    boolean paired(Tensor x) {
        return pairedExecution != null ? pairedExecution : pairedByDefault(x.shape(), x.device());
    }

    /**
     * The default of {@link #setPairedExecution}. On the CPU the bound {@link #PAIRED_MAX_PIXELS}, measured there. On a
     * GPU one batch (unless {@code -Dpulmo.manet.pairedOnGpu=false}): half the convolution and batch-norm launches,
     * each on twice the batch, which a GPU runs in well under twice the time at these sizes, for one copy of both
     * paths' maps per stage (not yet measured on a GPU: benchmarks/RESULTS.md).
     */
    static boolean pairedByDefault(int[] s, org.pulmo.tensor.Device device) {
        if (!device.isCpu()) return !"false".equals(System.getProperty("pulmo.manet.pairedOnGpu"));
        return (long) s[0] * (s.length > 2 ? s[2] : 1) * (s.length > 3 ? s[3] : 1) <= PAIRED_MAX_PIXELS;
    }

    /**
     * Training forward on a pair (eq. 1-2): the main path is the plain backbone, the mutex path goes through MAB and FAB.
     * Per mutex attention Res-Layer s (0 = the stem, 1..4 the stages), with inputs F_i and F_m (the images x and m at s = 0):
     * F_rei, F_rem = Res-Layer_s(F_i), Res-Layer_s(F_m), shared weights (eq. 1); F_o = F_rei and
     * F_om = FAB(MAB(F_rei, F_rem), F_rem) (eq. 2); the next Res-Layer's F_i, F_m are this one's F_o, F_om. Run as one
     * batch ({@link #setPairedExecution}), eq. 1 runs once on [F_i; F_m] and the two halves of its output are F_rei and F_rem.
     */
    public PairOutput forwardPair(Tensor x, Tensor m) {
        if (!java.util.Arrays.equals(x.shape(), m.shape()))
            throw new IllegalArgumentException("MA-Net pair: image batch " + java.util.Arrays.toString(x.shape())
                + " and mutex batch " + java.util.Arrays.toString(m.shape()) + " differ in shape");
        Tensor fI = x, fM = m;                           // F_i, F_m: the inputs of the next Res-Layer
        int n = x.shape()[0];
        boolean asOneBatch = paired(x);
        Tensor both = asOneBatch ? Tensor.cat(0, x, m) : null;   // [F_i; F_m]
        for (int s = 0; s < backbone.stageCount(); s++) {
            Tensor fRei, fRem;
            if (asOneBatch) {                       // eq. 1 on [F_i; F_m] at once, each path with its own BN statistics
                Tensor out;
                try (var halves = org.pulmo.nn.BatchNorm.pairedBatches(!options.mutexRunningStats())) { out = backbone.stage(s, both); }
                fRei = out.narrow(0, 0, n);
                fRem = out.narrow(0, n, n);
            } else {
                fRei = backbone.stage(s, fI);            // eq. 1: this stage's Res-Layer, shared weights on both paths
                try (var stats = mutexStatistics()) { fRem = backbone.stage(s, fM); }
            }
            fI = fRei;                                   // eq. 2: F_o = F_rei, the main path unchanged
            fM = mutexPath(s, fRei, fRem);               // eq. 2: F_om = FAB(MAB(F_rei, F_rem), F_rem)
            if (asOneBatch && s + 1 < backbone.stageCount()) both = Tensor.cat(0, fI, fM);
        }                                                // ResNet-50: [N, 2048, 7, 7] on both paths
        Tensor logitsM;
        // The head runs under the mutex path's batch-norm rule too: ResNet's and DenseNet's heads have no batch norm,
        // but a backbone whose head had one would otherwise move its running statistics with the mutex path's F_om.
        try (var stats = mutexStatistics()) { logitsM = backbone.head(fM); }
        return new PairOutput(backbone.head(fI), logitsM, fI, fM);
    }

    // Departure: the paper does not say which path's activations the shared backbone's batch-norm running statistics
    // describe. Inference runs the main path alone, so by default the mutex path (whose input after stage 0 is FAB's
    // F_fm, another distribution) normalises with its batch statistics but does not move the running ones
    // (docs/FIDELITY.md, docs/REPRODUCTION.md "MA-Net on the CPU" for the measurements). Options.mutexRunningStats
    // restores the framework-default behaviour of both paths moving them.
    private org.pulmo.nn.BatchNorm.Scope mutexStatistics() {
        return org.pulmo.nn.BatchNorm.freezeRunningStatistics(!options.mutexRunningStats());
    }

    /**
     * The mutex path's continuation after stage {@code s} (eq. 2; 0 = the stem): F_om =
     * FAB_s(MAB(F_rei, F_rem), F_rem), or what the ablation switches leave of it.
     */
    // Departure: the paper does not say whether MAB is differentiated through its attention map. By default it is
    // not (A_D is a constant in backward; Options.attentionGradient restores autograd's behaviour): differentiated,
    // the softmax of squared feature differences drives L_CS to 0.12-0.15 within three epochs and ~0.03 by epochs 8-12,
    // eq. 15 gives L_CE a weight of 1e-5 and less from epochs 4-5, and the shared backbone stops learning to classify (62-82 % test accuracy over three
    // seeds against ResNet-50's 78-82 %; 82-85 % with the map constant); its float32 gradients are also mostly rounding
    // error at 224 x 224. Evidence:
    // docs/REPRODUCTION.md "MA-Net on the CPU", benchmarks/RESULTS.md (float64 check), docs/FIDELITY.md.
    public Tensor mutexPath(int s, Tensor fRei, Tensor fRem) {
        // Departure: Table 8 has no FAB-only row, so with MAB off and FAB on (our extension) FAB fuses the main path's
        // own map F_rei with F_rem in place of F_am. It trains badly: the mutex path then carries the other class's
        // features at every stage (docs/FIDELITY.md, docs/REPRODUCTION.md).
        Tensor fAm = !options.mab() ? fRei                           // MAB off: fuse the main map itself
            : options.attentionGradient() ? mab.forward(fRei, fRem) : mab.forwardConstantMap(fRei, fRem);
        if (fab != null) return fab.fabs[s].forward(fAm, fRem);
        // Departure: Table 8's "MAB only" row does not say what replaces FAB. Eq. 2 without it would read F_om = F_am, but
        // each plane of A_D sums to 1, so F_am = A_D (.) F_rem is about 1 / (H W) of F_rem and would shrink the mutex path
        // at every stage; we keep eq. 6's sum F_am + F_rem, FAB with both weights 1 (docs/FIDELITY.md).
        return options.mab() ? fAm.add(fRem) : fRem;                  // FAB off: unweighted F_mix (eq. 6)
    }

    /** Inference: the main path only, which is exactly the backbone (no mutex image needed). */
    @Override public Tensor forward(Tensor x) { return backboneModule.forward(x); }

    /**
     * The loss of {@link Options#loss()} for a pair with labels yX, yM [N] (class indices as floats).
     * L_CE = CE(logits_x, y_x) + CE(logits_m, y_m), each CE a batch mean (eq. 12-13); L_CS = batch mean of the cosine
     * similarity of the two final feature maps (eq. 14); adaptive: L = a1 L_CE + a2 L_CS with a1 = e^(1/L_CE) / (e^(1/L_CE) +
     * e^(1/L_CS)), a2 = 1 - a1, treated as constants (eq. 15-16), or differentiated (ADAPTIVE_GRAD). Nothing is read
     * back to the host: the labels may be the host's (they are checked there, then moved to the logits' device), and
     * the weights are computed on the device. The labels are not required to differ pair by pair: Sec. 3.2's pairs of
     * opposite classes are the sampler's to make (org.pulmo.data.MutexPairSampler in the examples), and the PyTorch
     * reference this loss is tested against draws y_m independently of y_x.
     */
    public LossValue loss(PairOutput out, Tensor yX, Tensor yM) {
        // Departure: eq. (12) prints binary cross-entropy on y' (with a sign typo: "-y log y' + (1 - y) log(1 - y')");
        // we use the softmax cross-entropy of the logits over the classes (two in the paper), which for two classes equals
        // the correctly signed BCE of softmax's p. L1 and L2 are per sample in the paper (no reduction named); here each is
        // the batch mean (Losses.crossEntropy), so L_CE stays on the scale of one sample's loss. The reduction matters:
        // eq. 15's a1, a2 depend on L_CE's size, and a batch sum would make it N times larger.
        Tensor lCe = Losses.crossEntropy(out.logitsX(), yX).add(Losses.crossEntropy(out.logitsM(), yM)); // eq. 12-13
        // Departure: eq. (14) is the cosine of one pair; the batch's pairs are averaged (the paper names no reduction), as
        // L1 and L2 above. Departure: the text speaks of "three losses" weighted adaptively and of a cosine "distance";
        // we follow eq. 13-16 as printed: two weighted terms, L_CE = L1 + L2 and L_CS = cos θ, the similarity.
        Tensor lCs = Losses.cosineSimilarity(out.featX(), out.featM());                                   // eq. 14
        Tensor ce = lCe.detach(), cs = lCs.detach();
        org.pulmo.tensor.Device dev = lCe.device();
        return switch (options.loss()) {
            case CE -> new LossValue(lCe, ce, cs, Tensor.full(1f, dev), Tensor.full(0f, dev));
            case CE_CS -> new LossValue(lCe.add(lCs), ce, cs, Tensor.full(1f, dev), Tensor.full(1f, dev));
            case ADAPTIVE -> {
                Tensor a1 = AdaptiveWeightedLoss.weightOfFirst(ce, cs);                     // eq. 15 of detached values: constants
                yield new LossValue(AdaptiveWeightedLoss.combine(lCe, lCs, a1), ce, cs, a1, a1.neg().add(1f)); // eq. 16
            }
            case ADAPTIVE_GRAD -> {
                Tensor a1 = AdaptiveWeightedLoss.weightOfFirst(lCe, lCs);                   // eq. 15, differentiable
                Tensor w = a1.detach();
                yield new LossValue(AdaptiveWeightedLoss.combine(lCe, lCs, a1), ce, cs, w, w.neg().add(1f)); // eq. 16
            }
        };
    }
}

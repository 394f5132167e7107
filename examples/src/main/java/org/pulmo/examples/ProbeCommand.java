package org.pulmo.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.pulmo.autograd.GradMode;
import org.pulmo.data.DataLoader;
import org.pulmo.data.Dataset;
import org.pulmo.models.Backbone;
import org.pulmo.models.MaNet;
import org.pulmo.nn.BatchNorm;
import org.pulmo.nn.loss.AdaptiveWeightedLoss;
import org.pulmo.nn.loss.Losses;
import org.pulmo.tensor.Tensor;
import org.pulmo.train.MutexBatches;
import org.pulmo.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code pulmo probe -c C --data D}: what an MA-Net checkpoint's training step does, measured on training pairs
 * (training augmentation, training-mode batch norm, running statistics left alone): the loss terms and the adaptive
 * weights (eq. 12-16); the gradient each term sends into the shared backbone (L_CE of the main path, L_CE of the
 * mutex path, L_CS: norms and pairwise cosines, and the norms as weighted by the loss in use); and how peaked the mutex
 * attention is after each stage (eq. 4's softmax over H*W: the mean of each channel's largest weight, and the share of
 * channels where one position takes more than half). Nothing is written; the checkpoint is unchanged.
 */
@Command(name = "probe", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Measure an MA-Net checkpoint's training step on training pairs: loss terms, adaptive weights, per-term backbone gradients, mutex-attention peakedness. Runs on the CPU.")
public final class ProbeCommand implements Callable<Integer> {
    @Option(names = {"-c", "--checkpoint"}, required = true, description = "An MA-Net checkpoint written by 'pulmo train'.") java.nio.file.Path checkpoint;
    @Mixin DataOptions data;
    @Option(names = "--batches", defaultValue = "8", description = "Training pairs batches to average over (default: ${DEFAULT-VALUE}).") int batches;
    @Option(names = "--batch-size", defaultValue = "16", description = "Pairs per batch (default: ${DEFAULT-VALUE}).") int batchSize;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the batch order, pairing and augmentation (default: ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--class-map", description = "DATA_CLASS=CHECKPOINT_CLASS,...: data folders or labels named otherwise than the checkpoint's classes"
        + " (as evaluate's). Classes are matched by name, never by position.") String classMap;

    @Override public Integer call() throws Exception {
        if (batches < 1) throw new IllegalArgumentException("--batches must be at least 1, got " + batches);
        if (batchSize < 2) throw new IllegalArgumentException("--batch-size must be at least 2 (batch norm needs more than one image), got " + batchSize);
        TrainedModel tm = TrainedModel.load(checkpoint);
        if (!(tm.model() instanceof MaNet net))
            throw new IllegalArgumentException(checkpoint + " holds " + tm.name() + ", not an MA-Net: 'pulmo probe' measures MA-Net's pair step");
        data.adoptSplitOf(org.pulmo.io.Safetensors.readMetadata(checkpoint), System.out);
        // the checkpoint's classes by name (a folder's classes in another order, or others, would pair and score the wrong labels)
        Dataset train = org.pulmo.data.ClassMap.onto(data.loadParts(tm.imageSize()).train(), data.where("train"), tm.classes(),
            "the checkpoint " + checkpoint, org.pulmo.data.ClassMap.parse(classMap));
        if (!org.pulmo.data.ClassMap.missing(train).isEmpty())
            throw new org.pulmo.data.DatasetException(data.where("train") + " has no image of class " + org.pulmo.data.ClassMap.quotedNames(org.pulmo.data.ClassMap.missing(train))
                + " of the checkpoint's " + tm.classes() + "; probe pairs each image with one of another class");
        int[] labels = new int[train.size()];
        for (int i = 0; i < labels.length; i++) labels[i] = train.label(i);
        var opts = DataLoader.Options.training(batchSize, seed).withDropLast(true).withStrict(data.strict);
        var tf = tm.augmentation().train(tm.imageSize());
        Backbone backbone = (Backbone) net.backbone();
        int stages = backbone.stageCount();
        String[] terms = {"L_CE main", "L_CE mutex", "L_CS"};
        double[] norm = new double[3], weighted = new double[3], cos = new double[3], peak = new double[stages], oneHot = new double[stages];
        double ceX = 0, ceM = 0, cs = 0, a1 = 0;
        int n = 0;
        net.train();
        try (BatchNorm.Scope frozen = BatchNorm.freezeRunningStatistics();
             DataLoader main = new DataLoader(train, tf, opts); var mainEpoch = main.epoch(0);
             MutexBatches mutex = new MutexBatches(train, labels, tf, opts, seed, 0)) {
            while (n < batches && mainEpoch.hasNext()) {
                DataLoader.Batch b = mainEpoch.next(), mb = mutex.next(b);
                if (mb == null) continue; // an unreadable image broke this batch's pairs
                float[][] g = new float[3][];
                float[] parts = new float[3];
                for (int t = 0; t < 3; t++) {
                    net.zeroGrad();
                    MaNet.PairOutput po = net.forwardPair(b.images(), mb.images());
                    Tensor[] term = {Losses.crossEntropy(po.logitsX(), b.labels()), Losses.crossEntropy(po.logitsM(), mb.labels()),
                        Losses.cosineSimilarity(po.featX(), po.featM())};
                    for (int k = 0; k < 3; k++) parts[k] = term[k].item();
                    term[t].backward();
                    g[t] = flatGrad(net.backbone());
                }
                double w1 = AdaptiveWeightedLoss.weightOfFirst(parts[0] + parts[1], parts[2]);
                double[] weight = switch (net.options.loss()) {
                    case CE -> new double[] {1, 1, 0};
                    case CE_CS -> new double[] {1, 1, 1};
                    case ADAPTIVE, ADAPTIVE_GRAD -> new double[] {w1, w1, 1 - w1};
                };
                for (int t = 0; t < 3; t++) {
                    norm[t] += l2(g[t]);
                    weighted[t] += weight[t] * l2(g[t]);
                    cos[t] += cosine(g[t], g[(t + 1) % 3]);
                }
                ceX += parts[0];
                ceM += parts[1];
                cs += parts[2];
                a1 += w1;
                attentionPeaks(net, backbone, b.images(), mb.images(), peak, oneHot);
                n++;
            }
        }
        if (n == 0)
            throw new org.pulmo.data.DatasetException(data.where("train") + " gives no complete batch of " + batchSize + " pairs (" + train.size()
                + " training images, unreadable ones skipped): give a --batch-size of at most " + train.size());
        var out = System.out;
        out.printf(Locale.ROOT, "%s (%s, epoch %d), %d batch%s of %d training pairs, loss in use: %s%n", checkpoint, tm.name(), tm.epoch(), n, n == 1 ? "" : "es", batchSize,
            net.options.loss().name().toLowerCase(Locale.ROOT).replace('_', '-'));
        out.printf(Locale.ROOT, "  L_CE main %.4f   L_CE mutex %.4f   L_CS %.4f   a1 %.3f   a2 %.3f (eq. 15, from L_CE = main + mutex)%n",
            ceX / n, ceM / n, cs / n, a1 / n, 1 - a1 / n);
        out.println("  backbone gradient per term:   norm      x loss weight   cosine with next");
        for (int t = 0; t < 3; t++)
            out.printf(Locale.ROOT, "    %-12s            %10.4g   %10.4g      %+.3f (%s)%n", terms[t], norm[t] / n, weighted[t] / n, cos[t] / n, terms[(t + 1) % 3]);
        out.println("  mutex attention after each stage (softmax over H*W per channel):");
        for (int s = 0; s < stages; s++)
            out.printf(Locale.ROOT, "    stage %d: mean largest weight %.3f, channels with one position > 0.5: %5.1f%%%n", s, peak[s] / n, 100 * oneHot[s] / n);
        return 0;
    }

    /** Per stage: the mean over samples and channels of the largest attention weight, and the share of channels above 0.5. */
    private static void attentionPeaks(MaNet net, Backbone backbone, Tensor x, Tensor m, double[] peak, double[] oneHot) {
        try (var ng = GradMode.noGrad()) {
            Tensor fRei = x, fRem = m;
            for (int s = 0; s < backbone.stageCount(); s++) {
                fRei = backbone.stage(s, fRei);
                fRem = backbone.stage(s, fRem);
                int[] sh = fRei.shape();
                Tensor a = fRei.sub(fRem).square().reshape(sh[0], sh[1], sh[2] * sh[3]).softmax(2).max(2, false); // eq. 3-4
                float[] v = a.toArray();
                double sum = 0, above = 0;
                for (float p : v) { sum += p; if (p > 0.5f) above++; }
                peak[s] += sum / v.length;
                oneHot[s] += above / v.length;
                fRem = net.mutexPath(s, fRei, fRem);
            }
        }
    }

    private static float[] flatGrad(org.pulmo.nn.Module m) {
        List<float[]> parts = new ArrayList<>();
        int total = 0;
        for (Map.Entry<String, Tensor> e : m.namedParameters().entrySet()) {
            Tensor g = e.getValue().grad();
            float[] v = g == null ? new float[(int) e.getValue().numel()] : g.toArray();
            parts.add(v);
            total += v.length;
        }
        float[] out = new float[total];
        int o = 0;
        for (float[] p : parts) { System.arraycopy(p, 0, out, o, p.length); o += p.length; }
        return out;
    }

    private static double l2(float[] v) { double s = 0; for (float x : v) s += (double) x * x; return Math.sqrt(s); }

    private static double cosine(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d += (double) a[i] * b[i];
        double na = l2(a), nb = l2(b);
        return na == 0 || nb == 0 ? 0 : d / (na * nb);
    }
}

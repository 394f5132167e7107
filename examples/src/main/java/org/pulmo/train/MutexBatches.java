package org.pulmo.train;

import java.util.Arrays;
import org.pulmo.data.DataLoader;
import org.pulmo.data.Dataset;
import org.pulmo.data.MutexPairSampler;
import org.pulmo.data.Transform;

/**
 * MA-Net's mutex batches for one epoch (Zheng et al. 2022, Sec. 3.2): every training image's partner of another
 * class, drawn by a {@link MutexPairSampler} seeded by (seed, epoch), read by a second loader that shuffles with the
 * main loader's seed, so that batch b of both loaders holds pairs position by position.
 *
 * <p>{@link #next} checks that promise for every batch instead of trusting it: the two batches hold the same
 * positions of the shuffled order, every pair has different labels, and every mutex label is the partner's true
 * label. A batch in which an unreadable image broke the pairing (one loader dropped an image the other did not)
 * is skipped and counted; a broken promise of any other kind is a bug and stops training.
 */
public final class MutexBatches implements AutoCloseable {
    private final int[] labels, partner;
    private final DataLoader loader;
    private final DataLoader.Epoch batches;
    private int skipped;
    /** The mutex loader's next batch, read ahead of its main batch where the main loader passed over one. */
    private DataLoader.Batch pending;

    /**
     * The mutex side of {@code epoch}: {@code labels[i]} is training image i's class, {@code mainOptions} the main
     * loader's options (its seed decides the shuffled order both loaders follow), {@code pairSeed} the seed of the
     * partners (training: one per (seed, epoch), {@link #pairSeed}).
     */
    public MutexBatches(Dataset train, int[] labels, Transform transform, DataLoader.Options mainOptions, long pairSeed, int epoch) {
        this.labels = labels;
        MutexPairSampler sampler = new MutexPairSampler(labels, pairSeed);
        this.partner = new int[labels.length];
        for (int i = 0; i < partner.length; i++) partner[i] = sampler.mutexOf(i);
        // the main loader's order, but augmentations of their own: from the main seed, position i of the partners'
        // subset would be augmented exactly as main image i (the same flips, the same rotation in every pair)
        this.loader = new DataLoader(train.subset(partner), transform, mainOptions, augmentationSeed(mainOptions.seed()));
        this.batches = loader.epoch(epoch);
    }

    /** The seed the partners' augmentations are drawn from, for a run of seed {@code seed}: never the main images' seed. */
    static long augmentationSeed(long seed) { return ~seed * 0x9E3779B97F4A7C15L + 0x6D757465L; }

    /** The partners' seed of a training run's epoch. */
    public static long pairSeed(long seed, int epoch) { return seed * 1_000_003L + epoch; }

    /** The partner of training image i this epoch. */
    int partnerOf(int i) { return partner[i]; }

    /**
     * The mutex batch of main batch {@code b} (the next batch of the second loader), or null when an unreadable
     * image left the two batches holding different images (the step is then skipped).
     */
    public DataLoader.Batch next(DataLoader.Batch b) {
        // either loader passes over a batch that unreadable images emptied (or left with one image): the two are matched
        // by batch number, so that one passed over on one side only costs that batch, not the pairing of the rest
        while (pending == null || pending.number() < b.number()) {
            if (!batches.hasNext()) { skipped++; return null; }
            pending = batches.next();
        }
        if (pending.number() > b.number()) { skipped++; return null; }
        DataLoader.Batch mb = pending;
        pending = null;
        if (!Arrays.equals(mb.indices(), b.indices())) { skipped++; return null; }
        String bad = pairingError(b, mb);
        if (bad != null) throw new IllegalStateException("MA-Net pairing broken in batch " + (b.number() + 1) + ": " + bad);
        return mb;
    }

    /** Null when every pair of (b, mb) is a true mutex pair, else what is wrong with the first pair that is not. */
    String pairingError(DataLoader.Batch b, DataLoader.Batch mb) {
        int[] y = b.labelArray(), ym = mb.labelArray();
        for (int k = 0; k < b.size(); k++) {
            int i = b.indices()[k], j = partner[i];
            if (y[k] != labels[i]) return "image " + i + " carries label " + y[k] + ", its class is " + labels[i];
            if (ym[k] != labels[j]) return "the partner of image " + i + " (image " + j + ") carries label " + ym[k] + ", its class is " + labels[j];
            if (ym[k] == y[k]) return "image " + i + " and its partner " + j + " have the same class " + y[k];
        }
        return null;
    }

    /** Seconds the training loop has waited this epoch for a mutex batch that was not ready ({@link DataLoader.Epoch#waitSeconds}). */
    public double waitSeconds() { return batches.waitSeconds(); }

    /** Batches skipped so far because an unreadable image broke their pairing. */
    int skipped() { return skipped; }

    @Override public void close() {
        try { batches.close(); } finally { loader.close(); }
    }
}

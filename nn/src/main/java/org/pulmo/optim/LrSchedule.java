package org.pulmo.optim;

/**
 * A learning rate as a function of the epoch (0-based), stepped once per epoch: call
 * {@code sgd.setLr((float) schedule.lr(epoch))} at the start of each epoch. The schedule is stateless, so its
 * position in a checkpoint is just the epoch.
 */
public sealed interface LrSchedule {

    /** The learning rate for epoch {@code epoch} (0-based). */
    double lr(int epoch);

    /**
     * Step decay: lr = base * factor^floor(epoch / period), PyTorch's StepLR. With factor 0.5 and period 30 it is our
     * reading of MA-Net's eq. 17, which prints the smooth 0.5^(epoch/30) ({@link Exponential}); DPN-SENet gives no
     * schedule, and its defaults take the same one (docs/FIDELITY.md).
     */
    record Step(double base, int period, double factor) implements LrSchedule {
        public Step {
            if (period < 1) throw new IllegalArgumentException("step schedule: period must be >= 1, got " + period);
        }

        public Step(double base) { this(base, 30, 0.5); }

        // Departure: eq. (17) prints 0.5^(epoch/30), a smooth decay (LrSchedule.Exponential), and calls epoch "the number
        // of iterations"; we halve the rate every 30 epochs, flooring epoch/30 as PyTorch's StepLR does.
        @Override public double lr(int epoch) { return base * Math.pow(factor, Math.floorDiv(epoch, period)); }
    }

    /** The continuous variant: lr = base * factor^(epoch / period), no plateaus. */
    record Exponential(double base, int period, double factor) implements LrSchedule {
        public Exponential {
            if (period < 1) throw new IllegalArgumentException("exponential schedule: period must be >= 1, got " + period);
        }

        public Exponential(double base) { this(base, 30, 0.5); }

        @Override public double lr(int epoch) { return base * Math.pow(factor, epoch / (double) period); }
    }

    /**
     * Cosine annealing (Loshchilov and Hutter, SGDR, without restarts):
     * lr = min + (base - min) * (1 + cos(pi * epoch / epochs)) / 2, and min from epoch {@code epochs} on.
     */
    record Cosine(double base, int epochs, double min) implements LrSchedule {
        public Cosine {
            if (epochs < 1) throw new IllegalArgumentException("cosine schedule: epochs must be >= 1, got " + epochs);
        }

        @Override public double lr(int epoch) {
            if (epoch >= epochs) return min;
            return min + (base - min) * (1 + Math.cos(Math.PI * epoch / epochs)) / 2;
        }
    }

    record Constant(double base) implements LrSchedule {
        @Override public double lr(int epoch) { return base; }
    }
}

package org.pulmo.tensor;

/**
 * Seeded random generator (SplitMix64) whose whole state is one long, so that a checkpoint can store it
 * and training resumed from it draws the same numbers. Normal samples use Box-Muller with a cached spare,
 * which is part of the state too.
 */
public final class Rng {
    private long state;
    private boolean hasSpare;
    private double spare;

    public Rng(long seed) { this.state = seed; }

    public long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 53 bits. */
    public double nextDouble() { return (nextLong() >>> 11) * 0x1.0p-53; }

    /** Uniform in [0, 1) with 24 bits. */
    public float nextFloat() { return (nextLong() >>> 40) * 0x1.0p-24f; }

    /** Uniform integer in [0, bound). */
    public int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be positive, got " + bound);
        return (int) Math.floorMod(nextLong() >>> 1, (long) bound);
    }

    public double nextGaussian() {
        if (hasSpare) { hasSpare = false; return spare; }
        double u1, u2;
        do { u1 = nextDouble(); } while (u1 <= 1e-300);
        u2 = nextDouble();
        double r = Math.sqrt(-2.0 * Math.log(u1));
        spare = r * Math.sin(2 * Math.PI * u2);
        hasSpare = true;
        return r * Math.cos(2 * Math.PI * u2);
    }

    /** An independent generator derived from this one (advances this one by one draw). */
    public Rng fork() { return new Rng(nextLong()); }

    /** The full state, for checkpoints: {state, hasSpare ? 1 : 0, bits of spare}. */
    public long[] getState() { return new long[] {state, hasSpare ? 1 : 0, Double.doubleToRawLongBits(spare)}; }

    public void setState(long[] s) {
        if (s.length != 3) throw new IllegalArgumentException("Rng state must have 3 longs, got " + s.length);
        state = s[0]; hasSpare = s[1] != 0; spare = Double.longBitsToDouble(s[2]);
    }
}

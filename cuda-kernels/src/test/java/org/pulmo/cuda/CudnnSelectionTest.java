package org.pulmo.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * No GPU needed: how {@link Cudnn} reads cuDNN's algorithm results and picks one (status, workspace limit,
 * strict FP32 rejecting tensor-op math), the algo setting, and the algorithm names it reports.
 */
class CudnnSelectionTest {
    static Cudnn.Perf perf(int algo, int status, long memory, int mathType) { return new Cudnn.Perf(algo, status, 0.5f, memory, 1, mathType); }

    @Test void perfRowsAreReadAtTheCStructOffsets() {
        // cudnnConvolutionFwdAlgoPerf_t: int algo; int status; float time; size_t memory (8-aligned: offset 16);
        // int determinism; int mathType; int reserved[3]; padded to 48 bytes
        assertEquals(48, Cudnn.PERF.byteSize(), "sizeof(cudnnConvolutionFwdAlgoPerf_t)");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Cudnn.PERF, 2);
            for (int i = 0; i < 2; i++) {
                long o = i * 48L;
                m.set(JAVA_INT, o, 6 + i);
                m.set(JAVA_INT, o + 4, i == 0 ? 0 : 9);
                m.set(JAVA_FLOAT, o + 8, 1.25f * (i + 1));
                m.set(JAVA_LONG, o + 16, 1L << (33 + i));
                m.set(JAVA_INT, o + 24, 1 - i);
                m.set(JAVA_INT, o + 28, Cudnn.FMA_MATH - i);
            }
            assertEquals(List.of(new Cudnn.Perf(6, 0, 1.25f, 1L << 33, 1, Cudnn.FMA_MATH), new Cudnn.Perf(7, 9, 2.5f, 1L << 34, 0, Cudnn.FMA_MATH - 1)),
                Cudnn.readPerf(m, 2));
        }
    }

    @Test void choiceSkipsFailuresOversizedWorkspacesAndTensorOpsInStrictMode() {
        Cudnn.Perf failed = perf(6, 3, 0, Cudnn.FMA_MATH), big = perf(5, 0, 3L << 30, Cudnn.FMA_MATH);
        Cudnn.Perf tf32 = perf(1, 0, 1 << 20, Cudnn.TENSOR_OP_MATH), tf32conv = perf(1, 0, 1 << 20, Cudnn.TENSOR_OP_MATH_ALLOW_CONVERSION);
        Cudnn.Perf fma = perf(0, 0, 0, Cudnn.FMA_MATH), dflt = perf(2, 0, 4096, Cudnn.DEFAULT_MATH);
        List<Cudnn.Perf> ranked = List.of(failed, big, tf32, tf32conv, dflt, fma);
        long limit = 1L << 30;
        assertSame(tf32, Cudnn.choose(ranked, false, false, limit), "TF32 allowed: the best that succeeded and fits");
        assertSame(dflt, Cudnn.choose(ranked, true, false, limit), "strict FP32: tensor-op results are skipped");
        assertSame(big, Cudnn.choose(ranked, false, false, 4L << 30), "a larger limit admits the larger workspace");
        assertSame(fma, Cudnn.choose(List.of(failed, big, tf32, fma), true, false, 0), "with no workspace only the zero-workspace one");
        assertNull(Cudnn.choose(List.of(failed, tf32conv), true, false, limit), "nothing qualifies");
        // what the log of the choices names as left out for the workspace limit: runnable candidates over it, ranked
        // ahead of the first that fits
        assertEquals("FFT_TILING 3.00 GiB", Cudnn.beyondLimit(ranked, limit, false, false, Cudnn.Direction.FORWARD));
        assertEquals("", Cudnn.beyondLimit(ranked, 4L << 30, false, false, Cudnn.Direction.FORWARD));
        assertEquals("", Cudnn.beyondLimit(List.of(failed, tf32, fma), 0, true, false, Cudnn.Direction.FORWARD), "failed and strict-excluded ones are not named");
        assertEquals("", Cudnn.beyondLimit(List.of(tf32, big), limit, false, false, Cudnn.Direction.FORWARD), "ranked after the choice: never preferred");
    }

    /** Deterministic only: results cuDNN reports as non-deterministic (atomic accumulation) are passed over. */
    @Test void deterministicOnlySkipsTheNonDeterministicResults() {
        Cudnn.Perf atomic = new Cudnn.Perf(0, 0, 0.2f, 0, 0, Cudnn.FMA_MATH), steady = perf(1, 0, 1 << 20, Cudnn.FMA_MATH);
        Cudnn.Perf atomicBig = new Cudnn.Perf(3, 0, 0.1f, 3L << 30, 0, Cudnn.FMA_MATH);
        List<Cudnn.Perf> ranked = List.of(atomicBig, atomic, steady);
        long limit = 1L << 30;
        assertSame(atomic, Cudnn.choose(ranked, true, false, limit), "the fastest that fits, whatever its determinism");
        assertSame(steady, Cudnn.choose(ranked, true, true, limit), "deterministic only");
        assertNull(Cudnn.choose(List.of(atomic), false, true, limit), "nothing deterministic");
        assertEquals("ALGO_3 3.00 GiB", Cudnn.beyondLimit(ranked, limit, true, false, Cudnn.Direction.BACKWARD_FILTER));
        assertEquals("", Cudnn.beyondLimit(ranked, limit, true, true, Cudnn.Direction.BACKWARD_FILTER), "a non-deterministic one is never preferred");
        assertEquals(false, Cudnn.deterministicFromProperty(), "off unless asked");
        System.setProperty("pulmo.cudnn.deterministic", "yes");
        try {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, Cudnn::deterministicFromProperty);
            assertEquals("system property pulmo.cudnn.deterministic must be true or false, got 'yes'", e.getMessage());
            System.setProperty("pulmo.cudnn.deterministic", "TRUE");
            assertEquals(true, Cudnn.deterministicFromProperty());
        } finally {
            System.clearProperty("pulmo.cudnn.deterministic");
        }
    }

    @Test void algoSettingAndNames() {
        String old = System.getProperty("pulmo.cudnn.algo");
        try {
            System.clearProperty("pulmo.cudnn.algo");
            assertEquals(Cudnn.AlgoSearch.FIND, Cudnn.AlgoSearch.fromProperty(), "find by default");
            System.setProperty("pulmo.cudnn.algo", "Heuristic");
            assertEquals(Cudnn.AlgoSearch.HEURISTIC, Cudnn.AlgoSearch.fromProperty());
            System.setProperty("pulmo.cudnn.algo", "fastest");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Cudnn.AlgoSearch::fromProperty);
            assertEquals("system property pulmo.cudnn.algo must be find or heuristic, got 'fastest'", e.getMessage());
        } finally {
            if (old == null) System.clearProperty("pulmo.cudnn.algo"); else System.setProperty("pulmo.cudnn.algo", old);
        }
        assertEquals(8, Cudnn.Direction.FORWARD.algoCount(), "CUDNN_CONVOLUTION_FWD_ALGO_COUNT");
        assertEquals(6, Cudnn.Direction.BACKWARD_DATA.algoCount(), "CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT");
        assertEquals(7, Cudnn.Direction.BACKWARD_FILTER.algoCount(), "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT");
        assertEquals("IMPLICIT_PRECOMP_GEMM", Cudnn.Direction.FORWARD.algoName(1));
        assertEquals("WINOGRAD_NONFUSED", Cudnn.Direction.BACKWARD_DATA.algoName(5));
        assertEquals("FFT_TILING", Cudnn.Direction.BACKWARD_FILTER.algoName(6));
        assertEquals("ALGO_9", Cudnn.Direction.FORWARD.algoName(9));
        assertEquals(1L << 30, Cudnn.workspaceLimitBytes(), "default workspace limit 1024 MiB");
    }
}

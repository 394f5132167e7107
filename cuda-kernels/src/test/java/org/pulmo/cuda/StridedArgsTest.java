package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Tensor;

/**
 * The strided walk of the elementwise kernels (common.cuh's strided_offsets) as {@link StridedArgs} models it: division
 * by a multiply and a shift is exact wherever the kernels use it, and the walk lands every linear index on the
 * element the views' own strides name. Runs without a GPU; the kernels themselves are held to the CPU by
 * GpuParityTest's strided cases.
 */
class StridedArgsTest {

    private static void checkDivide(int d, int u) {
        int[] ms = StridedArgs.magic(d);
        assertEquals(u / d, StridedArgs.divide(u, ms[0], ms[1]), () -> u + " / " + d + " (magic " + Integer.toUnsignedString(ms[0]) + ", shift " + ms[1] + ")");
    }

    @Test void divisionByMultiplyIsExactBelowTwoToThe31() {
        SplittableRandom r = new SplittableRandom(11);
        List<Integer> divisors = new ArrayList<>();
        for (int d = 1; d <= 3000; d++) divisors.add(d);
        for (int s = 2; s < 31; s++) { divisors.add((1 << s) - 1); divisors.add(1 << s); divisors.add((1 << s) + 1); }
        divisors.add(Integer.MAX_VALUE);
        divisors.add(56 * 56);
        divisors.add(336 * 56 * 56);   // DPN-92's first concatenation: channels x plane
        for (int i = 0; i < 2000; i++) divisors.add(1 + r.nextInt(Integer.MAX_VALUE));
        for (int d : divisors) {
            for (int u : new int[] {0, 1, d - 1, d, Math.max(0, d + 1), Integer.MAX_VALUE, Integer.MAX_VALUE - 1, Integer.MAX_VALUE - d + 1})
                if (u >= 0) checkDivide(d, u);
            for (int i = 0; i < 40; i++) checkDivide(d, r.nextInt(Integer.MAX_VALUE));
            for (int i = 0; i < 10; i++) {   // multiples of d and their neighbours, where a rounding error would show
                long m = (long) d * r.nextInt(Math.max(1, Integer.MAX_VALUE / d));
                for (long u = m - 1; u <= m + 1; u++) if (u >= 0 && u < Integer.MAX_VALUE) checkDivide(d, (int) u);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> StridedArgs.magic(0));
    }

    /** Row-major coordinates of linear index i in shape, dotted with strides, plus the offset: where element i of a view lives. */
    private static long direct(Tensor t, int[] shape, long i) {
        int lead = shape.length - t.dim();
        long off = t.offset();
        for (int d = shape.length - 1; d >= 0; d--) {
            long c = i % shape[d];
            i /= shape[d];
            if (d >= lead && t.shape()[d - lead] != 1) off += c * t.strides()[d - lead];
        }
        return off;
    }

    private static void checkWalk(String what, int[] shape, Tensor... ops) {
        int[] a = StridedArgs.of(shape, ops);
        long n = 1;
        for (int s : shape) n *= s;
        int[] wide = a.clone();
        wide[StridedArgs.NARROW] = 0;   // the 64-bit walk of element counts from 2^31 on, on the same views
        for (long i = 0; i < n; i++) {
            long[] got = StridedArgs.offsets(a, i), gotWide = StridedArgs.offsets(wide, i);
            for (int o = 0; o < ops.length; o++) {
                long want = direct(ops[o], shape, i);
                final long idx = i;
                final int op = o;
                assertEquals(want, got[o], () -> what + ": operand " + op + " at linear index " + idx);
                assertEquals(want, gotWide[o], () -> what + " (64-bit walk): operand " + op + " at linear index " + idx);
            }
        }
    }

    /** Operands over a shape, as the elementwise kernels get them. */
    private record Case(String what, int[] shape, Tensor[] ops) {}

    private static List<Case> cases() {
        org.pulmo.tensor.Rng rng = new org.pulmo.tensor.Rng(5);
        List<Case> cs = new ArrayList<>();
        Tensor base = Tensor.randn(rng, 2, 6, 5, 7);
        cs.add(new Case("contiguous triple", base.shape(), new Tensor[] {base, Tensor.randn(rng, 2, 6, 5, 7), Tensor.randn(rng, 2, 6, 5, 7)}));
        Tensor permuted = base.permute(0, 3, 1, 2);   // [2, 7, 6, 5], really strided
        cs.add(new Case("permuted into contiguous", permuted.shape(), new Tensor[] {permuted, Tensor.randn(rng, 2, 7, 6, 5)}));
        Tensor slice = Tensor.randn(rng, 3, 11, 5, 7).narrow(1, 4, 6).narrow(0, 1, 2);   // a concatenation's channel slice
        cs.add(new Case("channel slice", slice.shape(), new Tensor[] {base, slice}));
        Tensor t = base.transpose(2, 3);   // [2, 6, 7, 5]
        cs.add(new Case("transpose with a broadcast bias", t.shape(), new Tensor[] {t, Tensor.randn(rng, 1, 6, 1, 1), Tensor.randn(rng, 2, 6, 7, 5)}));
        cs.add(new Case("broadcast row", new int[] {4, 9}, new Tensor[] {Tensor.randn(rng, 9), Tensor.randn(rng, 4, 1), Tensor.randn(rng, 4, 9)}));
        Tensor odd = Tensor.randn(rng, 3, 13, 17).narrow(2, 3, 11).permute(2, 0, 1).narrow(0, 1, 9);   // [9, 3, 13]
        cs.add(new Case("narrowed, permuted, narrowed again", odd.shape(), new Tensor[] {odd, Tensor.randn(rng, 9, 3, 13)}));
        return cs;
    }

    @Test void theWalkReachesTheElementsTheViewsName() {
        for (Case c : cases()) checkWalk(c.what, c.shape, c.ops);
    }

    /**
     * From 2^31 elements on the walk is 64-bit, and dims are not merged past an int (before, a broadcast of 2^32 elements
     * merged into one wrapped dim and threw); the offsets still land where the views say. Broadcast views of small
     * tensors: no large memory needed.
     */
    @Test void countsFrom2To31TakeThe64BitWalk() {
        int[] big = {4, 1 << 30};
        int[] flat = StridedArgs.of(big, Tensor.zeros(1, 1).expand(big));
        assertEquals(0, flat[StridedArgs.NARROW], "2^32 elements");
        assertEquals(2, flat[0], "not merged into one dim of 2^32");
        assertEquals(0, StridedArgs.offsets(flat, (1L << 32) - 1)[0]);
        int[] shape = {2, 1 << 15, 1 << 16};
        Tensor rows = Tensor.zeros(1, 1 << 15, 1).expand(shape), cols = Tensor.zeros(1, 1, 1 << 16).expand(shape);
        int[] args = StridedArgs.of(shape, rows, cols);
        assertEquals(0, args[StridedArgs.NARROW], "2^32 elements");
        for (long i : new long[] {0, 1, (1L << 16) - 1, 1L << 16, (1L << 31) - 1, 1L << 31, (1L << 31) + 12345, (1L << 32) - 1}) {
            long[] off = StridedArgs.offsets(args, i);
            assertEquals((i >> 16) & ((1 << 15) - 1), off[0], () -> "row of element " + i);
            assertEquals(i & ((1 << 16) - 1), off[1], () -> "column of element " + i);
        }
    }

    @Test void theLayoutIsTheStructs() {
        assertEquals(53, StridedArgs.LENGTH, "common.cuh's Strided3: 1 + 8 + 3*8 + 3 + 8 + 8 + 1 ints");
        int[] a = StridedArgs.of(new int[] {2, 3}, Tensor.zeros(2, 3));
        assertEquals(1, a[0], "a contiguous operand coalesces to one dim");
        assertEquals(6, a[StridedArgs.SHAPE]);
        assertEquals(1, a[StridedArgs.NARROW]);
        Tensor t = Tensor.zeros(3, 7).transpose(0, 1);   // [7, 3], strides (1, 7): two dims
        int[] b = StridedArgs.of(t.shape(), t);
        assertEquals(2, b[0]);
        assertArrayEquals(StridedArgs.magic(3), new int[] {b[StridedArgs.MAGIC + 1], b[StridedArgs.SHIFT + 1]}, "the inner dim's divisor");
        assertArrayEquals(new int[] {0, 0}, new int[] {b[StridedArgs.MAGIC], b[StridedArgs.SHIFT]}, "the outermost is never divided by");
    }

    /**
     * The kernels read exactly the bytes the Java side passes: every Strided3 parameter in the fatbin's PTX is
     * {@link StridedArgs#LENGTH} ints (a struct grown in common.cuh but not here would make the driver copy the launch
     * parameter past the Java array's end: garbage shapes, no error).
     */
    @Test void everyStridedParameterInTheBuiltKernelsIsTheArraysSize() throws Exception {
        String why = CudaRuntime.kernelsReason();
        if ("true".equals(System.getenv("CI")) && why != null) org.junit.jupiter.api.Assertions.fail("CI must build the kernels: " + why);
        org.junit.jupiter.api.Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        String ptx;
        try (java.io.InputStream in = CudaRuntime.class.getResourceAsStream(CudaRuntime.FATBIN)) {
            ptx = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
        }
        java.util.Map<String, Integer> structs = new java.util.TreeMap<>();
        var m = java.util.regex.Pattern.compile("\\.param \\.align 4 \\.b8 ((ew_\\w+)_param_\\d+)\\[(\\d+)]").matcher(ptx);
        while (m.find()) structs.put(m.group(1), Integer.parseInt(m.group(3)));
        for (String k : new String[] {"ew_unary", "ew_binary", "ew_copy", "ew_fill", "ew_add_scalar", "ew_axpy", "ew_add_relu"})
            assertEquals(true, structs.keySet().stream().anyMatch(p -> p.startsWith(k + "_param_")), () -> k + " takes no Strided3 in the PTX: " + structs);
        structs.forEach((param, bytes) -> assertEquals(4 * StridedArgs.LENGTH, bytes, () -> param + " is " + bytes + " bytes in the PTX"));
    }

    /**
     * The index code the kernels run (common.cuh's strided_offsets and idx_div, compiled for the host by nvcc: the
     * same source text) lands every linear index of every case on the element the views name, in its 32-bit walk
     * with the magic numbers and in its 64-bit one, and divides like Java.
     */
    @Test void theKernelsIndexCodeCompiledForTheHostAgrees(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path harness = HostNvcc.compile(dir, "strided_harness", """
            #include "common.cuh"
            #include <cstdio>
            static_assert(sizeof(Strided3) == %d * sizeof(int), "Strided3 is StridedArgs.LENGTH ints");
            // stdin: "W" + the struct's ints + a count + that many linear indices; or "D i d". stdout: offsets; quotients.
            int main() {
                char kind[4];
                while (scanf("%%3s", kind) == 1) {
                    if (kind[0] == 'W') {
                        Strided3 L;
                        int* a = (int*)&L;
                        for (int k = 0; k < (int)(sizeof(Strided3) / sizeof(int)); k++) if (scanf("%%d", &a[k]) != 1) return 2;
                        long long n, i, off[3];
                        if (scanf("%%lld", &n) != 1) return 2;
                        for (long long k = 0; k < n; k++) {
                            if (scanf("%%lld", &i) != 1) return 2;
                            strided_offsets(L, i, off);
                            printf("%%lld %%lld %%lld\\n", off[0], off[1], off[2]);
                        }
                    } else {
                        long long i, d;
                        if (scanf("%%lld %%lld", &i, &d) != 2) return 2;
                        printf("%%lld\\n", idx_div(i, d));
                    }
                }
                return 0;
            }
            """.formatted(StridedArgs.LENGTH));

        StringBuilder in = new StringBuilder();
        List<long[]> want = new ArrayList<>();   // per output line: the expected offsets (walks) or quotient (divisions)
        List<String> what = new ArrayList<>();
        for (Case c : cases()) for (boolean narrow : new boolean[] {true, false}) {
            int[] a = StridedArgs.of(c.shape, c.ops);
            if (!narrow) a[StridedArgs.NARROW] = 0;
            long n = 1;
            for (int s : c.shape) n *= s;
            in.append("W");
            for (int v : a) in.append(' ').append(v);
            in.append(' ').append(n);
            for (long i = 0; i < n; i++) {
                in.append(' ').append(i);
                long[] w = new long[3];
                for (int o = 0; o < c.ops.length; o++) w[o] = direct(c.ops[o], c.shape, i);
                for (int o = c.ops.length; o < 3; o++) w[o] = a[StridedArgs.OFFSET + o];   // unused operands: their offset field
                want.add(w);
                what.add(c.what + (narrow ? "" : " (64-bit walk)") + ", linear index " + i);
            }
            in.append('\n');
        }
        SplittableRandom r = new SplittableRandom(3);
        for (int k = 0; k < 2000; k++) {
            long i = k % 2 == 0 ? r.nextLong(1L << 31) : r.nextLong(1L << 40), d = 1 + (k % 3 == 0 ? r.nextInt(7) : r.nextInt(Integer.MAX_VALUE));
            in.append("D ").append(i).append(' ').append(d).append('\n');
            want.add(new long[] {i / d});
            what.add("idx_div(" + i + ", " + d + ")");
        }
        List<String> lines = HostNvcc.run(harness, in.toString());
        assertEquals(want.size(), lines.size(), "one output line per index and per division");
        for (int k = 0; k < lines.size(); k++) {
            long[] got = java.util.Arrays.stream(lines.get(k).trim().split(" ")).mapToLong(Long::parseLong).toArray();
            assertArrayEquals(want.get(k), got, what.get(k));
        }
    }
}

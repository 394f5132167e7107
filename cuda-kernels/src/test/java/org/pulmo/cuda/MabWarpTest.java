package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.ops.Mab;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The warp-per-plane MAB kernels (mab.cu, version 3) without a GPU: their per-lane parts, compiled for the host by nvcc
 * from mab.cu itself, run the 32 lanes of a warp one after another, with the lanes' partial results merged in the order
 * of the kernels' xor shuffles, on planes of every size class (K = 2, 8, 32 values a lane) and at its edges, plus peaked
 * planes (the backward's dominant-position path); forward and backward against Mab's float64 references, to the
 * tolerances GpuParityTest holds the GPU to. Output arrays start as NaN, so a position no lane writes fails. The
 * shuffles themselves (common.cuh's warp_sum and warp_online) are exercised by GpuParityTest on a GPU.
 */
class MabWarpTest {

    private static final String HARNESS = """
        #include "mab.cu"
        #include <cstdio>
        #include <cmath>
        // stdin per plane: "F K hw a[hw] b[hw]" -> lse, y[hw];  "B K hw L a[hw] b[hw] g[hw]" -> da[hw], db[hw] (one line each)
        template <int K> void forward(int hw, const float* a, const float* b, float* y, float* lse) {
            static MabLane<K> v[32];
            float m[32], s[32];
            for (int l = 0; l < 32; l++) mab_lane_forward_load<K>(hw, l, a, b, v[l], m[l], s[l]);
            for (int o = 16; o > 0; o >>= 1) {     // warp_online: each lane merges its partner's state, all at once
                float m2[32], s2[32];
                for (int l = 0; l < 32; l++) { m2[l] = m[l ^ o]; s2[l] = s[l ^ o]; }
                for (int l = 0; l < 32; l++) online_merge(m[l], s[l], m2[l], s2[l]);
            }
            for (int l = 0; l < 32; l++) mab_lane_forward_store<K>(hw, l, v[l], m[l], s[l], y);
            *lse = m[0] + logf(s[0]);
        }
        template <int K> void backward(int hw, float L, const float* a, const float* b, const float* g, float* da, float* db) {
            static MabLane<K> v[32];
            float sums[32][3];
            for (int l = 0; l < 32; l++) mab_lane_backward_load<K>(hw, l, a, b, g, L, v[l], sums[l]);
            for (int j = 0; j < 3; j++)
                for (int o = 16; o > 0; o >>= 1) {  // warp_sum
                    float x[32];
                    for (int l = 0; l < 32; l++) x[l] = sums[l ^ o][j];
                    for (int l = 0; l < 32; l++) sums[l][j] += x[l];
                }
            for (int l = 0; l < 32; l++) mab_lane_backward_store<K>(hw, l, v[l], L, sums[l], da, db);
        }
        static float a[4096], b[4096], g[4096], y[4096], z[4096];
        static int read(float* p, int n) { for (int i = 0; i < n; i++) if (scanf("%f", &p[i]) != 1) return 0; return 1; }
        static void print(const float* p, int n) { for (int i = 0; i < n; i++) printf(i ? " %.9g" : "%.9g", p[i]); printf("\\n"); }
        int main() {
            char kind[4];
            int K, hw;
            while (scanf("%3s %d %d", kind, &K, &hw) == 3) {
                for (int i = 0; i < hw; i++) y[i] = z[i] = NAN;
                if (kind[0] == 'F') {
                    if (!read(a, hw) || !read(b, hw)) return 2;
                    float lse = NAN;
                    if (K == 2) forward<2>(hw, a, b, y, &lse); else if (K == 8) forward<8>(hw, a, b, y, &lse); else forward<32>(hw, a, b, y, &lse);
                    print(&lse, 1);
                    print(y, hw);
                } else {
                    float L;
                    if (scanf("%f", &L) != 1 || !read(a, hw) || !read(b, hw) || !read(g, hw)) return 2;
                    if (K == 2) backward<2>(hw, L, a, b, g, y, z); else if (K == 8) backward<8>(hw, L, a, b, g, y, z); else backward<32>(hw, L, a, b, g, y, z);
                    print(y, hw);
                    print(z, hw);
                }
            }
            return 0;
        }
        """;

    private static void append(StringBuilder in, float... v) {
        for (float x : v) in.append(' ').append(x);
    }

    private static float[] parse(String line) {
        String[] p = line.trim().split(" ");
        float[] v = new float[p.length];
        for (int i = 0; i < p.length; i++)   // C's printf writes nan, -nan, inf
            v[i] = p[i].contains("nan") ? Float.NaN : p[i].contains("inf") ? (p[i].startsWith("-") ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY)
                : Float.parseFloat(p[i]);
        return v;
    }

    @Test void warpKernelsLaneByLaneMatchTheReference(@TempDir Path dir) throws Exception {
        Path harness = HostNvcc.compile(dir, "mab_warp_harness", HARNESS);
        Rng rng = new Rng(31);
        record Plane(String what, float[] a, float[] b, float[] g, float[][] fwd, float[][] bwd) {}
        List<Plane> planes = new ArrayList<>();
        StringBuilder in = new StringBuilder();
        for (int hw : new int[] {1, 9, 31, 32, 33, 49, 63, 64, 65, 196, 255, 256, 257, 784, 1000, 1024})
            for (boolean peaked : new boolean[] {false, true}) {
                float[] a = Tensor.randn(rng, hw).toArray(), b = Tensor.randn(rng, hw).toArray(), g = Tensor.randn(rng, hw).toArray();
                if (peaked) {   // one position holds nearly all of the softmax: the backward's dominant-position sums
                    for (int i = 0; i < hw; i++) a[i] = b[i] + 0.1f * a[i];
                    a[hw / 3] = b[hw / 3] + 3.5f;
                }
                int k = MabKernels.warpShare(hw);
                float[][] fwd = Mab.referenceForward(a, b, 1, hw), bwd = Mab.referenceBackward(a, b, g, 1, hw);
                planes.add(new Plane("hw " + hw + (peaked ? " peaked" : "") + " (K " + k + ")", a, b, g, fwd, bwd));
                in.append("F ").append(k).append(' ').append(hw);
                append(in, a);
                append(in, b);
                in.append("\nB ").append(k).append(' ').append(hw).append(' ').append(fwd[1][0]);
                append(in, a);
                append(in, b);
                append(in, g);
                in.append('\n');
            }
        List<String> out = HostNvcc.run(harness, in.toString());
        assertEquals(4 * planes.size(), out.size(), "four lines per plane");
        Mismatches m = new Mismatches("warpKernelsLaneByLaneMatchTheReference");
        for (int p = 0; p < planes.size(); p++) {
            Plane pl = planes.get(p);
            m.close(pl.fwd[1], parse(out.get(4 * p)), 1e-5, 1e-4, "lse " + pl.what);
            m.close(pl.fwd[0], parse(out.get(4 * p + 1)), 1e-5, 1e-4, "F_am " + pl.what);
            m.close(pl.bwd[0], parse(out.get(4 * p + 2)), 1e-5, 1e-4, "dF_rei " + pl.what);
            m.close(pl.bwd[1], parse(out.get(4 * p + 3)), 1e-5, 1e-4, "dF_rem " + pl.what);
        }
        m.assertNone();
    }
}

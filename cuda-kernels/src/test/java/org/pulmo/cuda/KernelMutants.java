package org.pulmo.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.pulmo.testing.Children;
import org.pulmo.testing.Children.Child;
import org.pulmo.testing.TestFiles;

/**
 * Would the gpu-tagged kernel tests notice a bug in a kernel? Plants one small bug at a time in a copy of
 * {@code src/main/cuda} (the table below: a sign, an index, a tie sent to the last element, NaN handling, a missing
 * barrier, a float accumulator for a double one, ...), builds the emulated GPU from it and runs {@link GpuParityTest}
 * and {@link DeviceTransferGradTest} there: each bug must fail a test, make the emulator report an error (a write
 * outside an allocation, a barrier that cannot open, a race: every emulator here is built with its race check, which
 * reports two threads of a launch touching one word of device memory, one writing, with no barrier between, such as a
 * read-modify-write that should be an atomic), or end the test JVM early (a crash, or a hang killed at the time
 * limit). A bug no test notices runs again under the emulator's other schedule, where missing barriers show. About 24 s
 * a bug on two cores with the race check (the whole table in about half an hour). {@code scripts/kernel-mutants.sh} builds the test classes
 * and runs this main:
 * <pre>
 *   scripts/kernel-mutants.sh               every bug of the table but those no test can notice here (below)
 *   scripts/kernel-mutants.sh R16 P01       the bugs whose names start with these (those too)
 *   scripts/kernel-mutants.sh --list        the table
 *   scripts/kernel-mutants.sh --check       whether every bug's text is still in its kernel, exactly once
 * </pre>
 * A bug whose text is no longer in its kernel exactly once (the kernel has changed) is stale and not run; one whose
 * planted sources do not compile is not built; neither says anything of the tests, and the exit status is 0 only when
 * every chosen bug was built and noticed, but for those the table expects to survive: the equivalent ones.
 * {@code KernelMutantsTableTest} checks the table against the kernels in the
 * ordinary test run, and {@link EmulatedGpuLaneTest} plants three of its bugs itself. {@code EMU_DIR} (default
 * {@code /tmp/pulmo-kernel-mutants}) is where the emulators are built; each bug's test output is kept in its
 * {@code logs} folder.
 */
public final class KernelMutants {
    private KernelMutants() {}

    /**
     * One bug: in kernel source {@code file}, the text {@code from} (which must stand there exactly once) becomes
     * {@code to}. {@code unseen} says why no test on the emulated GPU can notice it, for the bugs that none can: it
     * changes nothing the host can ask for (equivalent). Those run only when named, and their surviving is expected;
     * null for the others.
     */
    record Bug(String name, String file, String what, String from, String to, String unseen) {
        boolean expectedToSurvive() { return unseen != null; }
    }

    private static Bug bug(String name, String file, String what, String from, String to) { return new Bug(name, file, what, from, to, null); }

    private static Bug equivalent(String name, String file, String what, String why, String from, String to) {
        return new Bug(name, file, what, from, to, "equivalent: " + why);
    }


    static final List<Bug> BUGS = List.of(
        bug("E01", "elementwise.cu", "SIGMOID wrong for negative x", "expf(x) / (1.f + expf(x));", "expf(x) / (2.f + expf(x));"),
        bug("E02", "elementwise.cu", "SIGN of NaN is 0", "(x < 0.f ? -1.f : x);", "(x < 0.f ? -1.f : 0.f);"),
        bug("E03", "elementwise.cu", "STEP of 0 is 1", "case 10: return x > 0.f ? 1.f : 0.f;", "case 10: return x >= 0.f ? 1.f : 0.f;"),
        bug("E04", "elementwise.cu", "POW's operands swapped", "return powf(x, alpha);", "return powf(alpha, x);"),
        bug("E05", "elementwise.cu", "ADD_SCALAR subtracts", "return x + alpha;", "return x - alpha;"),
        bug("E06", "elementwise.cu", "GE false on ties", "case 8: return a >= b ? 1.f : 0.f;", "case 8: return a > b ? 1.f : 0.f;"),
        bug("E07", "elementwise.cu", "ReLU's backward passes the gradient at an output of 0",
            "case 10: return b > 0.f ? a : 0.f;", "case 10: return b >= 0.f ? a : 0.f;"),
        bug("E08", "elementwise.cu", "MIN drops NaN",
            "__device__ __forceinline__ float jmin(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fminf(a, b); }",
            "__device__ __forceinline__ float jmin(float a, float b) { return fminf(a, b); }"),
        bug("E09", "elementwise.cu", "axpy overwrites instead of adding",
            "dst[off[0]] += alpha * src[off[1]];", "dst[off[0]] = alpha * src[off[1]];"),
        bug("E10", "elementwise.cu", "add+ReLU reads b with a's strides",
            "y[off[2]] = jmax(a[off[0]] + b[off[1]], 0.f);", "y[off[2]] = jmax(a[off[0]] + b[off[0]], 0.f);"),
        bug("E11", "common.cuh", "strided walk: operand 2 takes operand 1's strides",
            "off[2] += (long long)c * L.stride[2][d];", "off[2] += (long long)c * L.stride[1][d];"),
        bug("E12", "common.cuh", "strided walk skips dim 1",
            "for (int d = L.rank - 1; d > 0; d--) {\n            unsigned", "for (int d = L.rank - 1; d > 1; d--) {\n            unsigned"),
        bug("E13", "common.cuh", "strided walk: operand 1's outer stride is operand 0's",
            "off[1] += i * L.stride[1][0];", "off[1] += i * L.stride[0][0];"),
        bug("E14", "elementwise.cu", "fill writes 0", "dst[off[0]] = v;", "dst[off[0]] = 0.f * v;"),
        bug("E15", "elementwise.cu", "DIV's operands swapped", "case 3: return a / b;", "case 3: return b / a;"),
        bug("E16", "elementwise.cu", "RECIPROCAL off by a small shift", "case 9: return 1.f / x;", "case 9: return 1.f / (x + 1e-3f);"),
        bug("E17", "elementwise.cu", "ReLU is the identity", "case 5: return jmax(x, 0.f);", "case 5: return x;"),
        bug("E18", "elementwise.cu", "elementwise loops run one element past the end",
            "i < (n); i += (long long)gridDim.x * blockDim.x)", "i <= (n); i += (long long)gridDim.x * blockDim.x)"),
        bug("E19", "elementwise.cu", "in-place scalar add overwrites instead of adding", "dst[off[0]] += v;", "dst[off[0]] = v;"),
        bug("R01", "reduce_softmax.cu", "row sum adds warp 0's part again in idle lanes",
            "acc = lane < nw ? sd[lane] : 0.0;", "acc = lane < nw ? sd[lane] : sd[0];"),
        bug("R02", "reduce_softmax.cu", "row max/min ignore NaN", "nan |= v != v;", "nan |= false;"),
        bug("R03", "reduce_softmax.cu", "argmax ties within a warp go to the last index",
            "(v2 == best && i2 < bi));\n        if (better) { best = v2; bi = i2; }\n    }\n    int lane",
            "(v2 == best && i2 > bi));\n        if (better) { best = v2; bi = i2; }\n    }\n    int lane"),
        bug("R04", "reduce_softmax.cu", "argmax ties within a thread go to the last index",
            "if (v == v && (bi < 0 || (isMax ? v > best : v < best))) { best = v; bi = i; }",
            "if (v == v && (bi < 0 || (isMax ? v >= best : v <= best))) { best = v; bi = i; }"),
        bug("R17", "reduce_softmax.cu", "argmax takes a NaN that comes first in a thread's elements",
            "if (v == v && (bi < 0 || (isMax ? v > best : v < best))) { best = v; bi = i; }",
            "if (bi < 0 || (isMax ? v > best : v < best)) { best = v; bi = i; }"),
        bug("R18", "reduce_softmax.cu", "argmax of a row of NaN gives index -1", "y[blockIdx.x] = bi < 0 ? NAN : (float)bi;",
            "y[blockIdx.x] = (float)bi;"),
        bug("R05", "reduce_softmax.cu", "softmax without subtracting the max",
            "for (int d = 0; d < D; d++) m = fmaxf(m, x[base + (long long)d * inner]);", "m = 0.f;"),
        bug("R06", "reduce_softmax.cu", "log-softmax backward sign", "dx[k] = log ? dy[k] - expf(y[k]) * s", "dx[k] = log ? dy[k] + expf(y[k]) * s"),
        bug("R07", "reduce_softmax.cu", "softmax backward sums dy, not dy * y", "s += log ? dy[k] : dy[k] * y[k];", "s += log ? dy[k] : dy[k];"),
        bug("R08", "reduce_softmax.cu", "weighted cross-entropy divides by the row count", "rowW[row] = w;", "rowW[row] = 1.f;"),
        bug("R09", "reduce_softmax.cu", "cross-entropy's log-sum-exp misses the last class",
            "for (int j = lane; j < C; j += 32) online_merge(m, s, xr[j], 1.f);\n    for (int o = 16; o > 0; o >>= 1) {\n        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);\n        online_merge(m, s, m2, s2);\n    }\n    if (lane == 0)",
            "for (int j = lane; j < C - 1; j += 32) online_merge(m, s, xr[j], 1.f);\n    for (int o = 16; o > 0; o >>= 1) {\n        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);\n        online_merge(m, s, m2, s2);\n    }\n    if (lane == 0)"),
        bug("R10", "reduce_softmax.cu", "cross-entropy backward divides by N, not the weight sum",
            "/ wsum[0], inv = 1.f / s;", "/ N, inv = 1.f / s;"),
        bug("R11", "reduce_softmax.cu", "cross-entropy sums only the first 256 rows",
            "for (int i = threadIdx.x; i < N; i += blockDim.x) { l += rowLoss[i]; w += rowW[i]; }",
            "for (int i = threadIdx.x; i < N && i < 256; i += blockDim.x) { l += rowLoss[i]; w += rowW[i]; }"),
        bug("R12", "reduce_softmax.cu", "cosine clamps the squared norm at eps",
            "float na = sqrtf(fmaxf(aa, eps * eps)), nb = sqrtf(fmaxf(bb, eps * eps));",
            "float na = sqrtf(fmaxf(aa, eps)), nb = sqrtf(fmaxf(bb, eps));"),
        bug("R13", "reduce_softmax.cu", "cosine backward: db's norm term",
            "kb = nb > eps ? c / (nb * nb) : 0.f", "kb = nb > eps ? c / (na * nb) : 0.f"),
        bug("R14", "reduce_softmax.cu", "cosine backward not divided by the batch", "float g = dc[0] / N, c", "float g = dc[0], c"),
        bug("R15", "reduce_softmax.cu", "cosine backward ignores the clamp",
            "float ka = na > eps ? c / (na * na) : 0.f,", "float ka = c / (na * na),"),
        bug("R16", "reduce_softmax.cu", "row sums accumulate in float",
            "for (long long i = threadIdx.x; i < cols; i += blockDim.x) acc += row[i];",
            "for (long long i = threadIdx.x; i < cols; i += blockDim.x) acc = (float)(acc + row[i]);"),
        bug("P01", "pool_norm_index.cu", "max-pool argmax: ties go to the last",
            "if (v > best || bi < 0 || v != v)", "if (v >= best || bi < 0 || v != v)"),
        bug("P02", "pool_norm_index.cu", "max-pool skips the last input row", "a < min(h0 + kH, H); a++)", "a < min(h0 + kH, H - 1); a++)"),
        bug("P03", "pool_norm_index.cu", "max-pool ignores NaN", "if (v > best || bi < 0 || v != v)", "if (v > best || bi < 0)"),
        bug("P04", "pool_norm_index.cu", "max-pool backward overwrites where windows overlap",
            "atomicAdd(dx + pl * planeIn + (int)arg[o], dy[o]);", "dx[pl * planeIn + (int)arg[o]] = dy[o];"),
        bug("P05", "pool_norm_index.cu", "batch-norm variance unbiased", "var[c] = (float)(sq / M);", "var[c] = (float)(sq / (M - 1));"),
        bug("P06", "pool_norm_index.cu", "batch-norm mean reads N and C swapped",
            "        acc += x[(n * C + c) * S + s];", "        acc += x[(c * N + n) * S + s];"),
        bug("P07", "pool_norm_index.cu", "batch-norm shift without the weight",
            "float t = (bias ? bias[c] : 0.f) - mean[c] * k;", "float t = (bias ? bias[c] : 0.f) - mean[c] * invStd[c];"),
        bug("P08", "pool_norm_index.cu", "batch-norm weight gradient not centred", "b += g * (x[e] - mu);", "b += g * x[e];"),
        bug("P09", "pool_norm_index.cu", "batch-norm dx: M - 1 for M", "dx[e] = k * ((float)M * dy[e]", "dx[e] = k * ((float)(M - 1) * dy[e]"),
        bug("P10", "pool_norm_index.cu", "gather's outer index divides by the data's dim",
            "o = idx_div(q, Di);\n        out[e]", "o = idx_div(q, D);\n        out[e]"),
        bug("P11", "pool_norm_index.cu", "scatter-add overwrites repeated indices",
            "atomicAdd(out + (o * D + (long long)index[e]) * inner + i, src[e]);", "out[(o * D + (long long)index[e]) * inner + i] = src[e];"),
        bug("P12", "pool_norm_index.cu", "batch-norm statistics without the barrier between passes",
            "    double mu = total / M;\n    __syncthreads();\n", "    double mu = total / M;\n"),
        bug("P13", "pool_norm_index.cu", "batch-norm dx without the weight", "k = (weight ? weight[c] : 1.f) * is / M;", "k = is / M;"),
        bug("P14", "pool_norm_index.cu", "max-pool backward adds without an atomic (a race: the emulator's race check)",
            "atomicAdd(dx + pl * planeIn + (int)arg[o], dy[o]);", "dx[pl * planeIn + (int)arg[o]] += dy[o];"),
        bug("P15", "pool_norm_index.cu", "scatter-add adds without an atomic (a race: the emulator's race check)",
            "atomicAdd(out + (o * D + (long long)index[e]) * inner + i, src[e]);", "out[(o * D + (long long)index[e]) * inner + i] += src[e];"),
        bug("M01", "mab.cu", "MAB forward, uncached planes: D = a - b",
            "else { bv = pb[i]; float t = pa[i] - bv; dv = sq_rn(t); }", "else { bv = pb[i]; float t = pa[i] - bv; dv = t; }"),
        bug("M02", "mab.cu", "MAB backward, dominant position: sign",
            "float dD = p * (p > DOMINANT ? dp * rest - restDot : dp - dot);", "float dD = p * (p > DOMINANT ? dp * rest + restDot : dp - dot);"),
        bug("M03", "mab.cu", "MAB backward (block): db sign", "db[base + i] = gv * p - dd;", "db[base + i] = gv * p + dd;"),
        bug("M04", "mab.cu", "MAB backward (warp): db sign", "pdb[i] = v.g[k] * p - dd;", "pdb[i] = v.g[k] * p + dd;"),
        bug("M05", "mab.cu", "MAB backward (warp) without the dominant-position form",
            "float dD = p * (p > DOMINANT ? dp * sums[1] - sums[2] : dp - sums[0]);", "float dD = p * (dp - sums[0]);"),
        bug("M06", "mab.cu", "MAB forward (warp): each lane its own softmax", "    warp_online(m, s);\n", "\n"),
        bug("M07", "mab.cu", "MAB constant-map backward: plane 0's lse everywhere",
            "db[i] = expf(sq_rn(t) - lse[idx_div(i, hw)]) * g[i];", "db[i] = expf(sq_rn(t) - lse[0]) * g[i];"),
        bug("M08", "mab.cu", "MAB naive: lse without the log",
            "lse[blockIdx.x] = m + logf(s);\n}\n\n// y = P", "lse[blockIdx.x] = m + s;\n}\n\n// y = P"),
        bug("M09", "mab.cu", "MAB backward, uncached planes: a - b's sign",
            "else { bv = pb[i]; gv = pg[i]; t = pa[i] - bv; }", "else { bv = pb[i]; gv = pg[i]; t = bv - pa[i]; }"),
        bug("M10", "mab.cu", "MAB backward (block) without the dominant-position form",
            "float dD = p * (p > DOMINANT ? dp * rest - restDot : dp - dot);", "float dD = p * (dp - dot);"),
        bug("M11", "mab.cu", "MAB forward (warp): lse slightly off",
            "    if (lane == 0) lse[plane] = m + logf(s);", "    if (lane == 0) lse[plane] = m + logf(s) + 1e-3f;"),
        bug("M12", "mab.cu", "MAB backward (warp): two sums per lane only",
            "for (int j = 0; j < 3; j++) sums[j] = warp_sum(sums[j]);", "for (int j = 0; j < 1; j++) sums[j] = warp_sum(sums[j]);"),
        bug("S01", "se_fab.cu", "SE squeeze divides by hw + 1",
            "if (threadIdx.x == 0) z[blockIdx.x] = acc / hw;", "if (threadIdx.x == 0) z[blockIdx.x] = acc / (hw + 1);"),
        bug("S02", "se_fab.cu", "SE scale: a plane's last element takes the next plane's scale",
            "y[i] = x[i] * s[idx_div(i, hw)];", "y[i] = x[i] * s[idx_div(i + 1, hw) < n / hw ? idx_div(i + 1, hw) : idx_div(i, hw)];"),
        bug("S03", "se_fab.cu", "SE scale backward: ds times the scale",
            "acc += g * x[base + i];\n    }\n    acc = block_sum(acc, ss);\n    if (threadIdx.x == 0) ds",
            "acc += g * x[base + i] * sc;\n    }\n    acc = block_sum(acc, ss);\n    if (threadIdx.x == 0) ds"),
        bug("S04", "se_fab.cu", "FAB squeeze: ties between warps go to the last",
            "(v2 == best && i2 < bi)) { best = v2; bi = i2; }\n        }\n        if (lane == 0) { avg",
            "(v2 == best && i2 > bi)) { best = v2; bi = i2; }\n        }\n        if (lane == 0) { avg"),
        bug("S05", "se_fab.cu", "FAB squeeze backward: average's gradient not divided", "du[i] = dAvg[pl] / hw + ", "du[i] = dAvg[pl] + "),
        bug("S06", "se_fab.cu", "FAB fusion ignores the second branch",
            "y[i] = al * x1[i] + (1.f - al) * x2[i];", "y[i] = al * x1[i] + (1.f - al) * x1[i];"),
        bug("S07", "se_fab.cu", "FAB fusion backward: dz2 sign", "dz2[blockIdx.x] = -dz;", "dz2[blockIdx.x] = dz;"),
        bug("S08", "se_fab.cu", "FAB's alpha of the wrong branch", "return 1.f / (1.f + expf(z2 - z1));", "return 1.f / (1.f + expf(z1 - z2));"),
        bug("S09", "se_fab.cu", "FAB fusion backward: dx2 weight", "dx2[base + i] = (1.f - al) * g;", "dx2[base + i] = al * g;"),
        bug("G01", "sgd.cu", "fused SGD (all parameters): dampening on the first step",
            "float bi = firstStep ? gi : momentum * b[i] + (1.f - dampening) * gi;\n            b[i] = bi;\n            gi = nesterov ? gi + momentum * bi : bi;\n        }\n        p[i] -= lr * gi;\n    }\n}\n\n// One",
            "float bi = firstStep ? (1.f - dampening) * gi : momentum * b[i] + (1.f - dampening) * gi;\n            b[i] = bi;\n            gi = nesterov ? gi + momentum * bi : bi;\n        }\n        p[i] -= lr * gi;\n    }\n}\n\n// One"),
        bug("G02", "sgd.cu", "fused SGD (all parameters): Nesterov without the gradient",
            "gi = nesterov ? gi + momentum * bi : bi;\n        }\n        p[i] -= lr * gi;\n    }\n}\n\n// One",
            "gi = nesterov ? momentum * bi : bi;\n        }\n        p[i] -= lr * gi;\n    }\n}\n\n// One"),
        bug("G03", "sgd.cu", "fused SGD: each chunk's last element skipped",
            "end = min(start + (long long)SGD_CHUNK, sizes[t]);", "end = min(start + (long long)SGD_CHUNK - 1, sizes[t]);"),
        bug("G04", "sgd.cu", "SGD (one parameter): weight decay sign",
            "if (weightDecay != 0.f) gi += weightDecay * p[i];", "if (weightDecay != 0.f) gi -= weightDecay * p[i];"),
        bug("G05", "sgd.cu", "fused SGD: every parameter takes the first one's weight decay",
            "float wd = weightDecay[t];", "float wd = weightDecay[0];"),
        bug("K01", "sgemm.cu", "tiled SGEMM writes one column past the edge", "if (j >= N) continue;", "if (j > N) continue;"),
        equivalent("K02", "sgemm.cu", "tiled SGEMM ignores beta", "the host passes beta 0 only",
            "*p = alpha * acc[r][c] + (beta == 0.f ? 0.f : beta * *p);", "*p = alpha * acc[r][c] + (beta == 0.f ? 0.f : *p);"),
        bug("K03", "sgemm.cu", "naive SGEMM: every batch reads B's first matrix",
            "A += blockIdx.z * strideA; B += blockIdx.z * strideB; C += blockIdx.z * strideC;\n    float acc",
            "A += blockIdx.z * strideA; C += blockIdx.z * strideC;\n    float acc"),
        bug("K04", "sgemm.cu", "tiled SGEMM drops B's last column",
            "Bs[kk][j] = load_op(B, transB, ldb, k0 + kk, col0 + j, K, N);", "Bs[kk][j] = load_op(B, transB, ldb, k0 + kk, col0 + j, K, N - 1);"),
        equivalent("K05", "sgemm.cu", "tiled SGEMM ignores alpha", "the host passes alpha 1 only",
            "*p = alpha * acc[r][c] + (beta", "*p = acc[r][c] + (beta"),
        equivalent("K06", "sgemm.cu", "naive SGEMM ignores beta", "the host passes beta 0 only",
            "*c = alpha * acc + (beta == 0.f ? 0.f : beta * *c);", "*c = alpha * acc + (beta == 0.f ? 0.f : *c);"));

    /** The emulator's two schedules: its ordinary one, and the other, where missing barriers show. */
    private static final List<Map<String, String>> SCHEDULES = List.of(Map.of(), EmulatedGpu.OTHER_SCHEDULE);

    private static String suffix(Map<String, String> schedule) { return schedule.isEmpty() ? "" : "-other"; }

    /** The tests each bug is run against. */
    static final List<String> TESTS = List.of(GpuParityTest.class.getName(), DeviceTransferGradTest.class.getName());
    private static final long LANE_TIMEOUT_S = 1200;

    /** The bug of the table with this name. */
    static Bug named(String name) {
        return BUGS.stream().filter(b -> b.name().equals(name)).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("no bug named " + name + " in the table"));
    }

    /** How many times {@code text} holds {@code part}, not overlapping. */
    static int occurrences(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) n++;
        return n;
    }

    /** The chosen bugs whose text is not in their kernel in {@code cuda} exactly once. */
    static List<String> stale(List<Bug> bugs, Path cuda) throws IOException {
        List<String> stale = new ArrayList<>();
        for (Bug b : bugs) {
            Path cu = cuda.resolve(b.file());
            if (!Files.isRegularFile(cu) || occurrences(Files.readString(cu), b.from()) != 1) stale.add(b.name());
        }
        return stale;
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(List.of(args)));
    }

    private static int run(List<String> args) throws Exception {
        if (args.contains("--list")) {
            for (Bug b : BUGS)
                System.out.printf("%-4s %-18s %s%s%n", b.name(), b.file(), b.what(), b.expectedToSurvive() ? "  (" + b.unseen() + ")" : "");
            return 0;
        }
        for (String a : args)
            if (a.isBlank() || (a.startsWith("--") && !a.equals("--check")))
                return fail("no option '" + a + "'; give --list, --check or names of bugs (E05, P1, ...)");
        List<String> names = args.stream().filter(a -> !a.startsWith("--")).toList();
        boolean check = args.contains("--check");
        List<Bug> chosen = BUGS.stream().filter(b -> names.isEmpty() ? check || !b.expectedToSurvive() : names.stream().anyMatch(b.name()::startsWith)).toList();
        if (chosen.isEmpty()) return fail("no bug in the table is named " + String.join(" or ", names) + " (--list shows them)");
        Path root = Children.projectRoot();
        if (root == null) return fail("run it from the project (no pulmo root pom above " + System.getProperty("user.dir") + ")");
        Path work = Path.of(System.getenv().getOrDefault("EMU_DIR", "/tmp/pulmo-kernel-mutants")).toAbsolutePath();
        EmulatedGpu emu = new EmulatedGpu(root, work);
        List<String> stale = stale(chosen, emu.kernels());
        if (check) {
            System.out.println(chosen.size() + " bugs checked; stale: " + (stale.isEmpty() ? "none" : String.join(", ", stale)));
            return stale.isEmpty() ? 0 : 1;
        }
        String noMock = EmulatedGpu.noMock(root), tool = EmulatedGpu.missingTool();
        if (noMock != null) return fail(noMock);
        if (tool != null) return fail(tool + " is not on PATH (building the emulator needs it)");
        Files.deleteIfExists(work.resolve("mock/kinfo.h"));   // the mock is built again for the kernels' signatures as they are now
        String why = emu.build(emu.kernels(), work.resolve("kernels"), "logs/build-kernels", true);
        if (why != null) return fail("building the emulator from the kernels as they are failed:\n" + why);
        for (Map<String, String> schedule : SCHEDULES) {   // a bug is judged under both: both must pass on the kernels as they are
            Child base = emu.lane(work.resolve("kernels/gpu"), TESTS, "logs/unchanged" + suffix(schedule), schedule, LANE_TIMEOUT_S);
            List<String> problems = EmulatedGpu.problems(base, EmulatedGpu.results(base));
            if (base.code() != 0 || !problems.isEmpty())
                return fail("the kernel tests do not pass on the kernels as they are" + (schedule.isEmpty() ? "" : " under the other schedule")
                    + ": " + problems + "\n" + base.tail());
        }
        System.out.println(chosen.size() + " bugs, each planted alone; the tests pass on the kernels as they are, under both schedules");
        List<String> survived = new ArrayList<>(), expected = new ArrayList<>(), unbuilt = new ArrayList<>(), mislabelled = new ArrayList<>();
        for (Bug b : chosen) {
            if (stale.contains(b.name())) {
                System.out.printf("%-4s STALE     %s: the text it replaces is not there once (%s)%n", b.name(), b.file(), b.what());
                continue;
            }
            Path dir = work.resolve("bug");
            TestFiles.deleteTree(dir);
            why = emu.build(emu.plant(b, dir), dir, "logs/build-" + b.name(), true);
            if (why != null) {
                String first = why.lines().filter(l -> l.contains("error")).findFirst().orElse(why.strip().lines().reduce((x, y) -> y).orElse(""));
                System.out.printf("%-4s NO BUILD  %s: %s%n", b.name(), b.what(), first.strip());
                unbuilt.add(b.name());
                continue;
            }
            String noticed = null, when = "";
            for (Map<String, String> schedule : SCHEDULES) {
                String log = "logs/" + b.name() + suffix(schedule);
                Child c = emu.lane(dir.resolve("gpu"), TESTS, log, schedule, LANE_TIMEOUT_S);
                if (onlyAContainerFailed(c)) c = emu.lane(dir.resolve("gpu"), TESTS, log + "-again", schedule, LANE_TIMEOUT_S);   // not the bug's doing, perhaps
                noticed = howNoticed(c);
                if (noticed != null) {
                    when = schedule.isEmpty() ? "" : " (other schedule)";
                    break;
                }
            }
            System.out.printf("%-4s %-9s %s%s%s%n", b.name(), noticed != null ? "CAUGHT" : "SURVIVED", b.what(), when,
                noticed == null ? (b.expectedToSurvive() ? " (expected, " + b.unseen() + ")" : "")
                    : ": " + noticed + (b.expectedToSurvive() ? " (the table expects it to survive, " + b.unseen() + ": mend its row)" : ""));
            if (noticed == null) (b.expectedToSurvive() ? expected : survived).add(b.name());
            else if (b.expectedToSurvive()) mislabelled.add(b.name());
        }
        System.out.println((chosen.size() - survived.size() - expected.size() - stale.size() - unbuilt.size()) + " caught, "
            + count("survived", survived) + ", " + count("survived as expected", expected) + ", " + count("stale", stale) + ", "
            + count("did not build", unbuilt) + (mislabelled.isEmpty() ? "" : ", " + count("caught though expected to survive", mislabelled)));
        return survived.isEmpty() && stale.isEmpty() && unbuilt.isEmpty() && mislabelled.isEmpty() ? 0 : 1;
    }

    /**
     * How a lane noticed its bug (the first tests it failed, an emulator error, the JVM's early end or exit status);
     * null if it did not. A test that aborted or was skipped has not noticed anything (on a GPU it would be a skip).
     */
    static String howNoticed(Child c) {
        Map<String, String> results = EmulatedGpu.results(c);
        List<String> failed = results.keySet().stream().filter(t -> results.get(t).equals("FAILED")).toList();
        List<String> errors = EmulatedGpu.errors(c);
        if (!failed.isEmpty()) return failed.stream().limit(3).collect(Collectors.joining(", "));
        if (!errors.isEmpty()) return errors.get(0).length() > 100 ? errors.get(0).substring(0, 100) : errors.get(0);
        if (c.code() == -1) return "the test JVM was killed at the time limit";
        if (!EmulatedGpu.ended(c)) return "the test JVM crashed";
        if (c.code() != 0 && EmulatedGpu.unsuccessful(results).isEmpty()) return "the test JVM exited " + c.code();
        return null;
    }

    /** Only a JUnit container failed, none of its tests of its own: something other than the bug may have gone wrong. */
    private static boolean onlyAContainerFailed(Child c) {
        List<String> failed = EmulatedGpu.unsuccessful(EmulatedGpu.results(c));
        return EmulatedGpu.ended(c) && EmulatedGpu.errors(c).isEmpty() && !failed.isEmpty() && failed.stream().noneMatch(t -> t.contains("#"));
    }

    private static String count(String label, List<String> names) {
        return names.size() + " " + label + (names.isEmpty() ? "" : " (" + String.join(", ", names) + ")");
    }

    private static int fail(String message) {
        System.err.println("kernel-mutants: " + message);
        return 2;
    }
}

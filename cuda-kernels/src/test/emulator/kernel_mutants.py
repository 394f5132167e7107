#!/usr/bin/env python3
"""Plants one bug at a time in the CUDA kernels (cuda-kernels/src/main/cuda) and runs the kernel parity tests on the
emulated GPU built from the planted sources: every bug must fail a test (or make the emulator report a write outside an
allocation, or crash the test JVM). What it shows is whether the gpu-tagged tests would notice such a bug in a kernel,
without a GPU. About 30 s a bug on two cores; the whole table takes 40 minutes.

    scripts/kernel-mutants.sh                  every bug in the table below
    scripts/kernel-mutants.sh R16 P01          the bugs whose names start with these
    scripts/kernel-mutants.sh --list           the table

Each bug is a text replacement that must match its .cu file exactly once; one that no longer matches (the kernel has
changed) is reported as stale and not run, one whose planted sources do not compile as not built: neither says anything
of the tests. A bug that no test notices first reruns under the emulator's other schedule (blocks and threads last
first, one warp running ahead), where missing barriers show. The exit status is 0 only when every bug was built and
noticed (none survived, stale or not built). Bugs marked as equivalent change nothing the host can ask for (the host
passes alpha 1 and beta 0 to the SGEMM kernels, for example) and run only when named.
EMU_DIR (default /tmp/pulmo-kernel-mutants) is where the emulators are built, and the tests' output for each bug is
kept in its logs folder.
"""

# name, file, text in the file, what it becomes, the bug in words; equivalent bugs carry a fifth field, why.
BUGS = [
    ("E01", "elementwise.cu", "expf(x) / (1.f + expf(x));", "expf(x) / (2.f + expf(x));", "SIGMOID wrong for negative x"),
    ("E02", "elementwise.cu", "(x < 0.f ? -1.f : x);", "(x < 0.f ? -1.f : 0.f);", "SIGN of NaN is 0"),
    ("E03", "elementwise.cu", "case 10: return x > 0.f ? 1.f : 0.f;", "case 10: return x >= 0.f ? 1.f : 0.f;", "STEP of 0 is 1"),
    ("E04", "elementwise.cu", "return powf(x, alpha);", "return powf(alpha, x);", "POW's operands swapped"),
    ("E05", "elementwise.cu", "return x + alpha;", "return x - alpha;", "ADD_SCALAR subtracts"),
    ("E06", "elementwise.cu", "case 8: return a >= b ? 1.f : 0.f;", "case 8: return a > b ? 1.f : 0.f;", "GE false on ties"),
    ("E07", "elementwise.cu", "case 10: return b > 0.f ? a : 0.f;", "case 10: return b >= 0.f ? a : 0.f;", "ReLU's backward passes the gradient at an output of 0"),
    ("E08", "elementwise.cu", "__device__ __forceinline__ float jmin(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fminf(a, b); }",
     "__device__ __forceinline__ float jmin(float a, float b) { return fminf(a, b); }", "MIN drops NaN"),
    ("E09", "elementwise.cu", "dst[off[0]] += alpha * src[off[1]];", "dst[off[0]] = alpha * src[off[1]];", "axpy overwrites instead of adding"),
    ("E10", "elementwise.cu", "y[off[2]] = jmax(a[off[0]] + b[off[1]], 0.f);", "y[off[2]] = jmax(a[off[0]] + b[off[0]], 0.f);", "add+ReLU reads b with a's strides"),
    ("E11", "common.cuh", "off[2] += (long long)c * L.stride[2][d];", "off[2] += (long long)c * L.stride[1][d];", "strided walk: operand 2 takes operand 1's strides"),
    ("E12", "common.cuh", "for (int d = L.rank - 1; d > 0; d--) {\n            unsigned", "for (int d = L.rank - 1; d > 1; d--) {\n            unsigned", "strided walk skips dim 1"),
    ("E13", "common.cuh", "off[1] += i * L.stride[1][0];", "off[1] += i * L.stride[0][0];", "strided walk: operand 1's outer stride is operand 0's"),
    ("E14", "elementwise.cu", "dst[off[0]] = v;", "dst[off[0]] = 0.f * v;", "fill writes 0"),
    ("E15", "elementwise.cu", "case 3: return a / b;", "case 3: return b / a;", "DIV's operands swapped"),
    ("E16", "elementwise.cu", "case 9: return 1.f / x;", "case 9: return 1.f / (x + 1e-3f);", "RECIPROCAL off by a small shift"),
    ("R01", "reduce_softmax.cu", "acc = lane < nw ? sd[lane] : 0.0;", "acc = lane < nw ? sd[lane] : sd[0];", "row sum adds warp 0's part again in idle lanes"),
    ("R02", "reduce_softmax.cu", "nan |= v != v;", "nan |= false;", "row max/min ignore NaN"),
    ("R03", "reduce_softmax.cu", "(v2 == best && i2 < bi));\n        if (better) { best = v2; bi = i2; }\n    }\n    int lane",
     "(v2 == best && i2 > bi));\n        if (better) { best = v2; bi = i2; }\n    }\n    int lane", "argmax ties within a warp go to the last index"),
    ("R04", "reduce_softmax.cu", "if (bi < 0 || (isMax ? v > best : v < best)) { best = v; bi = i; }",
     "if (bi < 0 || (isMax ? v >= best : v <= best)) { best = v; bi = i; }", "argmax ties within a thread go to the last index"),
    ("R05", "reduce_softmax.cu", "for (int d = 0; d < D; d++) m = fmaxf(m, x[base + (long long)d * inner]);", "m = 0.f;", "softmax without subtracting the max"),
    ("R06", "reduce_softmax.cu", "dx[k] = log ? dy[k] - expf(y[k]) * s", "dx[k] = log ? dy[k] + expf(y[k]) * s", "log-softmax backward sign"),
    ("R07", "reduce_softmax.cu", "s += log ? dy[k] : dy[k] * y[k];", "s += log ? dy[k] : dy[k];", "softmax backward sums dy, not dy * y"),
    ("R08", "reduce_softmax.cu", "rowW[row] = w;", "rowW[row] = 1.f;", "weighted cross-entropy divides by the row count"),
    ("R09", "reduce_softmax.cu", "for (int j = lane; j < C; j += 32) online_merge(m, s, xr[j], 1.f);\n    for (int o = 16; o > 0; o >>= 1) {\n        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);\n        online_merge(m, s, m2, s2);\n    }\n    if (lane == 0)",
     "for (int j = lane; j < C - 1; j += 32) online_merge(m, s, xr[j], 1.f);\n    for (int o = 16; o > 0; o >>= 1) {\n        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);\n        online_merge(m, s, m2, s2);\n    }\n    if (lane == 0)",
     "cross-entropy's log-sum-exp misses the last class"),
    ("R10", "reduce_softmax.cu", "/ wsum[0], inv = 1.f / s;", "/ N, inv = 1.f / s;", "cross-entropy backward divides by N, not the weight sum"),
    ("R11", "reduce_softmax.cu", "for (int i = threadIdx.x; i < N; i += blockDim.x) { l += rowLoss[i]; w += rowW[i]; }",
     "for (int i = threadIdx.x; i < N && i < 256; i += blockDim.x) { l += rowLoss[i]; w += rowW[i]; }", "cross-entropy sums only the first 256 rows"),
    ("R12", "reduce_softmax.cu", "float na = sqrtf(fmaxf(aa, eps * eps)), nb = sqrtf(fmaxf(bb, eps * eps));",
     "float na = sqrtf(fmaxf(aa, eps)), nb = sqrtf(fmaxf(bb, eps));", "cosine clamps the squared norm at eps"),
    ("R13", "reduce_softmax.cu", "kb = nb > eps ? c / (nb * nb) : 0.f", "kb = nb > eps ? c / (na * nb) : 0.f", "cosine backward: db's norm term"),
    ("R14", "reduce_softmax.cu", "float g = dc[0] / N, c", "float g = dc[0], c", "cosine backward not divided by the batch"),
    ("R15", "reduce_softmax.cu", "float ka = na > eps ? c / (na * na) : 0.f,", "float ka = c / (na * na),", "cosine backward ignores the clamp"),
    ("R16", "reduce_softmax.cu", "for (long long i = threadIdx.x; i < cols; i += blockDim.x) acc += row[i];",
     "for (long long i = threadIdx.x; i < cols; i += blockDim.x) acc = (float)(acc + row[i]);", "row sums accumulate in float"),
    ("P01", "pool_norm_index.cu", "if (v > best || bi < 0 || v != v)", "if (v >= best || bi < 0 || v != v)", "max-pool argmax: ties go to the last"),
    ("P02", "pool_norm_index.cu", "a < min(h0 + kH, H); a++)", "a < min(h0 + kH, H - 1); a++)", "max-pool skips the last input row"),
    ("P03", "pool_norm_index.cu", "if (v > best || bi < 0 || v != v)", "if (v > best || bi < 0)", "max-pool ignores NaN"),
    ("P04", "pool_norm_index.cu", "atomicAdd(dx + pl * planeIn + (int)arg[o], dy[o]);", "dx[pl * planeIn + (int)arg[o]] = dy[o];", "max-pool backward overwrites where windows overlap"),
    ("P05", "pool_norm_index.cu", "var[c] = (float)(sq / M);", "var[c] = (float)(sq / (M - 1));", "batch-norm variance unbiased"),
    ("P06", "pool_norm_index.cu", "        acc += x[(n * C + c) * S + s];", "        acc += x[(c * N + n) * S + s];", "batch-norm mean reads N and C swapped"),
    ("P07", "pool_norm_index.cu", "float t = (bias ? bias[c] : 0.f) - mean[c] * k;", "float t = (bias ? bias[c] : 0.f) - mean[c] * invStd[c];", "batch-norm shift without the weight"),
    ("P08", "pool_norm_index.cu", "b += g * (x[e] - mu);", "b += g * x[e];", "batch-norm weight gradient not centred"),
    ("P09", "pool_norm_index.cu", "dx[e] = k * ((float)M * dy[e]", "dx[e] = k * ((float)(M - 1) * dy[e]", "batch-norm dx: M - 1 for M"),
    ("P10", "pool_norm_index.cu", "o = idx_div(q, Di);\n        out[e]", "o = idx_div(q, D);\n        out[e]", "gather's outer index divides by the data's dim"),
    ("P11", "pool_norm_index.cu", "atomicAdd(out + (o * D + (long long)index[e]) * inner + i, src[e]);", "out[(o * D + (long long)index[e]) * inner + i] = src[e];", "scatter-add overwrites repeated indices"),
    ("P12", "pool_norm_index.cu", "    double mu = total / M;\n    __syncthreads();\n", "    double mu = total / M;\n", "batch-norm statistics without the barrier between passes"),
    ("P13", "pool_norm_index.cu", "k = (weight ? weight[c] : 1.f) * is / M;", "k = is / M;", "batch-norm dx without the weight"),
    ("M01", "mab.cu", "else { bv = pb[i]; float t = pa[i] - bv; dv = sq_rn(t); }", "else { bv = pb[i]; float t = pa[i] - bv; dv = t; }", "MAB forward, uncached planes: D = a - b"),
    ("M02", "mab.cu", "float dD = p * (p > DOMINANT ? dp * rest - restDot : dp - dot);", "float dD = p * (p > DOMINANT ? dp * rest + restDot : dp - dot);", "MAB backward, dominant position: sign"),
    ("M03", "mab.cu", "db[base + i] = gv * p - dd;", "db[base + i] = gv * p + dd;", "MAB backward (block): db sign"),
    ("M04", "mab.cu", "pdb[i] = v.g[k] * p - dd;", "pdb[i] = v.g[k] * p + dd;", "MAB backward (warp): db sign"),
    ("M05", "mab.cu", "float dD = p * (p > DOMINANT ? dp * sums[1] - sums[2] : dp - sums[0]);", "float dD = p * (dp - sums[0]);", "MAB backward (warp) without the dominant-position form"),
    ("M06", "mab.cu", "    warp_online(m, s);\n", "\n", "MAB forward (warp): each lane its own softmax"),
    ("M07", "mab.cu", "db[i] = expf(sq_rn(t) - lse[idx_div(i, hw)]) * g[i];", "db[i] = expf(sq_rn(t) - lse[0]) * g[i];", "MAB constant-map backward: plane 0's lse everywhere"),
    ("M08", "mab.cu", "lse[blockIdx.x] = m + logf(s);\n}\n\n// y = P", "lse[blockIdx.x] = m + s;\n}\n\n// y = P", "MAB naive: lse without the log"),
    ("M09", "mab.cu", "else { bv = pb[i]; gv = pg[i]; t = pa[i] - bv; }", "else { bv = pb[i]; gv = pg[i]; t = bv - pa[i]; }", "MAB backward, uncached planes: a - b's sign"),
    ("M10", "mab.cu", "float dD = p * (p > DOMINANT ? dp * rest - restDot : dp - dot);", "float dD = p * (dp - dot);", "MAB backward (block) without the dominant-position form"),
    ("M11", "mab.cu", "    if (lane == 0) lse[plane] = m + logf(s);", "    if (lane == 0) lse[plane] = m + logf(s) + 1e-3f;", "MAB forward (warp): lse slightly off"),
    ("M12", "mab.cu", "for (int j = 0; j < 3; j++) sums[j] = warp_sum(sums[j]);", "for (int j = 0; j < 1; j++) sums[j] = warp_sum(sums[j]);", "MAB backward (warp): two sums per lane only"),
    ("S01", "se_fab.cu", "if (threadIdx.x == 0) s[blockIdx.x] = acc / hw;", "if (threadIdx.x == 0) s[blockIdx.x] = acc / (hw + 1);", "SE squeeze divides by hw + 1"),
    ("S02", "se_fab.cu", "y[i] = x[i] * s[idx_div(i, hw)];", "y[i] = x[i] * s[idx_div(i + 1, hw) < n / hw ? idx_div(i + 1, hw) : idx_div(i, hw)];", "SE scale: a plane's last element takes the next plane's scale"),
    ("S03", "se_fab.cu", "acc += g * x[base + i];\n    }\n    acc = block_sum(acc, ss);\n    if (threadIdx.x == 0) ds", "acc += g * x[base + i] * sc;\n    }\n    acc = block_sum(acc, ss);\n    if (threadIdx.x == 0) ds", "SE scale backward: ds times the scale"),
    ("S04", "se_fab.cu", "(v2 == best && i2 < bi)) { best = v2; bi = i2; }\n        }\n        if (lane == 0) { avg", "(v2 == best && i2 > bi)) { best = v2; bi = i2; }\n        }\n        if (lane == 0) { avg", "FAB squeeze: ties between warps go to the last"),
    ("S05", "se_fab.cu", "du[i] = dAvg[pl] / hw + ", "du[i] = dAvg[pl] + ", "FAB squeeze backward: average's gradient not divided"),
    ("S06", "se_fab.cu", "y[i] = al * x1[i] + (1.f - al) * x2[i];", "y[i] = al * x1[i] + (1.f - al) * x1[i];", "FAB fusion ignores the second branch"),
    ("S07", "se_fab.cu", "dz2[blockIdx.x] = -dz;", "dz2[blockIdx.x] = dz;", "FAB fusion backward: dz2 sign"),
    ("S08", "se_fab.cu", "return 1.f / (1.f + expf(z2 - z1));", "return 1.f / (1.f + expf(z1 - z2));", "FAB's alpha of the wrong branch"),
    ("S09", "se_fab.cu", "dx2[base + i] = (1.f - al) * g;", "dx2[base + i] = al * g;", "FAB fusion backward: dx2 weight"),
    ("G01", "sgd.cu", "float bi = firstStep ? gi : momentum * b[i] + (1.f - dampening) * gi;\n            b[i] = bi;\n            gi = nesterov ? gi + momentum * bi : bi;\n        }\n        p[i] -= lr * gi;\n    }\n}\n\n// One",
     "float bi = firstStep ? (1.f - dampening) * gi : momentum * b[i] + (1.f - dampening) * gi;\n            b[i] = bi;\n            gi = nesterov ? gi + momentum * bi : bi;\n        }\n        p[i] -= lr * gi;\n    }\n}\n\n// One",
     "fused SGD (all parameters): dampening on the first step"),
    ("G02", "sgd.cu", "gi = nesterov ? gi + momentum * bi : bi;\n        }\n        p[i] -= lr * gi;\n    }\n}\n\n// One", "gi = nesterov ? momentum * bi : bi;\n        }\n        p[i] -= lr * gi;\n    }\n}\n\n// One",
     "fused SGD (all parameters): Nesterov without the gradient"),
    ("G03", "sgd.cu", "end = min(start + (long long)SGD_CHUNK, sizes[t]);", "end = min(start + (long long)SGD_CHUNK - 1, sizes[t]);", "fused SGD: each chunk's last element skipped"),
    ("G04", "sgd.cu", "if (weightDecay != 0.f) gi += weightDecay * p[i];", "if (weightDecay != 0.f) gi -= weightDecay * p[i];", "SGD (one parameter): weight decay sign"),
    ("G05", "sgd.cu", "float wd = weightDecay[t];", "float wd = weightDecay[0];", "fused SGD: every parameter takes the first one's weight decay"),
    ("K01", "sgemm.cu", "if (j >= N) continue;", "if (j > N) continue;", "tiled SGEMM writes one column past the edge"),
    ("K02", "sgemm.cu", "*p = alpha * acc[r][c] + (beta == 0.f ? 0.f : beta * *p);", "*p = alpha * acc[r][c] + (beta == 0.f ? 0.f : *p);", "tiled SGEMM ignores beta",
     "the host passes beta 0 only"),
    ("K03", "sgemm.cu", "A += blockIdx.z * strideA; B += blockIdx.z * strideB; C += blockIdx.z * strideC;\n    float acc", "A += blockIdx.z * strideA; C += blockIdx.z * strideC;\n    float acc", "naive SGEMM: every batch reads B's first matrix"),
    ("K04", "sgemm.cu", "Bs[kk][j] = load_op(B, transB, ldb, k0 + kk, col0 + j, K, N);", "Bs[kk][j] = load_op(B, transB, ldb, k0 + kk, col0 + j, K, N - 1);", "tiled SGEMM drops B's last column"),
    ("K05", "sgemm.cu", "*p = alpha * acc[r][c] + (beta", "*p = acc[r][c] + (beta", "tiled SGEMM ignores alpha", "the host passes alpha 1 only"),
    ("K06", "sgemm.cu", "*c = alpha * acc + (beta == 0.f ? 0.f : beta * *c);", "*c = alpha * acc + (beta == 0.f ? 0.f : *c);", "naive SGEMM ignores beta", "the host passes beta 0 only"),
]


import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
CUDA = ROOT / "cuda-kernels/src/main/cuda"
EMULATOR = ROOT / "cuda-kernels/src/test/emulator"
MOCK = (ROOT / "../shared/gpu/mock-driver").resolve()
TESTS = ["org.pulmo.cuda.GpuParityTest", "org.pulmo.cuda.DeviceTransferGradTest"]
OTHER_SCHEDULE = {"EMU_ORDER": "reverse", "EMU_SCHEDULE": "greedy"}
WORK = Path(os.environ.get("EMU_DIR", "/tmp/pulmo-kernel-mutants"))


def sh(cmd, **kw):
    return subprocess.run(["bash", "-c", f". scripts/jdk.sh >/dev/null && {cmd}"], cwd=ROOT, capture_output=True, text=True, **kw)


def class_path():
    """Builds the modules the kernel tests need and returns the tests' class path."""
    r = sh("mvn -B -ntp -q -pl cuda-kernels -am install -DskipTests && mvn -B -ntp -q -pl cuda-kernels test-compile "
           f"dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile={WORK}/classpath")
    if r.returncode:
        sys.exit("kernel-mutants: the build failed:\n" + (r.stdout + r.stderr)[-3000:])
    k = ROOT / "cuda-kernels/target"
    return f"{k}/test-classes:{k}/classes:" + (WORK / "classpath").read_text().strip()


def build(src, out):
    """The emulated GPU for the kernels in src, built into out; None, or why it failed."""
    r = subprocess.run(["bash", str(EMULATOR / "build-emulator.sh"), str(WORK / "mock"), str(src), str(out)],
                       env=dict(os.environ, MOCK_SRC=str(MOCK)), capture_output=True, text=True)
    return None if r.returncode == 0 else (r.stdout + r.stderr)[-2000:]


def lane(cp, libs, env=None, log=None):
    """Runs the kernel tests on the emulated GPU in libs; (tests that did not pass, emulator errors, whether it ended).
    The output goes to the file log too, when given."""
    cmd = (f"java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m -Xmx4g "
           f"-XX:ErrorFile={WORK}/hs_err_%p.log -cp {cp} org.pulmo.cuda.EmulatedGpuLane {' '.join(TESTS)}")
    r = sh(cmd, env=dict(os.environ, LD_LIBRARY_PATH=str(libs), **(env or {})), timeout=1200)
    if log:
        log.write_text(r.stdout + r.stderr)
    lines = r.stdout.splitlines()
    failed = [l.split()[2] for l in lines if l.startswith("RESULT ") and not l.startswith("RESULT SUCCESSFUL")]
    errors = [l for l in lines if l.startswith("[emu] ERROR") or "VIOLATION" in l]
    return failed, errors, any(l.startswith("SUMMARY ") for l in lines)


def main(args):
    if "--list" in args:
        for b in BUGS:
            print(f"{b[0]:4} {b[1]:18} {b[4]}" + (f"  (equivalent: {b[5]})" if len(b) > 5 else ""))
        return 0
    names = [a for a in args if not a.startswith("--")]
    chosen = [b for b in BUGS if any(b[0].startswith(a) for a in names)] if names else [b for b in BUGS if len(b) == 5]
    stale = [b[0] for b in chosen if (CUDA / b[1]).read_text().count(b[2]) != 1]
    if "--check" in args:
        print(f"{len(chosen)} bugs checked; stale: " + (", ".join(stale) or "none"))
        return 1 if stale else 0
    if not (MOCK / "build.sh").is_file():
        sys.exit(f"kernel-mutants: no mock driver at {MOCK}")
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    cp = class_path()
    why = build(CUDA, WORK / "kernels")
    if why:
        sys.exit("kernel-mutants: building the emulator from the kernels as they are failed:\n" + why)
    failed, errors, ended = lane(cp, WORK / "kernels")
    if failed or errors or not ended:
        sys.exit(f"kernel-mutants: the kernel tests do not pass on the kernels as they are: {failed} {errors[:3]}")
    print(f"{len(chosen)} bugs, each planted alone; the tests pass on the kernels as they are", flush=True)
    survived, unbuilt = [], []
    for b in chosen:
        name, file, old, new, what = b[:5]
        if name in stale:
            print(f"{name:4} STALE     {file}: the text it replaces is not there once ({what})", flush=True)
            continue
        src = WORK / "bug" / "cuda"
        shutil.rmtree(WORK / "bug", ignore_errors=True)
        shutil.copytree(CUDA, src)
        (src / file).write_text((CUDA / file).read_text().replace(old, new))
        why = build(src, WORK / "bug" / "gpu")
        if why:
            first_error = next((l.strip() for l in why.splitlines() if "error" in l), why.strip().splitlines()[-1])
            print(f"{name:4} NO BUILD  {what}: {first_error[:160]}", flush=True)
            unbuilt.append(name)
            continue
        for schedule in (None, OTHER_SCHEDULE):
            log = WORK / "logs" / f"{name}{'-other' if schedule else ''}.out"
            failed, errors, ended = lane(cp, WORK / "bug" / "gpu", schedule, log)
            if ended and not errors and failed and not any("#" in f for f in failed):
                # only a container failed (no test of its own): something else than the bug may have gone wrong; once more
                failed, errors, ended = lane(cp, WORK / "bug" / "gpu", schedule, log)
            noticed = failed or errors or not ended
            if noticed:
                break
        how = (", ".join(failed[:3]) if failed else errors[0][:100] if errors else "the test JVM crashed") if noticed else ""
        when = " (other schedule)" if noticed and schedule else ""
        print(f"{name:4} {'CAUGHT   ' if noticed else 'SURVIVED '} {what}{when}{': ' + how if how else ''}", flush=True)
        if not noticed:
            survived.append(name)
    def count(label, names):
        return f"{len(names)} {label}" + (f" ({', '.join(names)})" if names else "")
    print(f"{len(chosen) - len(survived) - len(stale) - len(unbuilt)} caught, " + ", ".join(
        count(label, names) for label, names in (("survived", survived), ("stale", stale), ("did not build", unbuilt))))
    return 0 if not survived and not stale and not unbuilt else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

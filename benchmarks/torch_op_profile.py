#!/usr/bin/env python3
"""Where PyTorch's training step spends its GPU time, by kind of op, beside Pulmo's TrainingStepProfile.

The same step as the anchors' bench_train.py (zero_grad + forward + loss + backward + SGD lr 0.01, momentum 0.9,
NCHW float32, batch 32 at 224 x 224; MA-Net 16 pairs), profiled with torch.profiler over a few steps after a
warm-up. Prints the top CUDA kernels and the CUDA time summed into the kinds of Pulmo's per-method table
(convolution, batch norm, elementwise, copies and concatenation, reductions, matmul, pooling, optimiser, other),
per step, and writes them as JSON (--json, default $OUT/torch_op_profile_MODEL_MODE.json when OUT is set).

Then one more step runs under a TorchDispatchMode that sums, per kind, the bytes of the new tensors every aten op
returns (outputs that share no storage with the op's inputs: not views, not in-place results), the same count as
Pulmo's "alloc MB" (the tensor storage its backend hands out): a lower bound on the bytes the step writes, which
does not depend on the device, so that a CPU run (--cpu) already compares the two libraries' memory traffic.

  python3 benchmarks/torch_op_profile.py --anchors ../shared/anchors --model dpn92se --mode tf32

Run on the GPU machine by benchmarks/gpu-op-profile.sh, next to Pulmo's table of the same model.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict

# Kinds, tried in order on a CUDA kernel's name (lower case); the first match wins.
# Batch norm before convolution: PyTorch's float32 NCHW batch norm runs cuDNN kernels (cudnn::bn_fw_tr_1C11_..., bn_bw_...);
# cuBLAS's Hopper GEMMs are named sm90_xmma_gemm_..., so neither "cudnn" nor a bare "xmma" may mean convolution.
KINDS = [
    ("optimiser", r"multi_tensor|foreach|sgd"),
    ("batch norm", r"batch_norm|batchnorm|bn_fw|bn_bw|welford"),
    ("convolution", r"conv|implicit|wgrad|dgrad|fprop|winograd|fft|precomputed|im2col"),
    ("matmul", r"gemm|cublas|cutlass"),
    ("pooling", r"pool"),
    ("softmax / loss", r"softmax|nll|cross_entropy|log_softmax"),
    ("reduction", r"reduce|sum_kernel|mean|norm_kernel"),
    ("copy / cat", r"cat|copy|memcpy|memset|fill|contiguous|transpose|permute|nhwc"),
    ("elementwise", r"elementwise|vectorized|unrolled|launch_kernel|pointwise|relu|add|mul|sigmoid|threshold"),
]


def kind_of(name: str) -> str:
    n = name.lower()
    for kind, pattern in KINDS:
        if re.search(pattern, n):
            return kind
    return "other"


# aten op names (from the dispatch mode: "aten.convolution_backward.default") to the same kinds, tried first.
ATEN_KINDS = [
    ("matmul", r"^aten\.(mm|addmm|bmm|matmul|linear)\b"),
    ("reduction", r"^aten\.(sum|amax|amin|max|min|mean|var|std|argmax|argmin)\b"),
    ("softmax / loss", r"softmax|nll_loss|cross_entropy"),
    ("copy / cat", r"^aten\.(cat|clone|_to_copy|copy_|slice_backward|select_backward|index|new_zeros|zeros|zeros_like|empty|"
                   r"new_empty|empty_like|fill_|zero_|scatter|gather|stack|contiguous|narrow_copy)\b"),
]


def aten_kind(name: str) -> str:
    for kind, pattern in ATEN_KINDS:
        if re.search(pattern, name):
            return kind
    return kind_of(name)


def sum_by_kind(per_name, kind):
    """{name: [amount, calls]} summed into {kind(name): [amount, calls]}."""
    by_kind = defaultdict(lambda: [0, 0])
    for name, (amount, calls) in per_name.items():
        by_kind[kind(name)][0] += amount
        by_kind[kind(name)][1] += calls
    return by_kind


def largest_first(per_name):
    """The (name, [amount, calls]) items of {name: [amount, calls]}, the largest amount first."""
    return sorted(per_name.items(), key=lambda kv: -kv[1][0])


def allocated_bytes_by_op(torch, step):
    """Runs step() once under a dispatch mode; returns {aten op name: [bytes of new output tensors, calls]}."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    def storage_key(t):
        try:
            return t.untyped_storage().data_ptr()
        except AttributeError:   # PyTorch < 2.0
            return t.storage().data_ptr()

    def storage_bytes(t):
        try:
            return t.untyped_storage().nbytes()
        except AttributeError:
            return t.storage().nbytes()

    ops = defaultdict(lambda: [0, 0])

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            ins = {storage_key(t) for t in tree_flatten((args, kwargs or {}))[0] if isinstance(t, torch.Tensor)}
            seen = set()
            new = 0
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor) and t.numel() > 0:
                    k = storage_key(t)
                    if k not in ins and k not in seen:
                        seen.add(k)
                        new += storage_bytes(t)
            name = str(func)
            ops[name][0] += new
            ops[name][1] += 1
            return out

    with Count():
        step()
    return ops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anchors", default=os.environ.get("ANCHORS", "../shared/anchors"),
                    help="folder of models_ref.py and bench_train.py")
    ap.add_argument("--model", default="dpn92se", choices=["dpn92se", "dpn92", "resnet50", "manet"])
    ap.add_argument("--mode", default="tf32", choices=["tf32", "fp32"])
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--batch", type=int, default=None, help="images (MA-Net: pairs) per step; default 32 (MA-Net 16), 2 with --cpu")
    ap.add_argument("--json", default=None)
    ap.add_argument("--cpu", action="store_true",
                    help="dry run of this script's plumbing on the CPU (batch 2, the CPU's aten ops instead of CUDA kernels)")
    args = ap.parse_args()

    sys.path.insert(0, os.path.abspath(args.anchors))
    import torch  # noqa: E402
    import bench_train  # noqa: E402  (its set_precision, make_batch, loss_of: the same step it times)
    import models_ref  # noqa: E402
    from torch.profiler import ProfilerActivity, profile  # noqa: E402

    if not args.cpu and not torch.cuda.is_available():
        print("torch_op_profile: no CUDA device", flush=True)
        sys.exit(2)
    dev = torch.device("cpu" if args.cpu else "cuda")
    flags = {"device": "cpu"} if args.cpu else bench_train.set_precision(args.mode)
    torch.backends.cudnn.benchmark = True
    classes = {"dpn92se": 4, "dpn92": 4, "resnet50": 4, "manet": 2}[args.model]
    batch = args.batch or (2 if args.cpu else 16 if args.model == "manet" else 32)
    sync = (lambda: None) if args.cpu else torch.cuda.synchronize
    device_name = "CPU" if args.cpu else torch.cuda.get_device_name(0)
    torch.manual_seed(0)
    model = models_ref.build_model(args.model, classes).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs, labels = bench_train.make_batch(args.model, batch, classes, dev)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = bench_train.loss_of(args.model, model, inputs, labels)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    sync()
    with profile(activities=[ProfilerActivity.CPU if args.cpu else ProfilerActivity.CUDA]) as prof:
        for _ in range(args.steps):
            step()
        sync()

    kernels = defaultdict(lambda: [0.0, 0])   # name -> [total us, calls]
    for e in prof.events():
        if args.cpu:   # leaf aten ops only (no children), their own CPU time
            if not e.name.startswith("aten::") or e.cpu_children:
                continue
            us = e.cpu_time_total
        elif e.device_type is not None and "cuda" in str(e.device_type).lower():
            us = getattr(e, "device_time", None)
            if us is None:
                us = getattr(e, "cuda_time", 0.0)
        else:
            continue
        kernels[e.name][0] += us
        kernels[e.name][1] += 1
    total = sum(v[0] for v in kernels.values())
    by_kind = sum_by_kind(kernels, kind_of)
    s = args.steps
    print(f"PyTorch {torch.__version__}, {device_name}, {args.model} training step, batch {batch}, "
          f"{args.mode} ({flags}), {s} profiled steps after {args.warmup}: {total / 1000 / s:.2f} ms of kernels per step, "
          f"{sum(v[1] for v in kernels.values()) / s:.0f} kernels per step")
    print(f"{'kind':16s} {'ms/step':>9s} {'share':>7s} {'kernels/step':>13s}")
    for k, (us, calls) in largest_first(by_kind):
        print(f"{k:16s} {us / 1000 / s:9.2f} {100 * us / max(total, 1e-9):6.1f}% {calls / s:13.1f}")
    print(f"top {args.top} kernels:")
    for name, (us, calls) in largest_first(kernels)[:args.top]:
        print(f"  {us / 1000 / s:8.2f} ms/step {calls / s:6.1f}/step  [{kind_of(name)}] {name[:110]}")

    # bytes of the new tensors each kind of op returns, over one more step
    sync()
    alloc = allocated_bytes_by_op(torch, step)
    sync()
    alloc_kind = sum_by_kind(alloc, aten_kind)
    alloc_total = sum(v[0] for v in alloc.values())
    print(f"new tensors per step: {alloc_total / 1e6:.1f} MB in {sum(v[1] for v in alloc.values())} aten ops")
    print(f"{'kind':16s} {'alloc MB':>10s} {'aten ops':>9s}")
    for k, (b, calls) in largest_first(alloc_kind):
        print(f"{k:16s} {b / 1e6:10.1f} {calls:9d}")
    print(f"top {args.top} aten ops by bytes:")
    for name, (b, calls) in largest_first(alloc)[:args.top]:
        print(f"  {b / 1e6:10.1f} MB {calls:5d} calls  [{aten_kind(name)}] {name}")

    out = args.json or (os.path.join(os.environ["OUT"], f"torch_op_profile_{args.model}_{args.mode}.json") if os.environ.get("OUT") else None)
    if out:
        with open(out, "w") as f:
            json.dump({"torch": torch.__version__, "device": device_name, "model": args.model, "mode": args.mode,
                       "batch": batch, "steps": s, "kernel_ms_per_step": total / 1000 / s,
                       "by_kind": {k: {"ms_per_step": v[0] / 1000 / s, "kernels_per_step": v[1] / s} for k, v in by_kind.items()},
                       "alloc_mb_per_step": alloc_total / 1e6,
                       "alloc_by_kind": {k: {"mb_per_step": v[0] / 1e6, "ops_per_step": v[1]} for k, v in alloc_kind.items()},
                       "alloc_ops": [{"name": n, "mb_per_step": v[0] / 1e6, "calls_per_step": v[1], "kind": aten_kind(n)}
                                     for n, v in largest_first(alloc)],
                       "kernels": [{"name": n, "ms_per_step": v[0] / 1000 / s, "calls_per_step": v[1] / s, "kind": kind_of(n)}
                                   for n, v in largest_first(kernels)]}, f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Pulmo's and PyTorch's GPU time per kind of op, side by side, from one gpu-op-profile.sh run of a model.

  python3 benchmarks/op_profile_table.py PULMO_LOG TORCH_JSON [OUT.md]

PULMO_LOG: TrainingStepProfile's output on cuda (its "KIND <kind> <ms/step> <calls/step> [<MB/step>]" lines: the
device's time per op with every op waiting for the device, so each call also carries one launch and one wait of some
microseconds; the megabytes of new tensors the kind's ops allocated). TORCH_JSON: torch_op_profile.py's --json
(kernel time per step by kind, from the profiler; bytes of new tensors by kind). Prints a Markdown table, kind by
kind, with the ratio PyTorch / Pulmo (above 1: Pulmo faster), and where both sides counted them, a second one of
the megabytes allocated per step (Pulmo / PyTorch: above 1, Pulmo writes more); writes both to OUT.md.
"""
import json
import sys


def pulmo_kinds(path):
    kinds = {}
    with open(path, errors="replace") as f:
        for line in f:
            p = line.split()
            if len(p) in (4, 5) and p[0] == "KIND":
                kinds[p[1].replace("_", " ")] = tuple(float(v) for v in p[2:])
    return kinds


def table(pulmo, torch_json):
    torch = {k: (v["ms_per_step"], v["kernels_per_step"]) for k, v in torch_json["by_kind"].items()}
    rows = ["| kind | Pulmo ms/step (ops) | PyTorch ms/step (kernels) | PyTorch / Pulmo |", "|---|---:|---:|---:|"]
    total_p = sum(v[0] for v in pulmo.values())
    total_t = sum(v[0] for v in torch.values())
    for k in sorted(set(pulmo) | set(torch), key=lambda k: -max(pulmo.get(k, (0, 0))[0], torch.get(k, (0, 0))[0])):
        p, t = pulmo.get(k), torch.get(k)
        ratio = f"{t[0] / p[0]:.2f}" if p and t and p[0] > 0 else ""
        rows.append(f"| {k} | {f'{p[0]:.2f} ({p[1]:.0f})' if p else ''} | {f'{t[0]:.2f} ({t[1]:.0f})' if t else ''} | {ratio} |")
    rows.append(f"| all | {total_p:.2f} | {total_t:.2f} | {total_t / total_p if total_p else float('nan'):.2f} |")
    out = "\n".join(rows) + "\n"
    if "alloc_by_kind" in torch_json and pulmo and all(len(v) == 3 for v in pulmo.values()):
        out += "\n" + bytes_table({k: v[2] for k, v in pulmo.items()},
                                  {k: v["mb_per_step"] for k, v in torch_json["alloc_by_kind"].items()})
    return out


def bytes_table(pulmo, torch):
    """Megabytes of new tensors per step by kind, Pulmo beside PyTorch, with Pulmo / PyTorch."""
    rows = ["| kind | Pulmo MB allocated / step | PyTorch MB allocated / step | Pulmo / PyTorch |", "|---|---:|---:|---:|"]
    for k in sorted(set(pulmo) | set(torch), key=lambda k: -max(pulmo.get(k, 0), torch.get(k, 0))):
        p, t = pulmo.get(k), torch.get(k)
        ratio = f"{p / t:.2f}" if p is not None and t else ""
        rows.append(f"| {k} | {'' if p is None else f'{p:.1f}'} | {'' if t is None else f'{t:.1f}'} | {ratio} |")
    tp, tt = sum(pulmo.values()), sum(torch.values())
    rows.append(f"| all | {tp:.1f} | {tt:.1f} | {tp / tt if tt else float('nan'):.2f} |")
    return "\n".join(rows) + "\n"


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    pulmo = pulmo_kinds(sys.argv[1])
    if not pulmo:
        print(f"op_profile_table: no KIND lines in {sys.argv[1]}")
        sys.exit(1)
    with open(sys.argv[2]) as f:
        t = table(pulmo, json.load(f))
    print(t, end="")
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            f.write(t)


if __name__ == "__main__":
    main()

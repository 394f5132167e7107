#!/usr/bin/env python3
"""SGD steps of ResNet-50, DPN-92-SE and MA-Net in PyTorch (three, with one optimiser), as small reference files for
models/src/test/java/org/pulmo/models/SgdStepsParityTest.java.

The models, MA-Net's loss and the portable weight generator come from the PyTorch reference beside the
repository (../shared/anchors: models_ref.py and export_weights.py, imported by path; --anchors to point
elsewhere), so Java rebuilds the same weights and inputs from names alone (org.pulmo.models.PortableInit).

Regenerate (PyTorch >= 1.13 and torchvision; CPU is enough; about 8 minutes on one core):
    python3 models/src/test/python/anchor_steps.py | tee models/src/test/resources/anchors/steps.log
which writes models/src/test/resources/anchors/steps_<model>.safetensors (float32 throughout).

The optimiser: ONE torch.optim.SGD over all steps (Pulmo's Trainer keeps one Sgd), momentum 0.9, dampening 0,
no Nesterov, weight decay 1e-4 on every parameter except those of batch-norm layers and those named "bias"
(two parameter groups), which is Pulmo's Sgd.forModule(model, lr, 0.9, 1e-4, false, false) as the Trainer
calls it; torch.optim.SGD's update rule is Pulmo's Sgd rule, operation for operation.

Three scenarios, each from the portable weights (seed 20240601), each step on its own batch of 64 x 64 images:
  eval   3 steps, model.eval(), lr 0.1, 2 images (MA-Net: pairs). Batch norm uses its running statistics, so
         the steps are well conditioned (float32 within ~1e-4 of float64 for most parameters): the tight check
         of gradients through three updates, of momentum, of weight decay and of its exemptions. The lr is
         large so that every update is large against float32's spacing of the weight it changes (at 0.01 the
         early layers move by a few units in the last place, and no float32 result is within 1e-2 of float64
         there). MA-Net's FABs after stages 0..3 saturate here (the portable running statistics do not fit
         their inputs): their gradients are ~1e-6 and their updates are weight decay.
  train1 1 step, model.train(), lr 0.01, 4 images (pairs). The first update with batch statistics,
         -lr * (g + wd * p): as conditioned as one train-mode gradient (float32 vs float64 ~1e-2), with the FABs
         awake; the train-mode check of every parameter's update at a tolerance near 5e-2.
  train  3 steps, model.train(), lr 1e-6, 4 images (pairs). The running statistics move (momentum 0.1,
         unbiased variance) at every forward (MA-Net: twice a step, main path then mutex path). A randomly
         initialised network normalised by batch statistics is chaotic: its gradients are large and
         ill-conditioned, and whatever a step gets wrong grows in the steps after it. Measured on MA-Net,
         float32 vs float64 after three steps: lr 1e-4: losses 3e-4, FAB running statistics up to 2e-1, most
         parameters' updates 0.1..0.5; lr 1e-5: the third loss 1.2e-3, running statistics up to 4e-2;
         lr 1e-6: losses 6e-6, running statistics 1e-6 (median) to 1e-3 (worst). So the steps are tiny: this
         scenario checks the running statistics over several steps, the losses, and the updates wherever
         float32 resolves them (many are a few units in the last place).
  Inputs of step s (0-based): x = u * k, u portable uniform [-1, 1) named "steps.<scenario>.<s>.x" (MA-Net
  also ".m"), shape [B, 3, 64, 64], k a per-image scale, portable uniform [0.25, 2) named "<that name>.scale",
  shape [B]; rounded to float32 once, as Java's float multiply. Images of different contrast make the batch
  statistics of MA-Net's FAB (a BatchNorm1d over the batch of pooled vectors) better conditioned than
  images that differ in noise alone. Labels: portable labels "steps.<scenario>.<s>.y" (MA-Net .y_x, .y_m).
  Every scenario runs in float32 and, from the same float32 weights and inputs, in float64 (the truth).

Entries: every parameter (model.named_parameters() order, metadata "params") and, in train mode, every batch
norm's running_mean and running_var (named_modules() order, metadata "bn"). Digest of an entry, with
d = value after the scenario's steps - value before:
  norm      ||d||_2
  samples   d at SAMPLES = 16 flat indices from a 64-bit LCG (Knuth's MMIX constants):
              state = fnv1a64(entry name)                (export_weights.fnv1a64, as PortableInit)
              repeat: state = state * 6364136223846793005 + 1442695040888963407  (mod 2^64)
                      index = (state >> 33) mod numel
  The norm sees every element; the samples see values and signs.

Tensors in steps_<model>.safetensors:
  <sc>.f64.loss, <sc>.f32.loss         [steps]  the loss of each step (before its update)
  <sc>.f64.norm, <sc>.f32.norm         [E]      ||d|| per entry
  <sc>.f64.samples, <sc>.f32.samples   [E, 16]  d at the LCG indices
  mutant.<sc>.<name>.norm, .samples             float64 digests of a deliberately wrong run (metadata
                                                "mutants.<sc>": no_weight_decay, decay_norm_and_bias,
                                                no_momentum, half_grad of "<sc>.half_grad_param"); the
                                                test checks that its own comparison rejects each
Metadata: the settings ("scenarios", "<sc>.lr", "<sc>.batch", "<sc>.train", "<sc>.steps", momentum,
weight_decay, seed, ...), the parameters spared weight decay ("no_decay"), an LCG probe, the torch version.
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import struct
import sys
import time
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))

SEED = 20240601
SAMPLES = 16
MOMENTUM, WEIGHT_DECAY = 0.9, 1e-4
IMAGE = 64
LCG_A, LCG_C = 6364136223846793005, 1442695040888963407
M64 = (1 << 64) - 1

# model: (classes, {scenario: parameter whose gradient the mutant "half_grad" halves}). MA-Net's FAB after
# stages 0..3 saturates in eval mode (its running statistics are the portable ones), so there a FAB-4 weight.
MODELS = {
    "resnet50": (1000, {"eval": "layer3.5.conv3.weight", "train1": "layer3.5.conv3.weight"}),
    "dpn92se": (4, {"eval": "features.conv2_1.se.fc1.weight", "train1": "features.conv2_1.se.fc1.weight"}),
    "manet": (2, {"eval": "fab.4.fc_a.weight", "train1": "fab.1.fc_a.weight"}),
}
# batch: images per step (MA-Net: pairs)
SCENARIOS = {
    "eval": {"train": False, "lr": 0.1, "batch": 2, "steps": 3},
    "train": {"train": True, "lr": 1e-6, "batch": 4, "steps": 3},
    "train1": {"train": True, "lr": 0.01, "batch": 4, "steps": 1},
}
# Deliberately wrong runs (float64), per scenario: the test must reject each.
MUTANTS = {
    "eval": ["no_weight_decay", "decay_norm_and_bias", "no_momentum", "half_grad"],
    "train": ["no_momentum"],
    "train1": ["half_grad"],
}


def load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------------------ digest indices


def lcg_indices(fnv1a64, name: str, numel: int, count: int = SAMPLES) -> List[int]:
    state = fnv1a64(name)
    out = []
    for _ in range(count):
        state = (state * LCG_A + LCG_C) & M64
        out.append((state >> 33) % numel)
    return out


# --------------------------------------------------------------------------------- safetensors


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Dict[str, str]) -> None:
    """8-byte little-endian header length, JSON header (padded to 8), raw little-endian data."""
    dtypes = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8")}
    header: Dict[str, object] = {}
    blobs = []
    off = 0
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        dtype, layout = dtypes[t.dtype]
        b = t.numpy().astype(layout, copy=False).tobytes()
        header[k] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


# -------------------------------------------------------------------------------------- steps


def step_inputs(ew, name: str, scenario: str, step: int, batch: int, classes: int) -> Dict[str, torch.Tensor]:
    base = f"steps.{scenario}.{step}"

    def image(key: str) -> torch.Tensor:
        u = ew.portable_uniform(SEED, key, (batch, 3, IMAGE, IMAGE), -1.0, 1.0)
        k = ew.portable_uniform(SEED, key + ".scale", (batch,), 0.25, 2.0)
        return u * k[:, None, None, None]          # float32 * float32, rounded once

    if name == "manet":
        return {"x": image(base + ".x"), "m": image(base + ".m"),
                "y_x": ew.portable_labels(SEED, base + ".y_x", batch, classes),
                "y_m": ew.portable_labels(SEED, base + ".y_m", batch, classes)}
    return {"x": image(base + ".x"), "y": ew.portable_labels(SEED, base + ".y", batch, classes)}


def no_decay_names(model: torch.nn.Module) -> List[str]:
    """Pulmo's Sgd.noDecayNames: the parameters of batch-norm layers and every parameter named "bias"."""
    out = []
    for mname, mod in model.named_modules():
        for local, _ in mod.named_parameters(recurse=False):
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm) or local == "bias":
                out.append(f"{mname}.{local}" if mname else local)
    return out


def loss_of(models_ref, name: str, m: torch.nn.Module, b: Dict[str, torch.Tensor]) -> torch.Tensor:
    if name == "manet":
        out = m(b["x"], b["m"])
        loss, _ = models_ref.manet_loss(out, b["y_x"], b["y_m"])
        return loss
    return F.cross_entropy(m(b["x"]), b["y"])


def run_steps(models_ref, name: str, model0: torch.nn.Module, batches, scenario: str, dtype: torch.dtype,
              mutant: Optional[str], half_param: str, fnv1a64) -> Dict[str, torch.Tensor]:
    """The scenario's steps from model0 in dtype; returns the losses and the digests of every entry."""
    train, lr = SCENARIOS[scenario]["train"], SCENARIOS[scenario]["lr"]
    m = copy.deepcopy(model0).to(dtype)
    m.train(train)
    exempt = set(no_decay_names(m))
    named = list(m.named_parameters())
    decayed = [p for n, p in named if n not in exempt]
    undecayed = [p for n, p in named if n in exempt]
    wd = 0.0 if mutant == "no_weight_decay" else WEIGHT_DECAY
    opt = torch.optim.SGD([{"params": decayed, "weight_decay": wd},
                           {"params": undecayed, "weight_decay": wd if mutant == "decay_norm_and_bias" else 0.0}],
                          lr=lr, momentum=0.0 if mutant == "no_momentum" else MOMENTUM)
    entries = entry_tensors(m, train)
    before = {n: t.detach().clone() for n, t in entries.items()}
    params = dict(named)
    losses = []
    for b in batches:
        b = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in b.items()}
        opt.zero_grad()
        loss = loss_of(models_ref, name, m, b)
        loss.backward()
        if mutant == "half_grad":
            params[half_param].grad.mul_(0.5)
        opt.step()
        losses.append(loss.detach().reshape(1))
    norms, samples = [], []
    for n, t in entries.items():
        d = (t.detach() - before[n]).reshape(-1)
        norms.append(d.norm().reshape(1))
        samples.append(d[torch.tensor(lcg_indices(fnv1a64, n, d.numel()))].reshape(1, -1))
    return {"loss": torch.cat(losses).cpu(), "norm": torch.cat(norms).cpu(), "samples": torch.cat(samples).cpu()}


def entry_tensors(m: torch.nn.Module, train: bool) -> Dict[str, torch.Tensor]:
    """What a scenario digests: every parameter and, in train mode, every batch norm's running statistics."""
    out = dict(m.named_parameters())
    if train:
        for n, mod in m.named_modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                out[f"{n}.running_mean"] = mod.running_mean
                out[f"{n}.running_var"] = mod.running_var
    return out


def digest_error(a: Dict[str, torch.Tensor], truth: Dict[str, torch.Tensor], i: int, numel: int) -> float:
    """As the Java test measures it: the larger of the norm's relative error and the samples' error relative
    to what 16 samples of the true update weigh on average (sqrt(16 / numel) * ||d||)."""
    tn = truth["norm"][i].item()
    if tn == 0:
        return float("inf") if a["norm"][i].item() != 0 else 0.0
    e_norm = abs(a["norm"][i].item() - tn) / tn
    e_samp = (a["samples"][i].double() - truth["samples"][i].double()).norm().item() / (tn * (SAMPLES / numel) ** 0.5)
    return max(e_norm, e_samp)


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    den = b.double().norm().item()
    num = (a.double() - b.double()).norm().item()
    return num / den if den > 0 else num


def export(name: str, models_ref, ew, out_dir: str) -> None:
    classes, half_params = MODELS[name]
    t0 = time.time()
    torch.manual_seed(SEED)
    model = models_ref.build_model(name, classes)
    ew.portable_init_(model, SEED)
    pnames = [n for n, _ in model.named_parameters()]
    assert all(p in pnames for p in half_params.values())
    bn_names = [n for n, mod in model.named_modules() if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)]
    tensors: Dict[str, torch.Tensor] = {}
    for scenario, cfg in SCENARIOS.items():
        batch = cfg["batch"]
        half_param = half_params.get(scenario, "")
        batches = [step_inputs(ew, name, scenario, s, batch, classes) for s in range(cfg["steps"])]
        entries = entry_tensors(model, cfg["train"])
        numel = [t.numel() for t in entries.values()]
        r32 = run_steps(models_ref, name, model, batches, scenario, torch.float32, None, half_param, ew.fnv1a64)
        r64 = run_steps(models_ref, name, model, batches, scenario, torch.float64, None, half_param, ew.fnv1a64)
        for k in r64:
            tensors[f"{scenario}.f64.{k}"] = r64[k].float()
            tensors[f"{scenario}.f32.{k}"] = r32[k].float()
        errs = [digest_error(r32, r64, i, numel[i]) for i in range(len(numel))]
        srt = sorted(errs)
        worst = max(range(len(errs)), key=lambda i: errs[i])
        print(f"  {name} {scenario} (lr {cfg['lr']}, batch {batch}): loss f64 "
              f"{[f'{v:.6g}' for v in r64['loss'].tolist()]}, f32 rel err {rel(r32['loss'], r64['loss']):.1e}; "
              f"digests f32 vs f64 median {srt[len(srt) // 2]:.1e}, 90% {srt[int(0.9 * len(srt))]:.1e}, "
              f"worst {srt[-1]:.1e} ({list(entries)[worst]}); <= 1e-2: {sum(e <= 1e-2 for e in errs)} of {len(errs)}",
              flush=True)
        for mutant in MUTANTS[scenario]:
            rm = run_steps(models_ref, name, model, batches, scenario, torch.float64, mutant, half_param, ew.fnv1a64)
            tensors[f"mutant.{scenario}.{mutant}.norm"] = rm["norm"].float()
            tensors[f"mutant.{scenario}.{mutant}.samples"] = rm["samples"].float()
            d = [digest_error(rm, r64, i, numel[i]) / max(errs[i], 1e-3) for i in range(len(numel))]
            far = max(range(len(d)), key=lambda i: d[i])
            print(f"    mutant {scenario}.{mutant}: distance / max(f32 error, 1e-3) largest {d[far]:.1e} "
                  f"({list(entries)[far]}), > 10 on {sum(v > 10 for v in d)} entries", flush=True)
    meta = {
        "model": name, "num_classes": str(classes), "image_size": str(IMAGE), "seed": str(SEED),
        "init": ew.INIT_VERSION, "momentum": repr(MOMENTUM), "weight_decay": repr(WEIGHT_DECAY),
        "samples": str(SAMPLES), "params": ",".join(pnames), "no_decay": ",".join(no_decay_names(model)),
        "bn": ",".join(bn_names), "scenarios": ",".join(SCENARIOS),
        "lcg_probe": ",".join(str(i) for i in lcg_indices(ew.fnv1a64, "probe", 1_000_003)),
        "torch": torch.__version__, "generator": "models/src/test/python/anchor_steps.py",
    }
    for scenario, cfg in SCENARIOS.items():
        meta[f"{scenario}.train"] = str(cfg["train"]).lower()
        meta[f"{scenario}.lr"] = repr(cfg["lr"])
        meta[f"{scenario}.batch"] = str(cfg["batch"])
        meta[f"{scenario}.steps"] = str(cfg["steps"])
        if scenario in half_params:
            meta[f"{scenario}.half_grad_param"] = half_params[scenario]
        meta[f"mutants.{scenario}"] = ",".join(MUTANTS[scenario])
    path = os.path.join(out_dir, f"steps_{name}.safetensors")
    write_safetensors(path, tensors, meta)
    shown = os.path.relpath(path, REPO) if os.path.abspath(path).startswith(REPO + os.sep) else path
    print(f"  wrote {shown} ({os.path.getsize(path) / 1024:.0f} KiB, {len(tensors)} tensors) in {time.time() - t0:.0f} s",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anchors", default=os.path.join(REPO, "..", "shared", "anchors"),
                    help="folder with models_ref.py and export_weights.py (default ../shared/anchors)")
    ap.add_argument("--out", default=os.path.join(REPO, "models", "src", "test", "resources", "anchors"))
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.anchors))     # models_ref imports nothing else of the folder
    models_ref = load(os.path.join(args.anchors, "models_ref.py"), "models_ref")
    ew = load(os.path.join(args.anchors, "export_weights.py"), "export_weights")
    torch.set_num_threads(1)                               # one summation order, whatever the machine
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, seed {SEED}, SGD (momentum {MOMENTUM}, weight decay "
          f"{WEIGHT_DECAY}), image {IMAGE}, scenarios {SCENARIOS}", flush=True)
    for name in args.models.split(","):
        export(name, models_ref, ew, args.out)


if __name__ == "__main__":
    main()

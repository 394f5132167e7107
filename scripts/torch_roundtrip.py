#!/usr/bin/env python3
"""PyTorch's side of Pulmo's weight round trip (driven by scripts/torch-roundtrip.sh).

  make   a seeded PyTorch model with non-trivial BatchNorm statistics -> its state dict (safetensors), and with
         --input an input batch, for `pulmo train --init-from` and for Pulmo's logits on that input.
  check  a state dict (PyTorch's own, or one written by `pulmo export`) -> load_state_dict(strict=True) into the
         PyTorch model -> eval-mode logits on the input, compared with the logits Pulmo computed.

Models: resnet50 and manet-resnet50 (torchvision's resnet50: MA-Net's export is its backbone, which is what MA-Net
runs at inference), dpn92 and dpn92-se (DPN92 below, with timm's parameter names; its conv5_bn_ac ends in ReLU as
Pulmo's does, where timm's dpn92 uses ELU). DPN92(num_classes, se=True) is the PyTorch counterpart of Pulmo's
dpn92-se export:

    import sys; sys.path.insert(0, "scripts")
    from torch_roundtrip import DPN92, read_safetensors
    m = DPN92(num_classes=4, se=True); m.load_state_dict(read_safetensors("model.safetensors")[0])

Needs PyTorch and torchvision only: safetensors files are read and written here by hand (an 8-byte little-endian
header length, a JSON header, then the raw little-endian data).
"""
from __future__ import annotations

import argparse
import copy
import json
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

# ------------------------------------------------------------------------------------------ safetensors

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}


def read_safetensors(path):
    """Tensors in file order and the metadata strings."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    meta = header.pop("__metadata__", {}) or {}
    out = OrderedDict()
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        dtype, shape = DTYPES[info["dtype"]], info["shape"]
        if end > begin:
            t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(shape)
        else:
            t = torch.empty(shape, dtype=dtype)
        out[name] = t.clone()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        b = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ------------------------------------------------------------------------------------------ DPN-92 (-SE)
# Chen et al., "Dual Path Networks" (2017), with timm's parameter names so that the state dicts are
# interchangeable with timm's dpn92 and with Pulmo's Dpn. Every BatchNorm has eps 1e-3.

BN_EPS = 1e-3


class BnActConv2d(nn.Module):
    """Pre-activation unit: BN -> ReLU -> conv (no bias)."""

    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin, eps=BN_EPS)
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)

    def forward(self, x):
        return self.conv(F.relu(self.bn(x)))


class StemConv(nn.Module):
    """conv1_1: 7x7/2 conv -> BN -> ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 7, 2, 3, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class SqueezeExcitation(nn.Module):
    """t * sigmoid(fc2(relu(fc1(mean over H, W of t)))), hidden width C // 16 (Pulmo's SqueezeExcitation)."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Linear(channels, max(1, channels // reduction))
        self.fc2 = nn.Linear(max(1, channels // reduction), channels)

    def forward(self, t):
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(t.mean((2, 3))))))
        return t * g[:, :, None, None]


class DualPathBlock(nn.Module):
    """Reads (resid, dense) concatenated; adds bw channels to the residual path and appends inc to the dense one.
    kind: 'proj' (first block of conv2), 'down' (first of conv3..5, stride 2), 'normal'. With se, the
    squeeze-excitation gates the whole bw + inc output of c1x1_c before the split (Pulmo's dpn92-se)."""

    def __init__(self, cin, r, bw, inc, groups, kind, se):
        super().__init__()
        self.bw = bw
        stride = 2 if kind == "down" else 1
        if kind == "proj":
            self.c1x1_w_s1 = BnActConv2d(cin, bw + 2 * inc, 1)
        elif kind == "down":
            self.c1x1_w_s2 = BnActConv2d(cin, bw + 2 * inc, 1, 2)
        self.proj = kind != "normal"
        self.c1x1_a = BnActConv2d(cin, r, 1)
        self.c3x3_b = BnActConv2d(r, r, 3, stride, groups)
        self.c1x1_c = BnActConv2d(r, bw + inc, 1)
        self.se = SqueezeExcitation(bw + inc) if se else None

    def forward(self, x):
        resid, dense = x
        x_in = resid if dense is None else torch.cat([resid, dense], 1)
        if self.proj:
            s = (self.c1x1_w_s1 if hasattr(self, "c1x1_w_s1") else self.c1x1_w_s2)(x_in)
            resid, dense = s[:, :self.bw], s[:, self.bw:]
        t = self.c1x1_c(self.c3x3_b(self.c1x1_a(x_in)))
        if self.se is not None:
            t = self.se(t)
        return resid + t[:, :self.bw], torch.cat([dense, t[:, self.bw:]], 1)


class CatBnAct(nn.Module):
    """conv5_bn_ac: BN -> ReLU (timm's dpn92: ELU, with the same parameters)."""

    def __init__(self, c, elu=False):
        super().__init__()
        self.bn = nn.BatchNorm2d(c, eps=BN_EPS)
        self.elu = elu

    def forward(self, x):
        x = self.bn(x)
        return F.elu(x) if self.elu else F.relu(x)


class Features(nn.Sequential):
    def forward(self, x):
        x = self.conv1_pool(self.conv1_1(x))
        p = (x, None)
        for name, block in self.named_children():
            if isinstance(block, DualPathBlock):
                p = block(p)
        return self.conv5_bn_ac(torch.cat(p, 1))


class DPN92(nn.Module):
    """k_r 96, groups 32, blocks (3, 4, 20, 3), dense increments (16, 32, 24, 128); classifier a 1x1 conv."""

    def __init__(self, num_classes=1000, se=False, elu=False):
        super().__init__()
        blocks = OrderedDict(conv1_1=StemConv(3, 64), conv1_pool=nn.MaxPool2d(3, 2, 1))
        cin = 64
        for s, (n, inc) in enumerate(zip((3, 4, 20, 3), (16, 32, 24, 128))):
            bw, r = 256 << s, 96 << s
            for i in range(1, n + 1):
                kind = "normal" if i > 1 else ("proj" if s == 0 else "down")
                blocks[f"conv{s + 2}_{i}"] = DualPathBlock(cin, r, bw, inc, 32, kind, se)
                cin = bw + 3 * inc if i == 1 else cin + inc
        blocks["conv5_bn_ac"] = CatBnAct(cin, elu)
        self.features = Features(blocks)
        self.classifier = nn.Conv2d(cin, num_classes, 1, bias=True)

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1)).flatten(1)


# ------------------------------------------------------------------------------------------ models


def build(model, classes):
    if model in ("resnet50", "manet-resnet50"):
        import torchvision
        return torchvision.models.resnet50(num_classes=classes)
    if model in ("dpn92", "dpn92-se"):
        return DPN92(classes, se=model == "dpn92-se")
    raise SystemExit(f"torch_roundtrip.py: unknown model {model} (resnet50, manet-resnet50, dpn92, dpn92-se)")


def head_rows(sd):
    for k in ("fc.weight", "classifier.weight"):
        if k in sd:
            return sd[k].shape[0]
    raise SystemExit("torch_roundtrip.py: the state dict has no fc.weight or classifier.weight")


def make(args):
    """Seeded weights; BatchNorm's affine parameters drawn away from 1 and 0 and its running statistics taken from
    a few train-mode passes, so that eval mode really reads them; one input batch."""
    torch.manual_seed(args.seed)
    m = build(args.model, args.classes)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0.0, 0.2)
        m.train()
        for _ in range(3):
            m(torch.randn(4, 3, args.size, args.size))
    write_safetensors(args.weights, m.state_dict(), {"format": "pt"})
    print(f"{args.model}: {len(m.state_dict())} tensors ({args.classes} classes) -> {args.weights}")
    if args.input:
        torch.manual_seed(args.seed + 1)
        write_safetensors(args.input, {"input": torch.randn(args.batch, 3, args.size, args.size)})
        print(f"input [{args.batch}, 3, {args.size}, {args.size}] -> {args.input}")


def check(args):
    sd, _ = read_safetensors(args.weights)
    x = read_safetensors(args.input)[0]["input"]
    pulmo = read_safetensors(args.logits)[0]["logits"].double()
    m = build(args.model, head_rows(sd))
    m.load_state_dict(sd, strict=True)  # raises on any missing, unexpected or differently shaped tensor
    m.eval()
    with torch.no_grad():
        y32 = m(x).double()
        y64 = copy.deepcopy(m).double()(x.double())
    if pulmo.shape != y32.shape:
        raise SystemExit(f"{args.model}: Pulmo's logits {list(pulmo.shape)}, PyTorch's {list(y32.shape)}")
    scale = y64.abs().max().item()
    err = (pulmo - y32).abs().max().item()
    own = (y32 - y64).abs().max().item()
    vs64 = (pulmo - y64).abs().max().item()
    ok = err <= args.tol * scale
    print(f"{args.model} ({args.what}): load_state_dict(strict=True) took all {len(sd)} tensors; logits {list(y32.shape)}, "
          f"max |logit| {scale:.4g}")
    print(f"  max |Pulmo - PyTorch f32| = {err:.3g} (relative to max |logit|: {err / scale:.3g}); "
          f"Pulmo vs PyTorch f64 {vs64 / scale:.3g}, PyTorch f32 vs f64 {own / scale:.3g}: "
          f"{'ok' if ok else 'MISMATCH'} (tolerance {args.tol:g})")
    if args.summary:
        with open(args.summary, "a") as f:
            f.write(f"{args.model:15s} {args.what:17s} {err / scale:9.3g}   (PyTorch's own f32 vs f64: {own / scale:.3g})"
                    f"{'' if ok else '  MISMATCH'}\n")
    if args.model == "dpn92":
        timm_note(sd, x, y32, scale)
    return 0 if ok else 1


def timm_note(sd, x, y32, scale):
    """timm's dpn92 takes the same state dict, but its conv5_bn_ac applies ELU where Pulmo (and DPN92 above) apply
    ReLU: how far its logits are from Pulmo's, by DPN92 with ELU and, where timm is installed, by timm itself."""
    elu = DPN92(head_rows(sd), elu=True)
    elu.load_state_dict(sd, strict=True)
    with torch.no_grad():
        d = (elu.eval()(x).double() - y32).abs().max().item()
    print(f"  with ELU in conv5_bn_ac, as timm's default dpn92, the logits would differ by up to {d:.3g} ({d / scale:.2g} of max |logit|)")
    try:
        import timm
    except ImportError:
        return
    for act in ("elu", "relu"):
        try:
            t = timm.create_model("dpn92", pretrained=False, num_classes=head_rows(sd), fc_act_layer=act)
        except TypeError:  # older timm: no fc_act_layer
            continue
        t.load_state_dict(sd, strict=True)
        with torch.no_grad():
            d = (t.eval()(x).double() - y32).abs().max().item()
        print(f"  timm {timm.__version__} dpn92, fc_act_layer={act!r}: load_state_dict(strict=True) ok; "
              f"max |timm - DPN92| = {d:.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make", help="seeded PyTorch weights and an input batch")
    a.add_argument("--model", required=True)
    a.add_argument("--classes", type=int, default=1000)
    a.add_argument("--size", type=int, default=64)
    a.add_argument("--batch", type=int, default=2)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--weights", required=True, help="state dict to write")
    a.add_argument("--input", help="also write an input batch here (tensor 'input')")
    c = sub.add_parser("check", help="load a state dict strictly and compare eval logits with Pulmo's")
    c.add_argument("--model", required=True)
    c.add_argument("--weights", required=True)
    c.add_argument("--input", required=True)
    c.add_argument("--logits", required=True, help="Pulmo's logits (tensor 'logits')")
    c.add_argument("--what", default="", help="a label for the printout")
    c.add_argument("--summary", help="append one line with the result to this file")
    c.add_argument("--tol", type=float, default=1e-4, help="largest |Pulmo - PyTorch| relative to max |logit|")
    args = ap.parse_args()
    sys.exit(make(args) if args.cmd == "make" else check(args))


if __name__ == "__main__":
    main()

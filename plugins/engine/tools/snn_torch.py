"""PyTorch counterparts of snnergy's engine, for training, cross-checking and benchmarking.

Run with Debian's PyTorch (`apt-get install python3-torch`, then /usr/bin/python3). Nothing
here is needed by snnergy's tests.

- `vgg_layers(in_ch)`: the VGG-style network of pipelines/engine-fashion-mnist.toml, as an
  nn.Sequential whose module indices give the same tensor names as the engine
  (features.0.weight, features.1.running_var, ..., classifier.weight).
- `QT`: the quantizer Q(z) = floor(clamp(T z / theta, 0, T)) / T with a straight-through
  gradient (clipped to the linear range), the paper's Eq. 2 at theta = 1.
- `snn_run`: the converted SNN stepped in time exactly as the engine does it (BatchNorm folded
  with the same formula, IF neurons with reset by subtraction, spikes of layer l at step t reach
  layer l + 1 at step t, direct input coding, membrane readout).
- safetensors reading and writing by hand (8-byte header length, JSON header, raw data), so no
  extra package is needed.
"""

import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-5
FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim :], dtype=np.uint8).reshape(dims)


def fashion_mnist(split="test", folder=FMNIST):
    p = "t10k" if split == "test" else "train"
    x = read_idx(os.path.join(folder, f"{p}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(folder, f"{p}-labels-idx1-ubyte.gz"))
    # Same scaling as the engine: byte / 255 in float32.
    x = torch.from_numpy(x.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    return x, torch.from_numpy(y.astype(np.int64))


class QT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, T, theta):
        ctx.save_for_backward(z)
        ctx.theta = theta
        return torch.floor(torch.clamp(T * z / theta, 0, T)) / T

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        inside = (z >= 0) & (z <= ctx.theta)
        return g * inside / ctx.theta, None, None


class Quant(nn.Module):
    def __init__(self, T, theta=1.0):
        super().__init__()
        self.T, self.theta = T, theta

    def forward(self, z):
        return QT.apply(z, self.T, self.theta)


def vgg_layers(in_ch=1, size=28, T=6, theta=1.0, classes=10):
    """features: [conv, bn, Q] x2, pool, [conv, bn, Q] x2, pool, conv, bn, Q, pool; classifier."""
    q = lambda: Quant(T, theta)
    conv = lambda i, o: nn.Conv2d(i, o, 3, padding=1, bias=False)
    features = nn.Sequential(
        conv(in_ch, 32), nn.BatchNorm2d(32), q(),
        conv(32, 32), nn.BatchNorm2d(32), q(),
        nn.AvgPool2d(2),
        conv(32, 64), nn.BatchNorm2d(64), q(),
        conv(64, 64), nn.BatchNorm2d(64), q(),
        nn.AvgPool2d(2),
        conv(64, 128), nn.BatchNorm2d(128), q(),
        nn.AvgPool2d(2),
    )
    side = size // 8
    model = nn.Module()
    model.features = features
    model.classifier = nn.Linear(128 * side * side, classes)
    model.forward = lambda x: model.classifier(torch.flatten(model.features(x), 1))
    return model


def save_safetensors(path, tensors, meta=None):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = tensors[name].detach().cpu().contiguous().to(torch.float32).numpy()
        b = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: only F32 is read here"
        s, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[s:e], dtype="<f4").copy()).reshape(info["shape"])
    return out


def state_for_engine(model):
    """The state dict without num_batches_tracked (the engine ignores it anyway)."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def folded_layers(weights, in_ch=1, size=28):
    """The network as the engine compiles it: (kind, params) with BatchNorm folded the same way
    (s = gamma / sqrt(var + eps) in float32; W' = W s; b' = (b - mean) s + beta)."""
    layers = []
    for i in (0, 3, 7, 10, 14):
        w = weights[f"features.{i}.weight"]
        g = weights[f"features.{i + 1}.weight"]
        beta = weights[f"features.{i + 1}.bias"]
        mu = weights[f"features.{i + 1}.running_mean"]
        var = weights[f"features.{i + 1}.running_var"]
        s = g / torch.sqrt(var + torch.tensor(BN_EPS, dtype=torch.float32))
        wf = w * s.view(-1, 1, 1, 1)
        bf = (torch.zeros_like(s) - mu) * s + beta
        layers.append(("conv", f"features.{i}", wf, bf))
        if i in (3, 10, 14):
            layers.append(("pool", f"features.{i + 3}", None, None))
    layers.append(("linear", "classifier", weights["classifier.weight"], weights["classifier.bias"]))
    return layers


def twin_run(layers, x, T, theta):
    """The QNN twin on the folded network: per neuron layer the counts floor(clamp(T z/theta))."""
    counts = {}
    a = x
    for kind, name, w, b in layers:
        if kind == "conv":
            z = F.conv2d(a, w, b, padding=1)
            c = torch.floor(torch.clamp(T * z / theta, 0, T))
            counts[name] = c
            a = c / T
        elif kind == "pool":
            a = F.avg_pool2d(a, 2)
        else:
            a = F.linear(torch.flatten(a, 1), w, b)
    return counts, a


@torch.no_grad()
def snn_run(layers, x, T, theta, record=True):
    """The converted SNN, step by step. Returns per-layer spike counts (per neuron) and the
    integrated output."""
    mem = {}
    counts = {}
    cache = {}
    out = None
    for t in range(T):
        s = x
        for kind, name, w, b in layers:
            if kind == "conv":
                if s is x:
                    # Direct coding: the image, hence the first layer's current, is the same
                    # at every step (the engine computes it once too).
                    if name not in cache:
                        cache[name] = F.conv2d(x, w, b, padding=1)
                    z = cache[name]
                else:
                    z = F.conv2d(s, w, b, padding=1)
                v = mem.get(name)
                v = z if v is None else v + z
                spk = (v >= theta).to(z.dtype)
                v = v - spk * theta
                mem[name] = v
                if record:
                    counts[name] = spk if name not in counts else counts[name] + spk
                s = spk
            elif kind == "pool":
                s = F.avg_pool2d(s, 2)
            else:
                z = F.linear(torch.flatten(s, 1), w, b)
                out = z if out is None else out + z
    return counts, out

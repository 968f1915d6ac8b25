"""Reference implementation in PyTorch: the same converted SNN and QNN twin as snnergy's
engine, on the same weights and images, and a per-layer comparison with the profile the engine
wrote.

    cargo run --release -p snnergy-cli -- engine --model pipelines/engine-fashion-mnist.toml \
        --weights pipelines/weights/fmnist-vgg-t6.safetensors --samples 1000 --out /tmp/engine.json
    /usr/bin/python3 plugins/engine/tools/reference.py \
        --weights pipelines/weights/fmnist-vgg-t6.safetensors --samples 1000 --engine /tmp/engine.json

Both sides fold BatchNorm with the same float32 formula and step the same IF neurons; they
differ only in the order the convolutions sum their terms, so a neuron whose membrane lands
within f32 rounding of the threshold may fire in one and not the other. The script prints
both counts per layer and their difference.
"""

import argparse
import json

import torch

from snn_torch import FMNIST, fashion_mnist, folded_layers, load_safetensors, snn_run, twin_run

p = argparse.ArgumentParser()
p.add_argument("--weights", required=True)
p.add_argument("--data", default=FMNIST)
p.add_argument("--samples", type=int, default=1000)
p.add_argument("--T", type=int, default=6)
p.add_argument("--theta", type=float, default=1 - 1e-4)
p.add_argument("--batch", type=int, default=250)
p.add_argument("--engine", help="profile JSON written by `snnergy engine --out`")
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)

x, y = fashion_mnist("test", a.data)
x, y = x[: a.samples], y[: a.samples]
layers = folded_layers(load_safetensors(a.weights))
theta = torch.tensor(a.theta, dtype=torch.float32).item()
theta32 = float(torch.tensor(a.theta, dtype=torch.float32))

spikes, twin, nonzero, neurons = {}, {}, {}, {}
agree = snn_ok = twin_ok = 0
with torch.no_grad():
    for j in range(0, len(x), a.batch):
        xb = x[j : j + a.batch]
        counts, out = snn_run(layers, xb, a.T, theta32)
        tcounts, tout = twin_run(layers, xb, a.T, theta32)
        for name, c in counts.items():
            spikes[name] = spikes.get(name, 0) + int(c.sum().item())
            twin[name] = twin.get(name, 0) + int(tcounts[name].sum().item())
            nonzero[name] = nonzero.get(name, 0) + int((tcounts[name] > 0).sum().item())
            neurons[name] = c[0].numel()
        sc, tc = out.argmax(1), tout.argmax(1)
        agree += int((sc == tc).sum())
        snn_ok += int((sc == y[j : j + a.batch]).sum())
        twin_ok += int((tc == y[j : j + a.batch]).sum())

n = len(x)
engine = {}
if a.engine:
    for l in json.load(open(a.engine))["layers"]:
        engine[l["name"]] = l
print(f"PyTorch reference: {n} images, T = {a.T}, theta = {theta32}")
hdr = f"{'layer':<12} {'neurons':>8} {'torch spikes':>13} {'torch rate':>10} {'twin spikes':>12} {'twin nonzero':>12}"
if engine:
    hdr += f" {'engine spikes':>14} {'engine rate':>11} {'diff':>7} {'rel diff':>9} {'nonzero diff':>12}"
print(hdr)
worst = 0.0
for name in spikes:
    rate = spikes[name] / (neurons[name] * n * a.T)
    nz = nonzero[name] / (neurons[name] * n)
    line = f"{name:<12} {neurons[name]:>8} {spikes[name]:>13} {rate:>10.5f} {twin[name]:>12} {nz:>12.5f}"
    if name in engine:
        e = engine[name]
        d = e["spikes"] - spikes[name]
        rel = d / max(spikes[name], 1)
        worst = max(worst, abs(rel))
        line += f" {e['spikes']:>14} {e['spike_rate']:>11.5f} {d:>7} {rel:>9.2e} {e['nonzero'] - nz:>12.2e}"
    print(line)
print(f"top-1 agreement SNN/twin {agree / n:.4f}; accuracy SNN {snn_ok / n:.4f}, twin {twin_ok / n:.4f}")
if engine:
    print(f"largest relative difference in per-layer spike counts, engine vs PyTorch: {worst:.2e}")

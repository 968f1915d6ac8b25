"""What the recording hooks of snnergy.torch.record cost on a PyTorch forward pass.

    target/python-venv/bin/python plugins/python/tools/hook_overhead.py [--batches 6] [--batch 100]

Runs the shipped Fashion-MNIST network as an SNN (SpikingJelly IF neurons, T = 6) over the
committed fixture images twice per round, alternating: once as a plain loop (reset, T forward
passes per batch) and once through record(), which does the same with a hook on every neuron
module. record() also traces the model once (torch.fx on one image); that one-off cost is
timed on its own and taken out. Prints the median of the rounds.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import WEIGHTS, fixture_images  # noqa: E402
from test_torch import VGG, spikingjelly_if  # noqa: E402

import snnergy.torch as st  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--batches", type=int, default=3)
p.add_argument("--batch", type=int, default=100)
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)

from safetensors.torch import load_file  # noqa: E402

model = VGG(spikingjelly_if)
model.load_state_dict(load_file(str(WEIGHTS)), strict=False)
model.eval()
x = fixture_images(a.batches * a.batch)
loader = [x[i:i + a.batch] for i in range(0, len(x), a.batch)]
T = 6


def plain():
    with torch.no_grad():
        for xb in loader:
            st._reset_state(model)
            for _ in range(T):
                model(xb)
    st._reset_state(model)


def traced():
    st.workload(model, x[:1])


def recorded():
    st.record(model, loader, timesteps=T)


plain(), recorded()  # warm-up
rows = {"plain": [], "record": [], "trace": []}
for _ in range(a.rounds):
    for name, f in (("plain", plain), ("record", recorded), ("trace", traced)):
        t = time.perf_counter()
        f()
        rows[name].append(time.perf_counter() - t)
m = {k: statistics.median(v) for k, v in rows.items()}
hooks = m["record"] - m["trace"] - m["plain"]
print(f"{a.batches} batches of {a.batch} images, T = {T}, {a.threads} threads, median of {a.rounds} rounds")
print(f"plain forward passes: {m['plain']:.3f} s; record(): {m['record']:.3f} s, of which tracing once {m['trace']:.3f} s")
print(f"hook overhead on the forward passes: {hooks:.3f} s = {100 * hooks / m['plain']:.1f} %")

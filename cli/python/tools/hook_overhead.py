"""What the recording hooks of snnergy.torch.record cost on a PyTorch forward pass.

    target/python-venv/bin/python cli/python/tools/hook_overhead.py [--batches 6] [--batch 100] [--no-inputs]

Runs the shipped Fashion-MNIST network as an SNN (SpikingJelly IF neurons, T = 6) over the
committed fixture images twice per round, alternating: once as a plain loop (reset, T forward
passes per batch) and once through record(), which does the same with a hook on every neuron
module and, unless --no-inputs, one on the input of every convolution and linear layer. record() also traces the model once (torch.fx on one image); that one-off cost is
timed on its own and taken out.

The headline figure compares the fastest round of each: on a shared machine other processes
only ever add time (cache and memory-bandwidth contention inflate CPU time too), so the
minimum is the estimate least disturbed by them. The median and spread of the per-round ratios
are printed beside it to show how disturbed the rounds were.
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
from torch import nn  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--batches", type=int, default=3)
p.add_argument("--batch", type=int, default=100)
p.add_argument("--rounds", type=int, default=15)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--per-neuron", default="16", help="record(per_neuron=…): images per batch counted per neuron, 'all' or 0")
p.add_argument("--no-inputs", action="store_true", help="record(inputs=False): no hooks on the layers' inputs")
p.add_argument("--width", type=int, default=1,
               help="channels × this (seeded random weights when > 1): more work per neuron")
a = p.parse_args()
torch.set_num_threads(a.threads)

from safetensors.torch import load_file  # noqa: E402

if a.width == 1:
    model = VGG(spikingjelly_if)
    model.load_state_dict(load_file(str(WEIGHTS)), strict=False)
else:
    torch.manual_seed(0)
    k = a.width
    conv = lambda i, o: nn.Conv2d(i, o, 3, padding=1, bias=False)
    model = nn.Sequential(
        conv(1, 32 * k), spikingjelly_if(), conv(32 * k, 32 * k), spikingjelly_if(), nn.AvgPool2d(2),
        conv(32 * k, 64 * k), spikingjelly_if(), conv(64 * k, 64 * k), spikingjelly_if(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(64 * k * 49, 10))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight)
            m.weight.data *= 1.5
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
    st.record(model, loader, timesteps=T, per_neuron=None if a.per_neuron == "all" else int(a.per_neuron),
              inputs=not a.no_inputs)


plain(), recorded()  # warm-up
# The machine is shared: each round times the three back to back, in alternating order, in CPU
# time of this process (wall time swings with the other processes), and the overhead is the
# median over rounds of the per-round ratio.
ratios, rows = [], {"plain": [], "record": [], "trace": []}
for r in range(a.rounds):
    order = [("plain", plain), ("record", recorded), ("trace", traced)]
    if r % 2:
        order.reverse()
    got = {}
    for name, f in order:
        t = time.process_time()
        f()
        got[name] = time.process_time() - t
        rows[name].append(got[name])
    ratios.append((got["record"] - got["trace"]) / got["plain"] - 1)
best = {k: min(v) for k, v in rows.items()}
print(f"{a.batches} batches of {a.batch} images, T = {T}, width ×{a.width}, per_neuron={a.per_neuron}, "
      f"inputs {'off' if a.no_inputs else 'on'}, {a.threads} thread(s), {a.rounds} rounds, CPU time")
print(f"fastest round: plain forward passes {best['plain']:.3f} s; record() {best['record']:.3f} s, of which tracing once {best['trace']:.3f} s")
print(f"hook overhead on the forward passes: {100 * ((best['record'] - best['trace']) / best['plain'] - 1):.1f} % "
      f"(fastest rounds); per-round ratios: median {100 * statistics.median(ratios):.1f} %, "
      f"{', '.join(f'{100 * x:.1f}' for x in sorted(ratios))} %")

# Comparing separate runs swings by ±10 points on a busy machine. An accounting inside each
# record() does not: the CPU time of this thread spent in the hooks and in record()'s own work
# (per-batch sums and histograms, profile), against the CPU time of the forward passes without
# the hooks, all taken in the same run, so that contention inflates both sides alike.
spent = {"hooks": 0.0, "forward": 0.0, "trace": 0.0}
register = nn.Module.register_forward_hook
register_pre = nn.Module.register_forward_pre_hook


def timed(key, f):
    def run(*args, **kwargs):
        t = time.thread_time()
        try:
            return f(*args, **kwargs)
        finally:
            spent[key] += time.thread_time() - t
    return run


nn.Module.register_forward_hook = lambda self, hook, *a, **k: register(self, timed("hooks", hook), *a, **k)
nn.Module.register_forward_pre_hook = lambda self, hook, *a, **k: register_pre(self, timed("hooks", hook), *a, **k)
st._trace = timed("trace", st._trace)
forward = model.forward
model.forward = timed("forward", forward)  # the model's own calls; the trace runs the class's forward
shares = []
for _ in range(5):
    for k in spent:
        spent[k] = 0.0
    t = time.thread_time()
    recorded()
    total = time.thread_time() - t
    pure = spent["forward"] - spent["hooks"]
    own = total - spent["forward"] - spent["trace"]
    shares.append((spent["hooks"], own, pure))
nn.Module.register_forward_hook = register
nn.Module.register_forward_pre_hook = register_pre
model.forward = forward
hooks, own, pure = sorted(shares, key=lambda x: (x[0] + x[1]) / x[2])[len(shares) // 2]
print(f"accounted inside record() (median of {len(shares)}): hooks {hooks:.3f} s + record()'s own work {own:.3f} s "
      f"against {pure:.3f} s of forward passes: {100 * (hooks + own) / pure:.1f} % "
      f"(runs: {', '.join(f'{100 * (h + o) / p:.1f}' for h, o, p in sorted(shares, key=lambda x: (x[0] + x[1]) / x[2]))} %)")

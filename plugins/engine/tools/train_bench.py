"""Training throughput of snnergy's engine against the same training in PyTorch, in the same
run, on the same cores.

    cargo build --release -p snnergy-engine --example train_bench
    /usr/bin/python3 plugins/engine/tools/train_bench.py [--batch 128] [--steps 40] [--rounds 3]

Both sides train the VGG-style QNN of pipelines/engine-fashion-mnist.toml (five 3x3 convs with
BatchNorm and Q_T at T = 6, 2x2 average pools, a linear classifier) with Adam on the same
Fashion-MNIST training batches: forward, cross-entropy, backward, update. Each round runs
snnergy and PyTorch one after the other (each on all threads, default 2); the script prints
every measurement as a JSON line, then the medians and their ratio; the last line is
`ratio training <snnergy samples/s>/<pytorch samples/s> = <x.xx>`. On a shared machine,
--wait-idle makes every measurement wait until the other processes leave the cores idle.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
from snn_torch import FMNIST, fashion_mnist, vgg_layers  # noqa: E402
from bench import wait_idle  # noqa: E402


def torch_run(a):
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    x, y = fashion_mnist("train", a.data)
    model = vgg_layers(1, 28, T=6)
    params = list(model.features.parameters()) + list(model.classifier.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    model.features.train()
    n = len(x) - a.batch

    def step(s):
        r = (s * a.batch) % n
        loss = F.cross_entropy(model.forward(x[r : r + a.batch]), y[r : r + a.batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for s in range(a.warmup):
        step(s)
    start = time.time()
    for s in range(a.warmup, a.warmup + a.steps):
        loss = step(s)
    secs = time.time() - start
    return {
        "impl": "pytorch", "batch": a.batch, "steps": a.steps, "seconds": round(secs, 4),
        "samples_per_s": round(a.steps * a.batch / secs, 1), "threads": torch.get_num_threads(),
        "last_loss": round(loss, 4), "torch": torch.__version__,
    }


def engine_run(a):
    out = subprocess.run(
        [a.bin, "--data", a.data, "--batch", str(a.batch), "--steps", str(a.steps),
         "--warmup", str(a.warmup)],
        check=True, capture_output=True, text=True,
        env=dict(os.environ, RAYON_NUM_THREADS=str(a.threads)),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=FMNIST)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help="before each measurement, wait up to this long for the machine to be idle")
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "examples", "train_bench"))
    a = p.parse_args()
    ours, theirs = [], []
    for _ in range(a.rounds):
        if a.wait_idle:
            wait_idle(a.wait_idle)
        e = engine_run(a)
        print(json.dumps(e), flush=True)
        ours.append(e["samples_per_s"])
        if a.wait_idle:
            wait_idle(a.wait_idle)
        t = torch_run(a)
        print(json.dumps(t), flush=True)
        theirs.append(t["samples_per_s"])
    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    print(
        f"median training throughput: snnergy {m_ours:.0f} samples/s, PyTorch {m_theirs:.0f} "
        f"samples/s, ratio {m_ours / m_theirs:.2f} (batch {a.batch}, {a.threads} threads)"
    )
    print(f"ratio training {m_ours:.1f}/{m_theirs:.1f} = {m_ours / m_theirs:.2f}")


if __name__ == "__main__":
    main()

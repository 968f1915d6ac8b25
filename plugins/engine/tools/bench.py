"""Throughput and peak memory of snnergy's engine against the same SNN in PyTorch, in the same
run, on the same cores.

    cargo build --release -p snnergy-engine --example bench
    /usr/bin/python3 plugins/engine/tools/bench.py [--weights28 pipelines/weights/fmnist-vgg-t6.safetensors]

The network is the VGG-style one of pipelines/engine-fashion-mnist.toml, for 1x28x28
(Fashion-MNIST test images) and 3x32x32 inputs (the same images padded to 32x32 and repeated
over three channels, written as a CIFAR-10 binary batch so the engine reads them through its
CIFAR reader). Weights: the trained ones for 28x28 if given; otherwise PyTorch's default
initialization with BatchNorm shifts calibrated layer by layer so the QNN twin fires at a
target rate (--rates). Each measurement runs in its own process (peak memory is that
process's VmHWM). Both sides do the same work per batch: T steps of the SNN (the first layer's
current computed once, as the image does not change under direct coding) and per-layer spike
counts; with --with-twin also the QNN twin, as a measurement does. PyTorch runs its SNN densely (conv2d per step), as SNN libraries on
CPU do; the engine runs dense (im2col + GEMM), event-driven, and auto.

The last lines are one per case, `ratio <case> <snnergy images/s>/<pytorch images/s> = <x.xx>`,
with <case> as <path>:<weights>:<input> (for example `event-driven:calibrated-0.10:1x28x28`).
On a shared machine, --wait-idle makes every measurement wait until the other processes leave
the cores idle, and --baseline-bin measures another build (before a change) in the same rounds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
from snn_torch import (  # noqa: E402
    FMNIST, fashion_mnist, folded_layers, load_safetensors, save_safetensors, snn_run,
    state_for_engine, twin_run, vgg_layers,
)


def peak_rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def busy_cores(interval=1.0):
    """Cores' worth of CPU time the whole machine used over `interval` seconds."""
    def sample():
        f = [int(v) for v in open("/proc/stat").readline().split()[1:]]
        return sum(f), f[3] + f[4]
    t0, i0 = sample()
    time.sleep(interval)
    t1, i1 = sample()
    return os.cpu_count() * (1 - (i1 - i0) / max(t1 - t0, 1))


def wait_idle(limit):
    """Waits up to `limit` seconds for the machine to be idle (less than a quarter of a core
    busy); returns the busy cores seen last."""
    deadline = time.time() + limit
    busy = busy_cores()
    while busy > 0.25 and time.time() < deadline:
        busy = busy_cores()
    return busy


def images(size, n):
    x, y = fashion_mnist("test")
    x, y = x[:n], y[:n]
    if size == 32:
        x = torch.nn.functional.pad(x, (2, 2, 2, 2)).repeat(1, 3, 1, 1)
    return x, y


def torch_child(args):
    """Runs in a subprocess: the PyTorch SNN + twin on batches, prints one JSON line."""
    torch.set_num_threads(args.threads)
    ch, size = (1, 28) if args.size == 28 else (3, 32)
    layers = folded_layers(load_safetensors(args.weights), ch, size)
    x, _ = images(size, args.batch * args.batches)
    theta = float(torch.tensor(1 - 1e-4, dtype=torch.float32))
    with torch.no_grad():
        snn_run(layers, x[: args.batch], args.T, theta)  # warm-up
        twin_run(layers, x[: args.batch], args.T, theta)
        start = time.time()
        spikes = neurons = 0
        for j in range(0, len(x), args.batch):
            xb = x[j : j + args.batch]
            if args.with_twin:
                twin_run(layers, xb, args.T, theta)
            counts, _ = snn_run(layers, xb, args.T, theta)
            for c in counts.values():
                spikes += int(c.sum())
                neurons += c.numel()
        secs = time.time() - start
    print(json.dumps({
        "impl": "pytorch", "path": "dense", "input": f"{ch}x{size}x{size}", "timesteps": args.T,
        "twin": args.with_twin,
        "batch": args.batch, "images": len(x), "seconds": round(secs, 4),
        "images_per_s": round(len(x) / secs, 2), "spike_rate": round(spikes / (neurons * args.T), 5),
        "peak_rss_mib": round(peak_rss_mib(), 1), "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))


def calibrate(model, x, T, target):
    """Shift each BatchNorm's beta so the twin's mean rate at that layer is `target`."""
    layers_idx = (0, 3, 7, 10, 14)
    with torch.no_grad():
        for i in layers_idx:
            bn = model.features[i + 1]
            base = bn.bias.clone()
            lo, hi = -8.0, 8.0
            for _ in range(30):
                mid = (lo + hi) / 2
                bn.bias.copy_(base - mid)
                w = state_for_engine(model)
                counts, _ = twin_run(folded_layers(w), x, T, 1 - 1e-4)
                rate = float(counts[f"features.{i}"].mean()) / T
                if rate > target:
                    lo = mid
                else:
                    hi = mid
            bn.bias.copy_(base - (lo + hi) / 2)
    return state_for_engine(model)


def write_cifar_batch(path, x, y):
    px = (x * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
    rec = np.concatenate([y.numpy().astype(np.uint8)[:, None], px.reshape(len(px), -1)], axis=1)
    rec.tofile(path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights28", help="trained weights for the 1x28x28 network")
    p.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.10, 0.20])
    p.add_argument("--T", type=int, default=6)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3, help="runs per implementation; the fastest counts")
    p.add_argument(
        "--wait-idle", type=float, default=0, metavar="SECONDS",
        help="before each measurement, wait up to this long for the machine to be idle",
    )
    p.add_argument(
        "--with-twin", action="store_true",
        help="also run the QNN twin on both sides (what a measurement does); default: the SNN alone",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, default=28, help=argparse.SUPPRESS)
    p.add_argument("--weights", help=argparse.SUPPRESS)
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "examples", "bench"))
    p.add_argument(
        "--baseline-bin", metavar="BIN",
        help="another build of the bench example, measured in the same rounds (before/after a change)",
    )
    args = p.parse_args()
    if args.child:
        return torch_child(args)

    torch.manual_seed(0)
    tmp = tempfile.mkdtemp(prefix="snnergy-bench-")
    n = args.batch * args.batches
    x32, y32 = images(32, n)
    write_cifar_batch(os.path.join(tmp, "test_batch.bin"), x32, y32)
    x28, _ = images(28, 256)

    configs = []  # (label, size, weights path)
    if args.weights28:
        configs.append(("trained", 28, args.weights28))
    for r in args.rates:
        for size in (28, 32):
            model = vgg_layers(1 if size == 28 else 3, size, T=args.T)
            model.features.eval()
            calib = x28[:128] if size == 28 else images(32, 128)[0]
            w = calibrate(model, calib, args.T, r)
            path = os.path.join(tmp, f"w{size}-{r}.safetensors")
            save_safetensors(path, w)
            configs.append((f"calibrated {r:.2f}", size, path))

    rows = []
    for label, size, w in configs:
        ch = 1 if size == 28 else 3
        data = ["--data", FMNIST, "--dataset", "idx"] if size == 28 else ["--data", tmp, "--dataset", "cifar10"]
        def engine(path, exe=args.bin):
            out = subprocess.run(
                [exe, "--weights", w, *data, "--channels", str(ch), "--size", str(size),
                 "--timesteps", str(args.T), "--batch", str(args.batch), "--batches", str(args.batches),
                 "--path", path, *([] if args.with_twin else ["--no-twin"])],
                check=True, capture_output=True, text=True,
                env={**os.environ, "RAYON_NUM_THREADS": str(args.threads)},
            ).stdout
            return json.loads(out.strip().splitlines()[-1])

        def pytorch():
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--size", str(size), "--weights", w, "--T", str(args.T),
                 "--batch", str(args.batch), "--batches", str(args.batches), "--threads", str(args.threads),
                 *(["--with-twin"] if args.with_twin else [])],
                check=True, capture_output=True, text=True,
            ).stdout
            return json.loads(out.strip().splitlines()[-1])

        # The machine is shared: every implementation runs --repeat times, interleaved, and
        # keeps its fastest run.
        runs = [("pytorch", pytorch), ("dense", lambda: engine("dense")),
                ("sparse", lambda: engine("sparse")), ("auto", lambda: engine("auto"))]
        if args.baseline_bin:
            runs += [(f"baseline-{p}", lambda p=p: engine(p, args.baseline_bin)) for p in ("dense", "sparse", "auto")]
        results = {}
        for _ in range(args.repeat):
            for key, run in runs:
                busy = wait_idle(args.wait_idle) if args.wait_idle else None
                r = run()
                r["busy_cores_before"] = busy
                if key not in results or r["images_per_s"] > results[key]["images_per_s"]:
                    results[key] = r
        rows.append((label, size, results))
        pt = results["pytorch"]["images_per_s"]
        print(json.dumps({"weights": label, **{k: v for k, v in results.items()}}), file=sys.stderr)
        print(
            f"{label:<17} {ch}x{size}x{size}  spike rate {results['dense']['spike_rate']:.4f} | "
            f"PyTorch {pt:7.1f} img/s {results['pytorch']['peak_rss_mib']:6.0f} MiB | "
            f"dense {results['dense']['images_per_s']:7.1f} ({results['dense']['images_per_s'] / pt:4.2f}x) "
            f"{results['dense']['peak_rss_mib']:5.0f} MiB | "
            f"event-driven {results['sparse']['images_per_s']:7.1f} ({results['sparse']['images_per_s'] / pt:4.2f}x) "
            f"{results['sparse']['peak_rss_mib']:5.0f} MiB | "
            f"auto {results['auto']['images_per_s']:7.1f} ({results['auto']['images_per_s'] / pt:4.2f}x)",
            flush=True,
        )
    print(
        f"T = {args.T}, batch {args.batch}, {n} images per measurement, {args.threads} threads each, "
        f"{'SNN + QNN twin' if args.with_twin else 'SNN alone'}, best of {args.repeat}, torch {torch.__version__}"
    )
    names = {"dense": "dense", "sparse": "event-driven", "auto": "auto"}
    if args.baseline_bin:
        names.update({f"baseline-{k}": f"baseline-{v}" for k, v in list(names.items())})
    for label, size, results in rows:
        ch = 1 if size == 28 else 3
        pt = results["pytorch"]["images_per_s"]
        for key, name in names.items():
            ours = results[key]["images_per_s"]
            case = f"{name}:{label.replace(' ', '-')}:{ch}x{size}x{size}"
            print(f"ratio {case} {ours:.1f}/{pt:.1f} = {ours / pt:.2f}")


if __name__ == "__main__":
    main()

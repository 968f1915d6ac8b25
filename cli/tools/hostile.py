#!/usr/bin/env python3
"""Hostile inputs against a built `snnergy`, by class: tries and outcomes.

    cargo build --release -p snnergy-cli
    python3 cli/tools/hostile.py target/release/snnergy [CLASS...]

Classes: outputs, shared, sizes, nir, hardware, staging, budget, largest. Every try runs in a
scratch folder under the system's temporary space (removed at the end); devices are made
with `mknod` there (root only; left out otherwise), never the system's. For each class it
prints one line per try and a summary: how many tries ended as expected (a refusal with exit
code 2 and the target untouched, or a run that was meant to pass), and how many did not
(a signal, a hang, a damaged target, a wrong exit code). The budget class prints the
estimate against the measured output and peak memory; `largest` the largest inputs the
default budget accepts, with their time and peak memory. The nir class crafts graphs with
h5py (Debian's python3-h5py, so run it with /usr/bin/python3); without it, only its damaged
files and its export/import values run.
"""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "target/release/snnergy"
FIXTURE = REPO / "plugins/engine/tests/fixtures/fashion-mnist"
MODEL = REPO / "pipelines/engine-fashion-mnist.toml"
WEIGHTS = REPO / "pipelines/weights/fmnist-vgg-t6.safetensors"
CHIP = REPO / "archs/hardware/eyeriss-like.toml"
ROOT = Path(tempfile.mkdtemp(prefix="snnergy-hostile-"))

TINY = """type = "custom"
input = [1, 8, 8]
layers = [
  { op = "conv", name = "c1", out = 4, kernel = 3, padding = 1 },
  { op = "linear", name = "fc", out = 10 },
]"""


def linear(n):
    layers = ", ".join(f'{{ op = "linear", name = "l{i}", out = 16 }}' for i in range(n))
    return f'type = "custom"\ninput = [16, 1, 1]\nlayers = [{layers}]'


def pipeline(workload, archs, rates=1, timesteps="6", extra=""):
    r = ", ".join(str((i + 1) / (rates + 1)) for i in range(rates))
    s = f"[analysis]\ntimesteps = {timesteps}\n{extra}\n[workload]\n{workload}\n\n"
    s += f'[activity]\ntype = "uniform"\nspike_rates = [{r}]\n\n[energy]\ntype = "horowitz-45nm"\n'
    for a in archs:
        s += f"\n[[architecture]]\n{a}\n"
    return s


def scratch(name):
    d = ROOT / name
    shutil.rmtree(d, ignore_errors=True)
    (d / "data").mkdir(parents=True)
    for split in ["t10k", "train"]:
        for kind in ["images-idx3", "labels-idx1"]:
            shutil.copy(FIXTURE / f"t10k-{kind}-ubyte.gz", d / "data" / f"{split}-{kind}-ubyte.gz")
    shutil.copy(WEIGHTS, d / "w.safetensors")
    shutil.copy(MODEL, d / "m.toml")
    (d / "tiny.toml").write_text(pipeline(TINY, ['type = "classical"'], extra="sweep_points = 3"))
    return d


def run(d, args, timeout=120, env=None):
    """Runs snnergy with `args` in `d` under /usr/bin/time when present: (exit code or
    -signal, seconds, peak KiB or None, stderr)."""
    timed = shutil.which("time") or "/usr/bin/time"
    use_time = Path(timed).exists()
    cmd = ([timed, "-f", "PEAK %M"] if use_time else []) + [str(BIN)] + [str(a) for a in args]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=timeout,
                           env=env)
    except subprocess.TimeoutExpired:
        return None, time.time() - t0, None, "timeout"
    dt = time.time() - t0
    err = p.stderr
    peak = None
    m = re.search(r"PEAK (\d+)", err)
    if m:
        peak = int(m.group(1))
        err = err[: m.start()]
    code = p.returncode
    if "Command terminated by signal" in err:
        code = -int(re.search(r"signal (\d+)", err).group(1))
    # What time says about the exit is not snnergy's message.
    err = re.sub(r"Command (exited with non-zero status|terminated by signal) \d+\n?$", "", err)
    return code, dt, peak, err


def state(p):
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return ("missing",)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(p), state(Path(p).parent / os.readlink(p)))
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return ("device", st.st_rdev)
    if stat.S_ISFIFO(st.st_mode):
        return ("fifo",)
    if stat.S_ISDIR(st.st_mode):
        return ("dir", tuple(sorted((c.name, state(c)) for c in Path(p).iterdir())))
    return ("file", Path(p).read_bytes())


class Tally:
    def __init__(self, name):
        self.name, self.ok, self.bad = name, 0, []

    def check(self, what, good, detail=""):
        print(f"  {'ok ' if good else 'BAD'} {what} {detail}".rstrip(), flush=True)
        if good:
            self.ok += 1
        else:
            self.bad.append(what)

    def summary(self):
        n = self.ok + len(self.bad)
        print(f"{self.name}: {n} tries, {self.ok} as expected, {len(self.bad)} not"
              + (f" ({', '.join(self.bad)})" if self.bad else ""), flush=True)


def refused(code, err):
    return code == 2 and "panicked" not in err


# ---- outputs -------------------------------------------------------------------------------

FILE_FLAGS = [
    ("engine --out", ["engine", "--model", "m.toml", "--random-weights", "1", "--data", "data",
                      "--samples", "4", "--out", "{}"], "data/t10k-images-idx3-ubyte.gz"),
    ("engine --save-weights", ["engine", "--model", "m.toml", "--random-weights", "1", "--data",
                               "data", "--samples", "4", "--save-weights", "{}"],
     "data/t10k-labels-idx1-ubyte.gz"),
    ("export --nir", ["export", "--nir", "{}", "--model", "m.toml", "--weights", "w.safetensors"],
     "w.safetensors"),
]
FOLDER_FLAGS = [
    ("run --out", ["run", "tiny.toml", "--out", "{}"], "tiny.toml"),
    ("map --export-timeloop", ["map", "tiny.toml", "--arch", "classical", "--layer", "c1",
                               "--export-timeloop", "{}"], "tiny.toml"),
    ("map --export-zigzag", ["map", "tiny.toml", "--arch", "classical", "--layer", "c1",
                             "--export-zigzag", "{}"], "tiny.toml"),
    ("import --out", ["import", "m.nir", "--out", "{}"], "m.nir"),
    ("train compare --out", ["train", "compare", "run1", "--out", "{}"], "run1/train.json"),
]


def make_targets(d, folder, input_):
    t = {}
    dev = d / "dev"
    if subprocess.run(["mknod", str(dev), "c", "1", "3"], stderr=subprocess.DEVNULL).returncode == 0:
        t["device"] = dev
    os.mkfifo(d / "fifo")
    t["FIFO"] = d / "fifo"
    (d / "pointee").write_text("pointed at")
    (d / "pointee-dir").mkdir()
    (d / "pointee-dir/keep.txt").write_text("kept")
    os.symlink("pointee-dir" if folder else "pointee", d / "link")
    t["link"] = d / "link"
    os.symlink(d / input_, d / "link-to-input")
    t["link to an input"] = d / "link-to-input"
    if folder:
        (d / "a-file").write_text("a file where a folder goes")
        t["file"] = d / "a-file"
    else:
        (d / "folder").mkdir()
        (d / "folder/keep.txt").write_text("kept")
        t["folder"] = d / "folder"
    t["input"] = d / input_
    if not folder:
        (d / "foreign").write_text("notes")
        t["foreign file"] = d / "foreign"
    return t


def outputs():
    tally = Tally("outputs")
    base = scratch("nir-source")
    code, _, _, err = run(base, ["export", "--nir", "m.nir", "--model", "m.toml", "--weights",
                                 "w.safetensors"])
    assert code == 0, err
    for flags, folder in [(FILE_FLAGS, False), (FOLDER_FLAGS, True)]:
        for name, args, input_ in flags:
            probe = scratch("probe")
            for target in list(make_targets(probe, folder, input_)):
                for force in [False, True]:
                    d = scratch("out")
                    shutil.copy(base / "m.nir", d / "m.nir")
                    (d / "run1").mkdir()
                    (d / "run1/train.json").write_text("{}")
                    tgt = make_targets(d, folder, input_)[target]
                    before, inp = state(tgt), state(d / input_)
                    a = [x.replace("{}", str(tgt)) for x in args] + (["--force"] if force else [])
                    code, _, _, err = run(d, a, timeout=60)
                    allowed = force and target == "foreign file"
                    if allowed:
                        good = code == 0 and state(tgt) != before and state(d / input_) == inp
                    else:
                        good = refused(code, err) and state(tgt) == before \
                            and state(d / input_) == inp
                    tally.check(f"{name} on {target}{' --force' if force else ''}", good,
                                "" if good else f"exit {code}: {err.strip()[-200:]}")
    tally.summary()


def shared():
    tally = Tally("shared paths")
    d = scratch("shared")
    eng = ["engine", "--model", "m.toml", "--random-weights", "1", "--data", "data", "--samples",
           "4"]
    for a in [["--save-weights", "x.csv", "--out", "x.csv"],
              ["--save-weights", "./x.csv", "--out", "data/../x.csv"]]:
        code, _, _, err = run(d, eng + a)
        tally.check(" ".join(a), refused(code, err) and not (d / "x.csv").exists())
    text = (REPO / "pipelines/train-fashion-mnist.toml").read_text()
    text = re.sub(r'checkpoint = ".*"', 'checkpoint = "out/report.json"', text)
    text = text.replace('data = "/usr/share/datasets/fashion-mnist"', 'data = "data"')
    (d / "t.toml").write_text(text)
    code, _, _, err = run(d, ["train", "t.toml", "--out", "out"])
    tally.check("train checkpoint = out/report.json --out out",
                refused(code, err) and not (d / "out").exists(), err.strip()[-160:])
    code, _, _, err = run(d, ["map", "tiny.toml", "--arch", "classical", "--export-timeloop",
                              "e", "--export-zigzag", "./e"])
    tally.check("map --export-timeloop e --export-zigzag ./e", refused(code, err))
    tally.summary()


# ---- sizes -----------------------------------------------------------------------------------

def gzip_of_zeros(header, n):
    import gzip
    member = lambda b: gzip.compress(b, 9)
    out = bytearray(member(header))
    block = 1 << 20
    full = member(bytes(block))
    for _ in range(n // block):
        out += full
    out += member(bytes(n % block))
    return bytes(out)


def idx_header(magic, dims):
    return bytes([0, 0, 8, magic]) + b"".join(x.to_bytes(4, "big") for x in dims)


def model(d, name, inp, out):
    (d / f"{name}.toml").write_text(
        f'[workload]\ntype = "custom"\ninput = {inp}\nlayers = [\n'
        f'  {{ op = "conv", name = "wide", out = {out}, kernel = 3, padding = 1 }},\n'
        f'  {{ op = "linear", name = "fc", out = 10 }},\n]\n')
    return f"{name}.toml"


def sizes():
    tally = Tally("sizes")
    d = scratch("sizes")
    eng = lambda m, *extra: ["engine", "--model", m, "--random-weights", "1", "--data", "data",
                             "--samples", "4", *extra]
    tries = []
    for out in ["4294967295", "100000", "10000000"]:
        tries.append((f"conv out = {out}", eng(model(d, f"c{out}", "[1, 28, 28]", out)), "memory_mib"))
    tries.append(("input 4096×1024×1024", eng(model(d, "big", "[4096, 1024, 1024]", "8")), "4096×1024×1024"))
    bomb = scratch("bomb")
    n = 2_700_000
    (bomb / "data/t10k-images-idx3-ubyte.gz").write_bytes(gzip_of_zeros(idx_header(3, [n, 28, 28]), n * 784))
    (bomb / "data/t10k-labels-idx1-ubyte.gz").write_bytes(gzip_of_zeros(idx_header(1, [n]), n))
    wide = scratch("wide")
    (wide / "data/t10k-images-idx3-ubyte.gz").write_bytes(
        gzip_of_zeros(idx_header(3, [1, 65535, 65535]) + bytes(1 << 20), 0))
    (wide / "data/t10k-labels-idx1-ubyte.gz").write_bytes(gzip_of_zeros(idx_header(1, [1]), 1))
    cifar = scratch("cifar")
    (cifar / "cifar").mkdir()
    with open(cifar / "cifar/test_batch.bin", "wb") as f:
        f.truncate(6_000_000_001)
    lib = ROOT / "libhuge.so"
    with open(lib, "wb") as f:
        f.truncate(5 << 30)
    for name, args, what in tries:
        code, dt, peak, err = run(d, args)
        tally.check(name, refused(code, err) and what in err, f"{dt:.2f} s, {peak} KiB")
    for name, dd, args, what in [
        ("gzip announcing 2.7 M images, --samples 0", bomb,
         ["engine", "--model", MODEL, "--random-weights", "1", "--data", "data", "--samples", "0"],
         "synaptic_ops"),
        ("header [1, 65535, 65535], --samples 1", wide,
         ["engine", "--model", MODEL, "--random-weights", "1", "--data", "data", "--samples", "1"],
         "65535×65535"),
        ("6 GB sparse CIFAR batch, not whole records", cifar,
         ["engine", "--model", "vgg11", "--input", "cifar10", "--random-weights", "1", "--dataset",
          "cifar10", "--data", "cifar", "--samples", "0"], "whole number"),
        ("5 GB sparse .so, plugin check", d, ["plugin", "check", lib], "not a loadable library"),
        ("5 GB sparse .so, --plugin list", d, ["--plugin", lib, "list"], "not a loadable library"),
    ]:
        code, dt, peak, err = run(dd, args)
        tally.check(name, refused(code, err) and what in err, f"{dt:.2f} s, {peak} KiB")
    for units in ["16, 16", "64, 64", "128, 128"]:
        c = d / f"chip-{units.replace(', ', 'x')}.toml"
        c.write_text(CHIP.read_text().replace("units = [1, 1]", f"units = [{units}]"))
        p = d / "chip.toml"
        p.write_text(pipeline('type = "vgg16"\ninput = "cifar10"',
                              [f'type = "hardware"\ndescription = "{c.name}"']))
        for cmd in [["run", "chip.toml", "--out", "o"],
                    ["map", "chip.toml", "--arch", "hardware", "--layer", "features.3"]]:
            code, dt, peak, err = run(d, cmd)
            tally.check(f"units [{units}] {cmd[0]}", refused(code, err) and "memory_mib" in err,
                        f"{dt:.2f} s, {peak} KiB")
    lib.unlink()
    tally.summary()


# ---- budget ----------------------------------------------------------------------------------

def logged(err, label):
    line = next(l for l in err.splitlines() if label in l)
    return [float(x) for x in re.findall(r"[\d.]+(?:e[+-]?\d+)?", line[line.index(label):])]


def measure(d, name, text, budget=()):
    (d / f"{name}.toml").write_text(text)
    args = ["run", f"{name}.toml", "--out", f"out-{name}", "-v", *budget]
    code, dt, peak, err = run(d, args, timeout=3600)
    shutil.rmtree(d / f"out-{name}", ignore_errors=True)
    if code != 0:
        return None, dt, peak, err
    e, m = logged(err, "estimated cost:"), logged(err, "measured cost:")
    return (e, m), dt, peak, err


def budget():
    tally = Tally("budget")
    d = scratch("budget")
    chip = CHIP.read_text().replace("units = [1, 1]", "units = [4, 4]")
    (d / "chip44.toml").write_text(chip)
    vgg = 'type = "vgg16"\ninput = "cifar10"'
    pv1 = 'type = "paper-v1"\nenergy = "paper-v1"'
    spread = [
        ("20000 rates, classical", pipeline(TINY, ['type = "classical"'], 20000, "6", "sweep_points = 11")),
        ("T 1..1000, classical", pipeline(TINY, ['type = "classical"'], 1, '"1..1000"')),
        ("T 1..1000, paper-v1", pipeline(TINY, [pv1], 1, '"1..1000"')),
        ("VGG16, 3 architectures, T 1..16", pipeline(vgg, ['type = "classical"', 'type = "spatial"', 'type = "neuromorphic"'], 2, '"1..16"')),
        ("VGG16, paper-v1, 500 rates", pipeline(vgg, [pv1], 500)),
        ("VGG16, 4×4-unit chip", pipeline(vgg, ['type = "hardware"\ndescription = "chip44.toml"'])),
        ("ResNet18, classical, T 4 and 6", pipeline('type = "resnet18"\ninput = "cifar10"', ['type = "classical"'], 3, "[4, 6]", "sweep_points = 51")),
        ("1000 linear layers, classical", pipeline(linear(1000), ['type = "classical"'])),
        ("2000 linear layers, paper-v1", pipeline(linear(2000), [pv1])),
        ("VGG16, classical, sensitivity", pipeline(vgg, ['type = "classical"'], 1, "6", "sweep_points = 11\n[analysis.sensitivity]")),
        ("VGG16, paper-v1, 100001 sweep points", pipeline(vgg, [pv1], 1, "6", "sweep_points = 100001")),
    ]
    ratios = {"output": [], "memory": [], "work": []}
    for name, text in spread:
        r, dt, peak, err = measure(d, "s", text, ["--budget", "evaluations=1e15"])
        if r is None:
            tally.check(name, False, err.strip()[-200:])
            continue
        (ev, eo, em, *_), (mo, mm) = r
        ratios["output"].append(eo / mo)
        ratios["memory"].append(em / mm)
        ratios["work"].append(ev * 1e-6 / dt)
        tally.check(name, eo >= mo and em >= mm,
                    f"{dt:.1f} s: output {eo / 1e6:.1f}/{mo / 1e6:.1f} MB = {eo / mo:.2f}, memory {em / 1e6:.0f}/{mm / 1e6:.0f} MB = {em / mm:.2f}, work {ev:.2e} = {ev * 1e-6:.0f} s estimated")
    for name, text, what in [
        ("1.8·10^5 rates, classical", pipeline(TINY, ['type = "classical"'], 180_000, "6", "sweep_points = 11"), "output_mib"),
        ("T 1..100000, classical", pipeline(TINY, ['type = "classical"'], 1, '"1..100000"'), "evaluations"),
        ("10^6 rates", pipeline(TINY, ['type = "classical"'], 1_000_000, '"1..4"'), "budget"),
    ]:
        (d / "r.toml").write_text(text)
        code, dt, peak, err = run(d, ["run", "r.toml", "--out", "o"])
        tally.check(name + " refused", refused(code, err) and what in err, f"{dt:.2f} s, {peak} KiB")
    for k, v in ratios.items():
        if v:
            print(f"  estimate/measured {k}: {min(v):.2f}–{max(v):.2f}")
    tally.summary()


def over_default(d, text):
    """Whether the default budget refuses `text`, from the exact estimate a run logs with
    `-v` before its budget check (the run itself refused by a budget near zero, so no work
    is done). The refusal's message rounds to whole MiB, too coarse at the limit."""
    (d / "p.toml").write_text(text)
    code, _, _, err = run(d, ["run", "p.toml", "--out", "o", "-v", "--budget", "output_mib=1e-9"])
    # Evaluations are logged to four digits: over their limit, the refusal names them first.
    if "estimated cost:" not in err or "analysis.budget.evaluations" in err:
        return True
    _, output, memory, *_ = logged(err, "estimated cost:")
    mib = 1024 * 1024
    return output > 1024 * mib or memory > 4096 * mib


def largest():
    """The largest inputs the default budget accepts (by bisection on its refusals), run."""
    d = scratch("largest")
    for name, make, hi in [
        ("spike rates on the two-layer network, classical",
         lambda n: pipeline(TINY, ['type = "classical"'], n, "6", "sweep_points = 11"), 1 << 20),
        ("time steps 1..N on the two-layer network, classical",
         lambda n: pipeline(TINY, ['type = "classical"'], 1, f'"1..{n}"'), 100_000),
        ("linear layers, paper-v1",
         lambda n: pipeline(linear(n), ['type = "paper-v1"\nenergy = "paper-v1"']), 200_000),
    ]:
        lo = 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if over_default(d, make(mid)):
                hi = mid - 1
            else:
                lo = mid
        r, dt, peak, err = measure(d, "l", make(lo))
        if r:
            (ev, eo, em, *_), (mo, mm) = r
            detail = (f"{dt:.1f} s (work estimated {ev:.2e} evaluations), peak {peak} KiB "
                      f"(estimated {em / 1024:.0f} KiB), output {mo / 1e6:.1f} MB "
                      f"(estimated {eo / 1e6:.1f} MB)")
        else:
            detail = err.strip()[-200:]
        print(f"largest accepted: {lo} {name}: {detail}", flush=True)
        r, dt, peak, err = measure(d, "l1", make(lo + 1))
        why = err.strip().splitlines()[-1][:200] if r is None and err.strip() else "ACCEPTED"
        print(f"  one more ({lo + 1}): {why}", flush=True)


# ---- NIR files -------------------------------------------------------------------------------

SEED_NIR = REPO / "tests/fuzz/seeds/nir/mixed-h5py.nir"


def edited_nir(src, dst, edit):
    """A copy of the NIR file `src` at `dst` with `edit(h5py file)` applied."""
    import h5py
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def replace(f, path, **kw):
    del f[path]
    f.create_dataset(path, **kw)


def nir():
    """Crafted and damaged NIR files through `import`, and `export`/`import` values the
    other side cannot read. Needs h5py (Debian's python3-h5py) to craft the files."""
    tally = Tally("NIR files")
    try:
        import h5py  # noqa: F401
    except ImportError:
        print("  (h5py missing: crafted files left out; the flipped bytes still run)")
        h5py = None
    d = scratch("nir")
    shutil.copy(SEED_NIR, d / "seed.nir")
    code, _, _, err = run(d, ["import", "seed.nir", "--out", "seed"])
    tally.check("the seed imports", code == 0, err.strip()[-200:])
    int_ = lambda v: dict(data=v, dtype="i8")
    crafted = [
        ("Conv2d stride [0, 0]", lambda f: replace(f, "node/nodes/c1/stride", **int_([0, 0])),
         "node `c1` (Conv2d): `stride`"),
        ("Conv2d stride [-2, -2]", lambda f: replace(f, "node/nodes/c1/stride", **int_([-2, -2])),
         "node `c1` (Conv2d): `stride`"),
        ("SumPool2d stride [0, 0]", lambda f: replace(f, "node/nodes/sum/stride", **int_([0, 0])),
         "node `sum` (SumPool2d): `stride`"),
        ("Conv2d groups 0", lambda f: replace(f, "node/nodes/c1/groups", **int_(0)), "`groups`"),
        ("Conv2d padding -1", lambda f: replace(f, "node/nodes/c1/padding", **int_([-1, -1])),
         "`padding`"),
        ("IF v_threshold = -1", lambda f: replace(f, "node/nodes/if/v_threshold",
                                                  data=[-1.0] * 4, dtype="f8"), "`v_threshold`"),
        ("IF v_threshold = 0", lambda f: replace(f, "node/nodes/if/v_threshold",
                                                 data=[0.0] * 4, dtype="f8"), "`v_threshold`"),
        ("IF v_threshold = NaN", lambda f: replace(f, "node/nodes/if/v_threshold",
                                                   data=[float("nan")] * 4, dtype="f8"),
         "`v_threshold`"),
        ("LIF tau = 0", lambda f: replace(f, "node/nodes/lif/tau", data=[[[0.0] * 4] * 4] * 2,
                                          dtype="f8"), "`tau`"),
        ("LI tau = -1", lambda f: replace(f, "node/nodes/li/tau", data=[-1.0] * 3, dtype="f8"),
         "`tau`"),
        ("duplicated edge", lambda f: replace(
            f, "node/edges", data=list(f["node/edges"][()]) + [f["node/edges"][0]],
            dtype=h5py.string_dtype()), "listed twice"),
        ("dangling edge", lambda f: replace(
            f, "node/edges", data=list(f["node/edges"][()]) + [[b"fc", b"ghost"]],
            dtype=h5py.string_dtype()), "`ghost`"),
        ("weight declared (10, 2^37) float32, nothing stored",
         lambda f: replace(f, "node/nodes/c1/weight", shape=(10, 1 << 37), dtype="f4"), "`c1`"),
        ("v_threshold of 2^40 elements, nothing stored",
         lambda f: replace(f, "node/nodes/if/v_threshold", shape=(1 << 40,), dtype="f8"), "`if`"),
        ("edges table of 2^34 rows, nothing stored",
         lambda f: replace(f, "node/edges", shape=(1 << 34, 2), dtype=h5py.string_dtype()),
         "edges"),
        ("20000 unconnected nodes", lambda f: [
            f.create_group(f"node/nodes/n{i:05}").create_dataset("type", data="Flatten",
                                                                 dtype=h5py.string_dtype())
            for i in range(20_000)], "has no incoming edge"),
    ] if h5py else []
    for i, (name, edit, what) in enumerate(crafted):
        bad = edited_nir(SEED_NIR, d / f"crafted{i}.nir", edit)
        code, dt, peak, err = run(d, ["import", bad.name, "--out", f"never{i}"], timeout=60)
        good = refused(code, err) and what in err and not (d / f"never{i}").exists()
        tally.check(name, good, f"{dt:.2f} s, {peak} KiB" + ("" if good else f", exit {code}: {err.strip()[-200:]}"))
    # Every byte of the file, in steps, flipped to its complement: an error or a graph,
    # never a signal or a hang.
    data = (d / "seed.nir").read_bytes()
    step = max(1, len(data) // 400)
    outcomes = {}
    for i in range(0, len(data), step):
        b = bytearray(data)
        b[i] ^= 0xFF
        (d / "flipped.nir").write_bytes(b)
        shutil.rmtree(d / "flipped", ignore_errors=True)
        code, dt, peak, err = run(d, ["import", "flipped.nir", "--out", "flipped"], timeout=30)
        kind = {0: "imported", 2: "refused"}.get(code, f"exit {code}")
        if code == 2 and "panicked" in err:
            kind = "panic"
        outcomes[kind] = outcomes.get(kind, 0) + 1
        good = kind in ("imported", "refused")
        tally.check(f"byte {i} flipped", good, "" if good else f"{kind}: {err.strip()[-200:]}")
    print(f"  flipped bytes: {outcomes}")
    # Values one side writes and the other cannot read.
    model = ["--model", MODEL, "--weights", WEIGHTS]
    for dt_ in ["NaN", "0", "-1e-4", "inf"]:
        code, _, _, err = run(d, ["export", "--nir", "x.nir", *model, f"--dt={dt_}"])
        tally.check(f"export --dt {dt_}", refused(code, err) and "dt" in err
                    and not (d / "x.nir").exists(), err.strip()[-160:])
    # A finite dt whose τ = dt/(1 − leak) overflows.
    code, _, _, err = run(d, ["export", "--nir", "x.nir", *model, "--dt=1e308", "--leak", "0.9"])
    tally.check("export --dt 1e308 --leak 0.9", refused(code, err) and "`tau` = inf" in err
                and not (d / "x.nir").exists(), err.strip()[-160:])
    # IF neurons have no τ: any finite dt exports, and imports back at that dt.
    code, _, _, err = run(d, ["export", "--nir", "if.nir", *model, "--dt=1e300"])
    if code == 0:
        code, _, _, err = run(d, ["import", "if.nir", "--out", "if", "--dt=1e300"])
    tally.check("export --dt 1e300 (IF), then import", code == 0, err.strip()[-160:])
    for args, what in [(["-T", "1000000"], "-T 1000000"), (["-T", "0"], "-T"),
                       (["--dt", "NaN"], "dt = NaN"), (["--dt=-1"], "dt = -1"),
                       (["-T", "65536"], "mac_bits"),
                       (["-T", "20000", "--dataset", "fashion-mnist"], "1..=10000")]:
        code, _, _, err = run(d, ["import", "seed.nir", "--out", "t", *args])
        tally.check(f"import {' '.join(args)}", refused(code, err) and what in err
                    and not (d / "t").exists(), err.strip()[-160:])
    # A T import accepts gives a pipeline `run` takes (or refuses by its budget, never by
    # its T); one it does not is refused by import, naming it.
    for t in ["100000", "65535"]:
        code, _, _, err = run(d, ["import", "seed.nir", "--out", f"t{t}", "-T", t])
        if code == 0:
            code, dt, peak, err = run(d, ["run", f"t{t}/pipeline.toml", "--out", f"t{t}-out"],
                                      timeout=600)
            good = code == 0 or (refused(code, err) and "analysis.budget" in err)
        else:
            good = refused(code, err) and f"-T {t}" in err and not (d / f"t{t}").exists()
        tally.check(f"import -T {t}, then run", good, f"exit {code}: {err.strip()[-160:]}")
    tally.summary()


# ---- hardware descriptions -------------------------------------------------------------------

def hardware():
    tally = Tally("hardware descriptions")
    d = scratch("hardware")
    text = CHIP.read_text()
    blocks = {n: text.index(f'[[levels]]\nname = "{n}"') for n in ["DRAM", "GLB", "spad"]}
    compute = text.index("[compute]")
    def order(names):
        spans = {"DRAM": (blocks["DRAM"], blocks["GLB"]), "GLB": (blocks["GLB"], blocks["spad"]),
                 "spad": (blocks["spad"], compute)}
        return text[:blocks["DRAM"]] + "".join(text[slice(*spans[n])] for n in names) + text[compute:]
    variants = [
        ("GLB holds = []", text.replace('holds = ["weights", "inputs", "accum", "outputs", "membrane"]\nbypass', 'holds = []\nbypass', 1), "holds nothing"),
        ("spad holds = []", text.replace('holds = ["weights", "inputs", "accum"]', 'holds = []'), "holds nothing"),
        ("DRAM holds = []", text.replace('holds = ["weights", "inputs", "accum", "outputs", "membrane"]', 'holds = []', 1), "holds nothing"),
        ("mesh = [14, 12, 3]", text.replace("mesh = [14, 12]", "mesh = [14, 12, 3]"), "two numbers"),
        ("mesh = [14]", text.replace("mesh = [14, 12]", "mesh = [14]"), "two numbers"),
        ("mesh = []", text.replace("mesh = [14, 12]", "mesh = []"), "two numbers"),
        ("units = [4]", text.replace("units = [1, 1]", "units = [4]"), "two numbers"),
        ("units = [1, 1, 1, 1]", text.replace("units = [1, 1]", "units = [1, 1, 1, 1]"), "two numbers"),
        ("no name", text.replace('name = "eyeriss-like"\n', "", 1), "no `name`"),
        ('name = ""', text.replace('name = "eyeriss-like"', 'name = ""', 1), "no `name`"),
    ]
    for names in [["GLB", "DRAM", "spad"], ["DRAM", "spad", "GLB"], ["spad", "GLB", "DRAM"],
                  ["GLB", "spad", "DRAM"], ["spad", "DRAM", "GLB"]]:
        variants.append(("levels " + ", ".join(names), order(names), "outermost first"))
    for name, chip, what in variants:
        (d / "chip.toml").write_text(chip)
        (d / "p.toml").write_text(pipeline('type = "vgg16"\ninput = "cifar10"',
                                           ['type = "hardware"\ndescription = "chip.toml"']))
        code, dt, _, err = run(d, ["run", "p.toml", "--out", "o"])
        located = "chip.toml" in err and re.search(r"line \d+", err) is not None
        tally.check(name, refused(code, err) and what in err and located,
                    "" if refused(code, err) and located else err.strip()[-200:])
    tally.summary()


# ---- staging ---------------------------------------------------------------------------------

def leftovers(p):
    return [c.name for c in p.iterdir() if c.name.startswith((".snnergy-stage-", ".snnergy-tmp-"))] \
        if p.is_dir() else []


def staging():
    tally = Tally("staging")
    d = scratch("staging")
    (d / "p.toml").write_text(pipeline(TINY, ['type = "classical"'], 3000, "6", "sweep_points = 3"))
    for i in range(24):
        sig = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL][i % 4]
        child = subprocess.Popen([str(BIN), "run", "p.toml", "--out", "out"], cwd=d,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not leftovers(d) and child.poll() is None:
            time.sleep(0.002)
        time.sleep(0.01 * (i % 6))
        child.send_signal(sig)
        child.wait()
        left = leftovers(d) + leftovers(d / "out")
        whole = not (d / "out").exists() or all((d / "out" / f).is_file() for f in ["report.md", "report.json"])
        if sig == signal.SIGKILL:
            # Left to the next run, which must remove it.
            code, _, _, err = run(d, ["run", "tiny.toml", "--out", "out"])
            after = leftovers(d) + leftovers(d / "out")
            tally.check(f"SIGKILL #{i}, then a run", code == 0 and not after and whole,
                        f"left {len(left)}, after the next run {after}")
        else:
            tally.check(f"{sig.name} #{i}", not left and whole, f"exit {child.returncode}, left {left}")
    tally.summary()


CLASSES = {"outputs": outputs, "shared": shared, "sizes": sizes, "nir": nir, "hardware": hardware,
           "staging": staging, "budget": budget, "largest": largest}

if __name__ == "__main__":
    try:
        for c in sys.argv[2:] or CLASSES:
            print(f"== {c}", flush=True)
            CLASSES[c]()
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)

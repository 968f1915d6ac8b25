"""Shared paths and the engine's Fashion-MNIST fixture for the Python tests.

With SNNERGY_REQUIRE_ALL=1 (as .ci/run sets it) a missing optional package fails the run
instead of skipping its tests, so CI cannot pass by testing nothing."""

import gzip
import os
import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "plugins/engine/tests/fixtures/fashion-mnist"
WEIGHTS = REPO / "pipelines/weights/fmnist-vgg-t6.safetensors"
ENGINE_PIPELINE = REPO / "pipelines/engine-fashion-mnist.toml"


def need(module: str):
    if os.environ.get("SNNERGY_REQUIRE_ALL") == "1":
        import importlib

        return importlib.import_module(module)
    return pytest.importorskip(module)


def snnergy_bin():
    """The CLI binary built by cargo (SNNERGY_BIN, else target/{debug,release}/snnergy)."""
    candidates = [os.environ.get("SNNERGY_BIN")] + [str(REPO / "target" / p / "snnergy") for p in ("debug", "release")]
    for c in candidates:
        if c and os.path.exists(c):
            return c
    if os.environ.get("SNNERGY_REQUIRE_ALL") == "1":
        raise RuntimeError("no snnergy binary: build it (cargo build -p snnergy-cli) or set SNNERGY_BIN")
    pytest.skip("no snnergy binary built")


def fixture_images(n=300):
    """The first n fixture images as float32 [n, 1, 28, 28] in [0, 1], scaled as the engine
    scales them (byte / 255 in float32)."""
    torch = need("torch")
    np = need("numpy")
    raw = gzip.decompress((FIXTURE / "t10k-images-idx3-ubyte.gz").read_bytes())
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4: 4 + 4 * ndim])
    x = np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)[:n]
    return torch.from_numpy(x.astype(np.float32) / np.float32(255.0)).unsqueeze(1)


@pytest.fixture
def repo():
    return REPO

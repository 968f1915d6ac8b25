"""Activity profiles: per neuron layer, the SNN's spike rate and its twin's non-zero fraction.

The JSON written here is the profile file format the analysis reads (``[activity] type =
"profile"``); the extra keys (``source``, per-layer ``neuron``, ``histogram``) are ignored by
the reader and kept for people.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from . import _snnergy as _native


@dataclass
class ProfileLayer:
    """One neuron layer of a profile."""

    name: str
    spike_rate: float
    nonzero: Optional[float] = None
    neurons: Optional[int] = None
    spikes: Optional[int] = None
    step_rates: List[float] = field(default_factory=list)
    # Neurons that fired k times over the T steps, k = 0, 1, … (over the images sampled)
    histogram: List[int] = field(default_factory=list)
    # The spiking neuron module behind the layer and its parameters in snnergy's terms.
    neuron: Optional[Dict[str, Any]] = None

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"name": self.name, "spike_rate": self.spike_rate}
        for k in ("nonzero", "neurons", "spikes"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.step_rates:
            d["step_rates"] = list(self.step_rates)
        if self.histogram:
            d["histogram"] = list(self.histogram)
        if self.neuron:
            d["neuron"] = dict(self.neuron)
        return d


def _atomic_write(path: Union[str, os.PathLike], text: str) -> None:
    """Writes through a temporary file renamed into place: a failed write leaves nothing."""
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".snnergy-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Profile:
    """Per-layer activity, as recorded by :func:`snnergy.torch.record`, measured by
    :func:`snnergy.engine.measure` or read from a file.

    ``source`` says how the numbers were obtained (reports and notes repeat it)."""

    def __init__(self, layers: List[ProfileLayer], timesteps: Optional[int] = None,
                 samples: Optional[int] = None, source: str = "", input_rate: Optional[float] = None):
        self.layers = list(layers)
        self.timesteps = timesteps
        self.samples = samples
        self.source = source
        self.input_rate = input_rate

    def __getitem__(self, name: str) -> ProfileLayer:
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(f"profile has no layer {name!r} (layers: {', '.join(l.name for l in self.layers)})")

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def spike_rates(self) -> Dict[str, float]:
        return {l.name: l.spike_rate for l in self.layers}

    def mean_spike_rate(self) -> float:
        """Neuron-weighted mean spike rate (plain mean where neuron counts are unknown)."""
        w = [(l.neurons or 1, l.spike_rate) for l in self.layers]
        n = sum(a for a, _ in w)
        return sum(a * r for a, r in w) / n if n else 0.0

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {}
        if self.timesteps is not None:
            d["timesteps"] = self.timesteps
        if self.samples is not None:
            d["samples"] = self.samples
        if self.source:
            d["source"] = self.source
        layers = [l.to_dict() for l in self.layers]
        if self.input_rate is not None:
            layers.insert(0, {"name": "input", "spike_rate": self.input_rate})
        d["layers"] = layers
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: Union[str, os.PathLike]) -> str:
        """Writes the profile as ``.json`` (everything) or ``.csv`` (layer, spike_rate,
        nonzero, neurons, spikes, timesteps) for ``[activity] type = "profile"``."""
        p = os.fspath(path)
        if p.endswith(".csv"):
            rows = ["layer,spike_rate,nonzero,neurons,spikes" + (",timesteps" if self.timesteps else "")]
            entries = ([ProfileLayer("input", self.input_rate)] if self.input_rate is not None else []) + self.layers
            for l in entries:
                cells = [l.name, repr(l.spike_rate), "" if l.nonzero is None else repr(l.nonzero),
                         "" if l.neurons is None else str(l.neurons), "" if l.spikes is None else str(l.spikes)]
                if self.timesteps:
                    cells.append(str(self.timesteps))
                rows.append(",".join(cells))
            _atomic_write(p, "\n".join(rows) + "\n")
        elif p.endswith(".json"):
            _atomic_write(p, self.to_json() + "\n")
        else:
            raise ValueError(f"{p}: a profile file name ends in .json or .csv")
        return p

    @classmethod
    def from_dict(cls, d: Dict[str, Any], source: str = "") -> "Profile":
        input_rate = None
        layers = []
        for e in d.get("layers", []):
            if e.get("name") == "input":
                input_rate = e.get("spike_rate")
                continue
            layers.append(ProfileLayer(
                name=e["name"], spike_rate=e["spike_rate"], nonzero=e.get("nonzero"),
                neurons=e.get("neurons"), spikes=e.get("spikes"), step_rates=e.get("step_rates", []),
                histogram=e.get("histogram", []), neuron=e.get("neuron")))
        return cls(layers, timesteps=d.get("timesteps"), samples=d.get("samples"),
                   source=d.get("source", source), input_rate=input_rate)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Profile":
        """Reads a ``.json`` profile (``.csv``: layer, spike_rate and nonzero columns)."""
        p = os.fspath(path)
        if p.endswith(".csv"):
            import csv

            with open(p) as f:
                rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
            layers = [{"name": r["layer"], "spike_rate": float(r["spike_rate"]),
                       **({"nonzero": float(r["nonzero"])} if r.get("nonzero") else {})} for r in rows]
            t = rows[0].get("timesteps") if rows else None
            return cls.from_dict({"layers": layers, "timesteps": int(t) if t else None}, source=p)
        with open(p) as f:
            return cls.from_dict(json.load(f), source=p)

    def check(self, workload) -> None:
        """Raises :class:`snnergy.ActivityError` naming the layer if the profile names a layer
        the workload lacks, misses one of its neuron layers, or holds a value outside [0, 1]."""
        from ._pipeline import as_workload

        _native.check_profile(json.dumps(as_workload(workload).to_dict()), json.dumps(self.to_dict()),
                              self.source or "profile")

    def metrics(self, workload, timesteps: Optional[int] = None, **analysis):
        """NeuroBench's SynOps, effective ACs/MACs and activation sparsity of ``workload`` at
        this activity (no architecture needed). ``analysis`` takes ``[analysis]`` keys such as
        ``input_coding`` or ``baseline``."""
        from ._pipeline import as_workload
        from ._results import Metrics

        t = timesteps or self.timesteps
        if not t:
            raise ValueError("give timesteps: the profile does not say how many steps it was recorded at")
        m = _native.metrics(json.dumps(as_workload(workload).to_dict()), json.dumps(self.to_dict()), int(t),
                            json.dumps(analysis) if analysis else None)
        return Metrics.from_dict(json.loads(m))

    def to_pandas(self):
        from ._results import _pandas

        return _pandas().DataFrame([l.to_dict() for l in self.layers])

    def __repr__(self) -> str:
        rows = ", ".join(f"{l.name}: {l.spike_rate:.4f}" for l in self.layers)
        return f"Profile(T={self.timesteps}, samples={self.samples}, {rows})"

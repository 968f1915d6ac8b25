"""Activity profiles: per neuron layer, the SNN's spike rate and its twin's non-zero fraction.

The JSON written here is the profile file format the analysis reads (``[activity] type =
"profile"``, the README's "Activity profiles"), which refuses keys it does not know: where the
numbers came from (``Profile.source``) and the neuron model behind each layer
(``ProfileLayer.neuron``) stay on the Python objects, and the source reaches the report as its
activity label and notes. The spike-count histogram is written as the file's ``levels``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Union

from . import _snnergy as _native
from ._results import Metrics, _pandas
from ._workload import as_workload


@dataclass
class ProfileLayer:
    """One neuron layer of a profile."""

    name: str
    spike_rate: float
    nonzero: Optional[float] = None
    neurons: Optional[int] = None
    spikes: Optional[int] = None
    step_rates: List[float] = field(default_factory=list)
    # Outputs by level k = 0, 1, …: recorded, the neurons that fired k times over the T steps
    # (over the images sampled), which twin-consistent analysis takes as the twin's levels k;
    # measured by the engine, the QNN twin's outputs by level. The file calls it `levels`.
    histogram: List[int] = field(default_factory=list)
    # The mean level L̄ of the twin's non-zero outputs (r·T = ρ·L̄), which twin-consistent
    # analysis keeps while it moves the rate; from the histogram when not given.
    mean_level: Optional[float] = None
    # The spiking neuron module behind the layer and its parameters in snnergy's terms (kept
    # in Python: the profile file has no place for it).
    neuron: Optional[Dict[str, Any]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"a profile layer's name must be a string, not {type(self.name).__name__}")
        for key in ("spike_rate", "nonzero", "mean_level"):
            v = getattr(self, key)
            if v is None and key != "spike_rate":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"layer {self.name!r}: {key} must be a number, not {type(v).__name__} {v!r}")
            if not math.isfinite(v):
                raise ValueError(f"layer {self.name!r}: {key} = {v!r} is not a finite number")
        if self.mean_level is None:
            self.mean_level = mean_level(self.histogram)

    def to_dict(self) -> Dict[str, Any]:
        """The layer's entry in the profile file."""
        d: Dict[str, Any] = {"name": self.name, "spike_rate": self.spike_rate}
        for k in ("nonzero", "mean_level", "neurons", "spikes"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.step_rates:
            d["step_rates"] = list(self.step_rates)
        if self.histogram:
            d["levels"] = list(self.histogram)
        return d


@dataclass
class LayerInput:
    """What reached a layer with weights, after pooling, residual adds and reshaping, as
    :func:`snnergy.torch.record` and the engine measure it. The analysis prices these instead
    of estimating what pooling makes of the rates of the layers feeding it."""

    # SNN: fraction of the input values that are non-zero, per step (spikes: events per input
    # element per step; a direct-coded image: its non-zero pixels).
    density: float
    # The twin: fraction of its input values that are non-zero. Recorded from an SNN alone, the
    # inputs non-zero in at least one of the T steps (a converted SNN's input silent in all T
    # steps is a zero of its twin's input).
    nonzero: Optional[float] = None
    # SNN: fraction of the layer's synapses whose input is non-zero, per step (each input counts
    # with the synapses it feeds): effective synaptic operations over synapses × T.
    synapse_density: Optional[float] = None
    # The twin's fraction of synapses whose input is non-zero.
    synapse_nonzero: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        """The layer's input columns in the profile file."""
        d = {"input_density": self.density, "input_nonzero": self.nonzero,
             "synapse_density": self.synapse_density, "synapse_nonzero": self.synapse_nonzero}
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Optional["LayerInput"]:
        if d.get("input_density") is None:
            return None
        return cls(d["input_density"], d.get("input_nonzero"), d.get("synapse_density"), d.get("synapse_nonzero"))


_INPUT_COLUMNS = ("input_density", "input_nonzero", "synapse_density", "synapse_nonzero")


def mean_level(histogram: List[int]) -> Optional[float]:
    """The mean level of the non-zero entries of a histogram by level 0, 1, … (None when every
    count is at level 0)."""
    nonzero = sum(histogram[1:])
    return sum(k * n for k, n in enumerate(histogram)) / nonzero if nonzero else None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Union[str, os.PathLike], text: str) -> None:
    """Writes through a temporary file renamed into place: a failed write leaves nothing."""
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    # Only what was asked for is created: a missing folder is the caller's mistake.
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".snnergy-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        # mkstemp makes the file private (0600); the profile gets the mode any new file gets.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Profile:
    """Per-layer activity, as recorded by :func:`snnergy.torch.record`, measured by
    :func:`snnergy.engine.measure` or read from a file.

    ``source`` says how the numbers were obtained (the report's activity label and notes
    repeat it; it is not part of the file). ``inputs`` maps a layer with weights (a neuron
    layer or the readout) to what reached it (:class:`LayerInput`); ``input_rate`` is the
    encoded input's spike rate under rate coding, or under direct coding the image's share of
    non-zero values when no ``inputs`` entry of the first layer says so."""

    def __init__(self, layers: List[ProfileLayer], timesteps: Optional[int] = None,
                 samples: Optional[int] = None, source: str = "", input_rate: Optional[float] = None,
                 inputs: Optional[Dict[str, LayerInput]] = None):
        self.layers = list(layers)
        self.timesteps = timesteps
        self.samples = samples
        self.source = source
        self.input_rate = input_rate
        self.inputs: Dict[str, LayerInput] = dict(inputs or {})

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
        """The profile file's content (what ``save`` writes as JSON)."""
        d: Dict[str, Any] = {}
        if self.timesteps is not None:
            d["timesteps"] = self.timesteps
        if self.samples is not None:
            d["samples"] = self.samples
        layers = [dict(l.to_dict(), **(self.inputs[l.name].to_dict() if l.name in self.inputs else {}))
                  for l in self.layers]
        names = {l.name for l in self.layers}
        # Layers without neurons (the readout): a row with only what reached them.
        layers += [dict(name=n, **i.to_dict()) for n, i in self.inputs.items() if n not in names]
        if self.input_rate is not None:
            layers.insert(0, {"name": "input", "spike_rate": self.input_rate})
        d["layers"] = layers
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: Union[str, os.PathLike]) -> str:
        """Writes the profile as ``.json`` (the counts, per-step rates and levels too) or
        ``.csv`` (layer, spike_rate, nonzero, mean_level, neurons, spikes, timesteps) for
        ``[activity] type = "profile"``."""
        p = os.fspath(path)
        if p.endswith(".csv"):
            columns = ["layer", "spike_rate", "nonzero", "mean_level", "neurons", "spikes"]
            if self.inputs:
                columns += _INPUT_COLUMNS
            if self.timesteps:
                columns.append("timesteps")
            rows = [",".join(columns)]
            opt = lambda v: "" if v is None else repr(v)
            for e in self.to_dict()["layers"]:
                cells = [e["name"]] + [opt(e.get(k)) for k in columns[1:] if k != "timesteps"]
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
        inputs = {}
        for e in d.get("layers", []):
            if e.get("name") == "input":
                input_rate = e.get("spike_rate")
                continue
            got = LayerInput.from_dict(e)
            if got is not None:
                inputs[e["name"]] = got
            if e.get("spike_rate") is None and got is not None:
                continue  # a layer without neurons: only what reached it
            layers.append(ProfileLayer(
                name=e["name"], spike_rate=e["spike_rate"], nonzero=e.get("nonzero"),
                neurons=e.get("neurons"), spikes=e.get("spikes"), step_rates=e.get("step_rates", []),
                histogram=e.get("levels", []), mean_level=e.get("mean_level")))
        return cls(layers, timesteps=d.get("timesteps"), samples=d.get("samples"),
                   source=d.get("source", source), input_rate=input_rate, inputs=inputs)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Profile":
        """Reads a ``.json`` profile (``.csv``: layer, spike_rate, nonzero and mean_level
        columns)."""
        p = os.fspath(path)
        if p.endswith(".csv"):
            import csv

            with open(p) as f:
                rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
            layers = [{"name": r["layer"], **{k: float(r[k]) for k in ("spike_rate", "nonzero", "mean_level")
                                              + _INPUT_COLUMNS if r.get(k)}} for r in rows]
            t = rows[0].get("timesteps") if rows else None
            return cls.from_dict({"layers": layers, "timesteps": int(t) if t else None}, source=p)
        with open(p) as f:
            return cls.from_dict(json.load(f), source=p)

    def check(self, workload) -> None:
        """Raises :class:`snnergy.ActivityError` naming the layer if the profile names a layer
        the workload lacks, misses one of its neuron layers, or holds a value outside [0, 1]."""
        _native.check_profile(json.dumps(as_workload(workload).to_dict()), json.dumps(self.to_dict()),
                              self.source or "profile")

    def metrics(self, workload, timesteps: Optional[int] = None, **analysis):
        """NeuroBench's SynOps, effective ACs/MACs and activation sparsity of ``workload`` at
        this activity (no architecture needed). ``analysis`` takes ``[analysis]`` keys such as
        ``input_coding`` or ``baseline``."""
        t = timesteps or self.timesteps
        if not t:
            raise ValueError("give timesteps: the profile does not say how many steps it was recorded at")
        m = _native.metrics(json.dumps(as_workload(workload).to_dict()), json.dumps(self.to_dict()), int(t),
                            json.dumps(analysis) if analysis else None)
        return Metrics.from_dict(json.loads(m))

    def to_pandas(self):
        # Every field, the neuron model too, which the file leaves out; and what reached each
        # layer, `input_` before the names of LayerInput's fields.
        rows = []
        for l in self.layers:
            r = asdict(l)
            if l.name in self.inputs:
                r.update({f"input_{k}": v for k, v in asdict(self.inputs[l.name]).items()})
            rows.append(r)
        return _pandas().DataFrame(rows)

    def __repr__(self) -> str:
        rows = ", ".join(f"{l.name}: {l.spike_rate:.4f}" for l in self.layers)
        return f"Profile(T={self.timesteps}, samples={self.samples}, {rows})"

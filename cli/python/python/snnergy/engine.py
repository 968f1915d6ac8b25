"""snnergy's SNN engine from Python: run a converted SNN and its QNN twin on real images and get
per-layer spike rates, the twin's non-zero fractions and how far the SNN strays from its twin.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from . import _snnergy as _native
from ._pipeline import check_timesteps
from ._workload import Workload, as_workload, check_finite
from ._profile import LayerInput, Profile, ProfileLayer


@dataclass
class LayerMeasurement:
    """One neuron layer of a run (the fields of ``snnergy engine --json``'s ``layers[]``)."""

    name: str
    neurons: int
    spikes: int
    spike_rate: float
    twin_zero_fraction: float
    twin_spikes: int
    mean_abs_deviation: float
    fraction_differing: float
    step_rates: List[float] = field(default_factory=list)
    sparse_share: Optional[float] = None
    # The twin's outputs by level 0..T over all images, and the mean level of its non-zero
    # ones (None when all are zero): what twin-consistent analysis keeps as it moves the rate.
    twin_levels: List[int] = field(default_factory=list)
    twin_mean_level: Optional[float] = None


@dataclass
class InputMeasurement:
    """What reached one layer with weights (``snnergy engine --json``'s ``inputs[]``): after
    pooling, residual adds and reshaping, of the SNN and its twin."""

    name: str
    neuron: bool
    elements: int
    # SNN: fraction of the input values non-zero, per step.
    density: float
    # SNN: fraction of the input values non-zero in at least one of the T steps.
    active: float
    # SNN: fraction of the layer's synapses fed a non-zero value, per step.
    synapse_density: float
    # The twin's non-zero input fraction, and its fraction of synapses fed a non-zero value.
    twin_nonzero: float
    twin_synapse_nonzero: float


@dataclass
class Measurement:
    """What a run measured (the JSON of ``snnergy engine --json``)."""

    network: str
    images: int
    timesteps: int
    layers: List[LayerMeasurement]
    input_rate: Optional[float]
    top1_agreement: float
    snn_accuracy: float
    twin_accuracy: float
    seconds: float
    inputs: List[InputMeasurement] = field(default_factory=list)

    def mean_spike_rate(self) -> float:
        n = sum(l.neurons for l in self.layers)
        return sum(l.spike_rate * l.neurons for l in self.layers) / n if n else 0.0

    def profile(self) -> Profile:
        """The activity profile the analysis takes (``Activity.profile(m.profile())``)."""
        return Profile(
            [ProfileLayer(l.name, l.spike_rate, 1.0 - l.twin_zero_fraction, l.neurons, l.spikes, list(l.step_rates),
                          histogram=list(l.twin_levels), mean_level=l.twin_mean_level)
             for l in self.layers],
            timesteps=self.timesteps, samples=self.images, source="engine: converted SNN, QNN twin's non-zero fractions",
            input_rate=self.input_rate,
            inputs={i.name: LayerInput(i.density, i.twin_nonzero, i.synapse_density, i.twin_synapse_nonzero)
                    for i in self.inputs})


def measure(workload: Union[Workload, str, Dict[str, Any]], weights: Union[str, os.PathLike], timesteps: int = 6,
            base_dir: Union[str, os.PathLike, None] = None, **settings: Any) -> Measurement:
    """Runs the engine on ``workload``'s network with ``weights`` (safetensors, PyTorch module
    names) at ``timesteps``. ``settings`` are the keys of ``[activity] type = "engine"``:
    ``data``, ``dataset``, ``samples``, ``batch``, ``threshold``, ``neuron``, ``leak``,
    ``reset``, ``coding``, ``readout``, ``step_rates``, … (``snnergy describe engine``).
    The GIL is released while it runs."""
    w = as_workload(workload)
    if isinstance(check_timesteps(timesteps), (list, str)):
        raise TypeError(f"timesteps must be one whole number for a run, not {timesteps!r}")
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be a path, not {type(weights).__name__}")
    check_finite(settings, "")
    s = {k: (os.fspath(v) if k == "data" else v) for k, v in settings.items() if v is not None}
    raw = _native.engine_measure(json.dumps(w.to_dict()), os.fspath(weights), int(timesteps), json.dumps(s),
                                 None if base_dir is None else os.fspath(base_dir))
    d = json.loads(raw)
    layers = [LayerMeasurement(**l) for l in d.pop("layers")]
    inputs = [InputMeasurement(**i) for i in d.pop("inputs", [])]
    return Measurement(layers=layers, inputs=inputs, **d)

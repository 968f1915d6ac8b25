"""NIR graphs in and out: :func:`load` turns a graph (a ``nir.NIRGraph`` or a ``.nir`` file)
into a workload whose layers carry their own neurons and the engine's weights; :func:`export`
writes a network with its weights as a NIR file.

Both go through the same Rust code as ``snnergy import`` and ``snnergy export --nir`` (reading
HDF5 needs neither libhdf5 nor h5py; a graph object is saved with ``nir.write`` first, so the
``nir`` package is needed only for graph objects). Node by node:

- ``Conv2d`` (square kernels, any groups), ``Conv1d`` with kernel 1, ``Affine``, ``Linear``:
  layers named after their nodes, weights as they are;
- ``IF``, ``LIF``, ``CubaLIF``: the neuron of the layer feeding them, with its own threshold,
  reset (``v_reset`` = 0, or by subtraction where the node's metadata says so), decay
  (1 − dt/τ) and input gain; layers may differ;
- ``LI``, ``I`` right before the ``Output``: the readout's integrator; a spiking neuron there
  reads out by spike count;
- ``SumPool2d`` (stays a sum pool), ``AvgPool2d``, ``Flatten``, ``Scale`` of ones (a residual
  add where it sums several inputs);
- anything else (``Delay``, ``Threshold``, nested graphs, recurrence, parameters that differ
  between the neurons of a layer, non-zero ``v_leak`` or ``v_reset``, a ``Scale`` other than
  1, duplicated or dangling edges): :class:`snnergy.NirError` naming the node and the key.

The weights file keeps how the graph spelled the network, so :func:`export` of an imported
network writes the same nodes, names, edges and parameters back.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Union

from . import _snnergy as _native
from ._pipeline import Activity, Architecture, Pipeline
from ._workload import Workload, as_workload

DEFAULT_DT = 1e-4


@dataclass
class Imported:
    """What a NIR graph becomes: the workload (every layer with its own neuron), the path of its
    engine weights, the readout (``spike-count``, ``leaky-integrator`` or ``integrator``), a
    one-line summary and notes on what was translated how."""

    workload: Workload
    weights: str
    readout: str
    summary: str = ""
    notes: List[str] = field(default_factory=list)
    _keep: Any = None  # the temporary folder holding the weights, alive as long as this is

    def activity(self, **data: Any) -> Activity:
        """``[activity] type = "engine"`` for this network; ``data`` names the data set
        (``dataset=``, ``data=``, ``samples=``, …). The neurons are the layers' own."""
        return Activity.engine(self.weights, **data)

    def measure(self, timesteps: int = 6, **data: Any):
        """Runs the engine on the imported network (see :func:`snnergy.engine.measure`)."""
        from .engine import measure

        return measure(self.workload, self.weights, timesteps=timesteps, **data)

    def pipeline(self, architectures: Sequence[Union[Architecture, str]] = ("classical",), timesteps: int = 6,
                 **data: Any) -> Pipeline:
        """A pipeline measuring the imported network with the engine on ``data``."""
        return Pipeline(self.workload, self.activity(**data), list(architectures), timesteps=timesteps)


def _positive_seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} = {value!r} must be a positive number of seconds")
    return float(value)


def load(graph: Any, dt: float = DEFAULT_DT, weights: Union[str, os.PathLike, None] = None,
         name: Optional[str] = None) -> Imported:
    """Imports ``graph``: a ``nir.NIRGraph`` or the path of a NIR file. ``dt`` is the Euler step
    (seconds) continuous-time neurons are stepped with (snnTorch exports with 1e-4). The engine's
    weights go to ``weights`` (default: a temporary file that lives as long as the result).
    Raises :class:`snnergy.NirError` naming a node snnergy cannot translate; nothing is written
    then."""
    dt = _positive_seconds("dt", dt)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, not {type(name).__name__}")
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be a path, not {type(weights).__name__}")
    is_path = isinstance(graph, (str, os.PathLike))
    if not is_path and type(graph).__name__ != "NIRGraph":
        raise TypeError(f"graph must be a nir.NIRGraph or the path of a .nir file, not {type(graph).__name__}")
    tmp = tempfile.TemporaryDirectory(prefix="snnergy-nir-")
    try:
        if is_path:
            path = os.fspath(graph)
        else:
            import nir as _nir

            path = os.path.join(tmp.name, f"{name or 'graph'}.nir")
            _nir.write(path, graph)
        out = os.fspath(weights) if weights is not None else os.path.join(tmp.name, "weights.safetensors")
        res = json.loads(_native.nir_import(path, dt, name or (None if is_path else "nir"), out))
    except BaseException:
        tmp.cleanup()
        raise
    w = res["workload"]
    workload = Workload(w.pop("type"), **w)
    workload.notes = list(res["notes"])
    return Imported(workload, out, res["readout"], res["summary"], list(res["notes"]),
                    tmp if weights is None else None)


def export(workload: Union[Workload, str, dict], weights: Union[str, os.PathLike],
           path: Union[str, os.PathLike], threshold: float = 1.0 - 1e-4, leak: float = 1.0,
           reset: str = "subtract", dt: float = DEFAULT_DT) -> str:
    """Writes ``workload`` with ``weights`` (safetensors) as a NIR file. A network imported
    from NIR is written in the graph's own node names and types; otherwise BatchNorm is folded
    and every neuron layer gets its own neuron node, or, for layers without one, an ``IF``
    (``leak`` = 1) or ``LIF`` node with ``threshold``; reset by subtraction is recorded in the
    nodes' metadata (NIR resets to ``v_reset``)."""
    for key, v in (("threshold", threshold), ("leak", leak)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"{key} must be a number, not {type(v).__name__}")
        if not math.isfinite(v):
            raise ValueError(f"{key} = {v!r} is not a finite number")
    dt = _positive_seconds("dt", dt)
    if reset not in ("subtract", "zero"):
        raise ValueError(f"reset must be 'subtract' or 'zero', not {reset!r}")
    for key, v in (("weights", weights), ("path", path)):
        if not isinstance(v, (str, os.PathLike)):
            raise TypeError(f"{key} must be a path, not {type(v).__name__}")
    _native.nir_export(json.dumps(as_workload(workload).to_dict()), os.fspath(weights), os.fspath(path), threshold,
                       leak, reset, dt)
    return os.fspath(path)


def to_graph(workload: Union[Workload, str, dict], weights: Union[str, os.PathLike], **options: Any):
    """The same as :func:`export`, as a ``nir.NIRGraph`` object (needs the ``nir`` package)."""
    import nir as _nir

    with tempfile.TemporaryDirectory(prefix="snnergy-nir-") as d:
        p = export(workload, weights, os.path.join(d, "graph.nir"), **options)
        return _nir.read(p)

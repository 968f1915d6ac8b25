"""NIR graphs in and out: :func:`load` turns a graph (a ``nir.NIRGraph`` or a ``.nir`` file)
into a workload, the engine's weights and its neuron settings; :func:`export` writes a network
with its weights as a NIR file.

Both go through the same Rust code as ``snnergy import`` and ``snnergy export --nir`` (reading
HDF5 needs neither libhdf5 nor h5py; a graph object is saved with ``nir.write`` first, so the
``nir`` package is needed only for graph objects). Node by node:

- ``Conv2d`` (square kernels, any groups), ``Conv1d`` with kernel 1, ``Affine``, ``Linear``:
  layers named after their nodes;
- ``IF``, ``LIF``, ``CubaLIF``: the neuron of the layer feeding them; per-neuron thresholds and
  input gains are folded into that layer's weights (exact for IF and LIF); LIF time constants
  become the engine's leak 1 − dt/τ; CubaLIF's synaptic current is not modelled (a note says
  so);
- ``SumPool2d``, ``AvgPool2d`` (a sum pool's k² goes into the next layer's weights),
  ``Flatten``, ``Scale`` (folded; a ``Scale`` of ones summing several inputs is a residual
  add), ``LI``/``I`` before the output (the engine's membrane readout);
- ``Delay``, ``Threshold``, nested graphs, recurrent edges, non-zero ``v_leak`` or ``v_reset``:
  :class:`snnergy.NirError` naming the node.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _snnergy as _native
from ._pipeline import Activity, Architecture, Pipeline, Workload, as_workload

DEFAULT_DT = 1e-4


@dataclass
class Imported:
    """What a NIR graph becomes: the workload, the path of its engine weights, the engine's
    neuron settings (``neuron``, ``leak``, ``reset``, ``threshold``, ``readout``) and notes on
    what was translated how."""

    workload: Workload
    weights: str
    neuron: Dict[str, Any]
    notes: List[str] = field(default_factory=list)
    _keep: Any = None  # the temporary folder holding the weights, alive as long as this is

    def activity(self, **data: Any) -> Activity:
        """``[activity] type = "engine"`` for this network; ``data`` names the data set
        (``dataset=``, ``data=``, ``samples=``, …)."""
        settings = dict(self.neuron)
        if settings.get("neuron") == "if":
            settings.pop("leak", None)
        settings.update(data)
        return Activity.engine(self.weights, **settings)

    def measure(self, timesteps: int = 6, **data: Any):
        """Runs the engine on the imported network (see :func:`snnergy.engine.measure`)."""
        from .engine import measure

        settings = dict(self.neuron)
        if settings.get("neuron") == "if":
            settings.pop("leak", None)
        settings.update(data)
        return measure(self.workload, self.weights, timesteps=timesteps, **settings)

    def pipeline(self, architectures: Sequence[Union[Architecture, str]] = ("classical",), timesteps: int = 6,
                 **data: Any) -> Pipeline:
        """A pipeline measuring the imported network with the engine on ``data``."""
        return Pipeline(self.workload, self.activity(**data), list(architectures), timesteps=timesteps)


def load(graph: Any, dt: float = DEFAULT_DT, weights: Union[str, os.PathLike, None] = None,
         name: Optional[str] = None) -> Imported:
    """Imports ``graph``: a ``nir.NIRGraph`` or the path of a NIR file. ``dt`` is the Euler step
    (seconds) LIF neurons are stepped with (snnTorch exports with 1e-4). The engine's weights go
    to ``weights`` (default: a temporary file that lives as long as the result). Raises
    :class:`snnergy.NirError` naming a node snnergy cannot translate; nothing is written then."""
    tmp = tempfile.TemporaryDirectory(prefix="snnergy-nir-")
    try:
        if isinstance(graph, (str, os.PathLike)):
            path = os.fspath(graph)
        else:
            try:
                import nir as _nir
            except ImportError as e:
                raise ImportError("loading a graph object needs the `nir` package (pip install nir); "
                                  "a .nir file path needs nothing") from e
            path = os.path.join(tmp.name, f"{name or 'graph'}.nir")
            _nir.write(path, graph)
        out = os.fspath(weights) if weights is not None else os.path.join(tmp.name, "weights.safetensors")
        res = json.loads(_native.nir_import(path, dt, name or (None if isinstance(graph, (str, os.PathLike)) else "nir"),
                                            out))
    except BaseException:
        tmp.cleanup()
        raise
    w = res["workload"]
    workload = Workload(w.pop("type"), **w)
    workload.notes = list(res["notes"])
    return Imported(workload, out, res["neuron"], list(res["notes"]), tmp if weights is None else None)


def export(workload: Union[Workload, str, Dict[str, Any]], weights: Union[str, os.PathLike],
           path: Union[str, os.PathLike], threshold: float = 1.0 - 1e-4, leak: float = 1.0,
           reset: str = "subtract", dt: float = DEFAULT_DT) -> str:
    """Writes ``workload`` with ``weights`` (safetensors) as a NIR file: BatchNorm folded, an
    ``IF`` (``leak`` = 1) or ``LIF`` node after every neuron layer with ``threshold``; reset by
    subtraction is recorded in the nodes' metadata (NIR resets to ``v_reset``)."""
    if reset not in ("subtract", "zero"):
        raise ValueError(f"reset must be 'subtract' or 'zero', not {reset!r}")
    _native.nir_export(json.dumps(as_workload(workload).to_dict()), os.fspath(weights), os.fspath(path), threshold,
                       leak, reset, dt)
    return os.fspath(path)


def to_graph(workload: Union[Workload, str, Dict[str, Any]], weights: Union[str, os.PathLike], **options: Any):
    """The same as :func:`export`, as a ``nir.NIRGraph`` object (needs the ``nir`` package)."""
    import nir as _nir

    with tempfile.TemporaryDirectory(prefix="snnergy-nir-") as d:
        p = export(workload, weights, os.path.join(d, "graph.nir"), **options)
        return _nir.read(p)

"""Workloads from Python: the ``[workload]`` table, the network it builds, and the checks every
component table makes of its keys. Imported by the pipeline and profile modules alike, and
importing neither."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _snnergy as _native


def check_finite(value: Any, key: str) -> None:
    """Raises ``ValueError`` naming ``key`` (``spike_rates[1]``, ``layers[0].out``) where a
    number in ``value`` is NaN or infinite: the tables go to snnergy as JSON, which has no
    such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key} = {value!r} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite(v, f"{key}[{i}]")


def _clean(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class _Table:
    """A component table: ``type`` and the component's own keys, as in a pipeline file."""

    kind = ""

    def __init__(self, type: str, **params: Any):
        if not isinstance(type, str):
            raise TypeError(f"{self.kind} type must be a string such as 'classical', not {type.__class__.__name__}")
        self.type = type
        self.params = _clean(params)
        check_finite(self.params, "")

    def to_dict(self) -> Dict[str, Any]:
        return {"type": self.type, **self.params}

    def to_toml(self) -> str:
        return _native.toml_from_json(json.dumps({self.kind: self.to_dict()}))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.type!r}{', ' if args else ''}{args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()  # type: ignore[attr-defined]


@dataclass
class Layer:
    """A layer of a built network, with the quantities the energy models use."""

    name: str
    op: str
    input: List[int]
    output: List[int]
    neuron: bool
    bias: bool
    batchnorm: Optional[str]
    sources: List[str]
    params: Dict[str, Any] = field(default_factory=dict)

    @property
    def neurons(self) -> int:
        c, h, w = self.output
        return c * h * w


@dataclass
class Network:
    """The network a workload builds: layers in execution order with shapes and wiring."""

    name: str
    input: List[int]
    layers: List[Layer]

    def __getitem__(self, name: str) -> Layer:
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)

    @property
    def neuron_layers(self) -> List[str]:
        return [l.name for l in self.layers if l.neuron]

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Network":
        shape = lambda s: [s["c"], s["h"], s["w"]]
        layers: List[Layer] = []
        for l in d["layers"]:
            kind = dict(l["kind"])
            op = kind.pop("op")
            srcs = []
            for s in l["sources"]:
                srcs.append("input" if s == "input" else layers[s["layer"]].name)
            layers.append(Layer(l["name"], op, shape(l["input"]), shape(l["output"]), l["neuron"], l["bias"],
                                l.get("batchnorm"), srcs, kind))
        return cls(d["name"], shape(d["input"]), layers)


class Workload(_Table):
    """A ``[workload]`` table: ``Workload("vgg16", input="cifar10")``, or a layer list with
    :meth:`custom`. :func:`snnergy.torch.workload` and :func:`snnergy.nir.load` make one from a
    PyTorch module or a NIR graph."""

    kind = "workload"

    def __init__(self, type: str, **params: Any):
        super().__init__(type, **params)
        self.notes: List[str] = []

    @classmethod
    def custom(cls, layers: Sequence[Dict[str, Any]], input: Sequence[int], network: str = "custom") -> "Workload":
        """A network listed layer by layer (the ``custom`` workload: ``snnergy describe custom``)."""
        return cls("custom", network=network, input=list(input), layers=[_clean(dict(l)) for l in layers])

    def network(self) -> Network:
        """Builds the network (raises :class:`snnergy.WorkloadError` naming the layer)."""
        return Network.from_dict(json.loads(_native.network(json.dumps(self.to_dict()))))


def as_workload(w: Union[Workload, str, Dict[str, Any]]) -> Workload:
    """``w`` as a :class:`Workload`: a workload, a type name, or a dict of its table."""
    if isinstance(w, Workload):
        return w
    if isinstance(w, str):
        return Workload(w)
    if isinstance(w, dict):
        d = dict(w)
        if "type" not in d:
            raise ValueError(f"a workload table needs a 'type' key (keys given: {', '.join(map(str, d)) or 'none'})")
        return Workload(d.pop("type"), **d)
    raise TypeError(f"workload must be a snnergy.Workload, a type name or a dict, not {type(w).__name__}")

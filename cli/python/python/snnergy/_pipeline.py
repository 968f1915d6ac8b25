"""Pipelines from Python: the same TOML tables as pipeline files, built from objects."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _snnergy as _native
from ._profile import Profile
from ._results import Report


def _clean(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class _Table:
    """A component table: ``type`` and the component's own keys, as in a pipeline file."""

    kind = ""

    def __init__(self, type: str, **params: Any):
        self.type = type
        self.params = _clean(params)

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


class Architecture(_Table):
    """An ``[[architecture]]`` table: ``Architecture("classical", energy="horowitz-45nm")``."""

    kind = "architecture"

    def __init__(self, type: str, name: Optional[str] = None, energy: Union[str, Dict[str, Any], None] = None, **params: Any):
        super().__init__(type, name=name, energy=energy, **params)


class Energy(_Table):
    """An ``[energy]`` table (a price table): ``Energy("horowitz-45nm")``."""

    kind = "energy"


class Activity(_Table):
    """An ``[activity]`` table. Use :meth:`uniform`, :meth:`profile` or :meth:`engine`."""

    kind = "activity"

    def __init__(self, type: str, **params: Any):
        super().__init__(type, **params)
        self.profile_object: Optional[Profile] = None

    @classmethod
    def uniform(cls, spike_rates: Optional[Sequence[float]] = None, sparsity: Optional[Sequence[float]] = None,
                nonzero: Optional[float] = None) -> "Activity":
        """The same spike rate at every layer, for each rate listed. The baseline's non-zero
        fraction follows from the rate (ρ = r·T/L̄, L̄ the ``mean_level`` analysis key);
        ``nonzero`` holds ρ fixed instead, which the pipeline must ask for with
        ``twin="fixed-nonzero"``."""
        return cls("uniform", spike_rates=None if spike_rates is None else list(spike_rates),
                   sparsity=None if sparsity is None else list(sparsity), nonzero=nonzero)

    @classmethod
    def profile(cls, profile: Union[Profile, str, os.PathLike], nonzero: Optional[float] = None) -> "Activity":
        """Measured per-layer activity: a :class:`Profile` (from :func:`snnergy.torch.record` or
        :func:`snnergy.engine.measure`) or a profile file. ``nonzero`` is ρ for layers whose
        entry has none."""
        if isinstance(profile, Profile):
            a = cls("profile", path="<in memory>", nonzero=nonzero)
            a.profile_object = profile
            return a
        return cls("profile", path=os.fspath(profile), nonzero=nonzero)

    @classmethod
    def engine(cls, weights: Union[str, os.PathLike], **settings: Any) -> "Activity":
        """Spike rates measured by snnergy's engine on real data at every T analysed
        (keys: ``snnergy describe engine``)."""
        return cls("engine", weights=os.fspath(weights), **settings)


def as_workload(w: Union[Workload, str, Dict[str, Any]]) -> Workload:
    if isinstance(w, Workload):
        return w
    if isinstance(w, str):
        return Workload(w)
    if isinstance(w, dict):
        d = dict(w)
        return Workload(d.pop("type"), **d)
    raise TypeError(f"not a workload: {w!r}")


def _as_arch(a: Union[Architecture, str, Dict[str, Any]]) -> Architecture:
    if isinstance(a, Architecture):
        return a
    if isinstance(a, str):
        return Architecture(a)
    if isinstance(a, dict):
        d = dict(a)
        return Architecture(d.pop("type"), **d)
    raise TypeError(f"not an architecture: {a!r}")


class Pipeline:
    """A pipeline built in Python: the same sections as a pipeline file.

    >>> p = Pipeline(Workload("vgg16", input="cifar10"), Activity.uniform([0.05]),
    ...              ["classical", Architecture("spatial", energy="paper-v1")], timesteps=[4, 6])
    >>> report = p.run()

    ``analysis`` keys (``baseline``, ``input_coding``, ``weight_bits``, …: ``[analysis]`` in
    the README) may be given as keyword arguments. ``energy`` prices every architecture
    without its own. ``base_dir`` resolves relative paths (default: the current folder).
    """

    def __init__(self, workload: Union[Workload, str, Dict[str, Any], Sequence[Workload]],
                 activity: Union[Activity, Profile, None] = None,
                 architectures: Union[Sequence[Union[Architecture, str, Dict[str, Any]]], Architecture, str] = ("classical",),
                 energy: Union[Energy, str, None] = "horowitz-45nm", timesteps: Union[int, Sequence[int], str] = 6,
                 plugins: Optional[Sequence[Union[str, os.PathLike]]] = None,
                 base_dir: Union[str, os.PathLike, None] = None, **analysis: Any):
        if isinstance(workload, (list, tuple)):
            self.workloads = [as_workload(w) for w in workload]
        else:
            self.workloads = [as_workload(workload)]  # type: ignore[arg-type]
        if isinstance(activity, Profile):
            activity = Activity.profile(activity)
        self.activity = activity or Activity.uniform([0.05, 0.1])
        if isinstance(architectures, (str, Architecture, dict)):
            architectures = [architectures]  # type: ignore[list-item]
        self.architectures = [_as_arch(a) for a in architectures]
        self.energy = Energy(energy) if isinstance(energy, str) else energy
        self.analysis = _clean(dict(timesteps=list(timesteps) if isinstance(timesteps, (list, tuple)) else timesteps,
                                    **analysis))
        self.plugins = [os.fspath(p) for p in plugins or []]
        self.base_dir = os.fspath(base_dir) if base_dir is not None else None

    def to_dict(self, profile_path: Optional[str] = None) -> Dict[str, Any]:
        d: Dict[str, Any] = {"analysis": dict(self.analysis)}
        ws = [w.to_dict() for w in self.workloads]
        d["workload"] = ws[0] if len(ws) == 1 else ws
        act = self.activity.to_dict()
        if self.activity.profile_object is not None:
            act["path"] = profile_path or "<in memory>"
        d["activity"] = act
        if self.energy is not None:
            d["energy"] = self.energy.to_dict()
        d["architecture"] = [a.to_dict() for a in self.architectures]
        if self.plugins:
            d["plugins"] = {"load": self.plugins}
        return d

    def to_toml(self) -> str:
        """The pipeline file that runs the same analysis (an in-memory profile shows as
        ``<in memory>``: save it and point ``path`` at the file)."""
        return _native.toml_from_json(json.dumps(self.to_dict()))

    def run(self, write: bool = False, out: Union[str, os.PathLike, None] = None) -> Report:
        """Runs the analysis (the GIL is released meanwhile). With ``write``, the report files
        and figures go to ``out`` (default: ``[analysis] output``)."""
        profile = self.activity.profile_object
        if profile is None:
            return _run_text(self.to_toml(), base_dir=self.base_dir, out=out, write=write)
        # Checked before anything is written, so a mismatch names the layer and leaves nothing.
        for w in self.workloads:
            profile.check(w)
        tmp = tempfile.mkdtemp(prefix="snnergy-profile-")
        try:
            # The analysis labels the activity by the file name: say where the numbers came from.
            label = _label(profile.source or "recorded profile")
            path = os.path.join(tmp, f"{label}.json")
            profile.save(path)
            notes = [f"activity: {profile.source}"] if profile.source else []
            return _run_text(_native.toml_from_json(json.dumps(self.to_dict(profile_path=path))),
                             base_dir=self.base_dir, out=out, write=write, notes=notes)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def __repr__(self) -> str:
        return f"Pipeline(\n{self.to_toml()})"


def _label(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_.,()=" else "-" for c in text)
    return "-".join(p for p in keep.split("-") if p)[:120] or "profile"


def _run_text(text: str, base_dir=None, out=None, write=False, notes=None) -> Report:
    base = os.fspath(base_dir) if base_dir is not None else os.getcwd()
    res = json.loads(_native.run(text=text, base_dir=base, out=None if out is None else os.fspath(out), write=write))
    return Report(res["report"], res["verdicts"], res["written"], notes)


def run(pipeline: Union[Pipeline, Dict[str, Any], str, os.PathLike], write: bool = False,
        out: Union[str, os.PathLike, None] = None, base_dir: Union[str, os.PathLike, None] = None) -> Report:
    """Runs a pipeline: a :class:`Pipeline`, a dict of its sections, a path to a pipeline
    file, or TOML text. Errors are :class:`snnergy.SnnergyError` subclasses carrying the file,
    line and key. With ``write``, the report files and figures are written as ``snnergy run``
    writes them."""
    if isinstance(pipeline, Pipeline):
        if base_dir is not None:
            pipeline.base_dir = os.fspath(base_dir)
        return pipeline.run(write=write, out=out)
    if isinstance(pipeline, dict):
        return _run_text(_native.toml_from_json(json.dumps(pipeline)), base_dir=base_dir, out=out, write=write)
    text = os.fspath(pipeline)
    if "\n" in text or "=" in text:
        return _run_text(text, base_dir=base_dir, out=out, write=write)
    res = json.loads(_native.run(path=text, out=None if out is None else os.fspath(out), write=write))
    return Report(res["report"], res["verdicts"], res["written"])


@dataclass
class Component:
    """A registered component: its kind, ``type`` name, summary, parameters and example."""

    kind: str
    name: str
    summary: str
    params: Dict[str, str]
    defaults: Dict[str, Any]
    example: Dict[str, Any]
    origin: Any
    example_toml: str = ""


def _component(d: Dict[str, Any]) -> Component:
    return Component(d["kind"], d["name"], d["summary"], {p["name"]: p["doc"] for p in d["params"]},
                     d.get("defaults", {}), d.get("example", {}), d.get("origin"), d.get("example_toml", ""))


def components(kind: Optional[str] = None) -> List[Component]:
    """Every registered component (``snnergy list``), of one kind if given: ``workload``,
    ``activity``, ``architecture``, ``energy`` or ``regularizer``."""
    return [_component(d) for d in json.loads(_native.components(kind))]


def describe(name: str) -> Component:
    """A component's parameters, defaults and an example table (``snnergy describe NAME``).
    Where several kinds share the name, the first is returned."""
    return _component(json.loads(_native.describe(name))[0])


def load_plugin(path: Union[str, os.PathLike]) -> List[Dict[str, Any]]:
    """Loads a hardware plugin (a shared library) for every later call in this process;
    returns the components it provides. Plugins are native code: load only what you trust."""
    return json.loads(_native.load_plugin(os.fspath(path)))

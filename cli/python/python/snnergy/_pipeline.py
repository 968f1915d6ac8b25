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
from ._workload import Layer, Network, Workload, _clean, _Table, as_workload, check_finite


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
        def rates(name: str, v: Any) -> Optional[List[float]]:
            if v is None:
                return None
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = [v]
            if not isinstance(v, (list, tuple)):
                raise TypeError(f"{name} must be a list of numbers, not {type(v).__name__}")
            for i, x in enumerate(v):
                if isinstance(x, bool) or not isinstance(x, (int, float)):
                    raise TypeError(f"{name}[{i}] must be a number, not {type(x).__name__} {x!r}")
            return [float(x) for x in v]
        return cls("uniform", spike_rates=rates("spike_rates", spike_rates),
                   sparsity=rates("sparsity", sparsity), nonzero=nonzero)

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
        if not isinstance(weights, (str, os.PathLike)):
            raise TypeError(f"weights must be a path, not {type(weights).__name__}")
        return cls("engine", weights=os.fspath(weights), **settings)


def _as_arch(a: Union[Architecture, str, Dict[str, Any]]) -> Architecture:
    if isinstance(a, Architecture):
        return a
    if isinstance(a, str):
        return Architecture(a)
    if isinstance(a, dict):
        d = dict(a)
        if "type" not in d:
            raise ValueError(f"an architecture table needs a 'type' key (keys given: {', '.join(map(str, d)) or 'none'})")
        return Architecture(d.pop("type"), **d)
    raise TypeError(f"architectures must hold snnergy.Architecture objects, type names or dicts, not {type(a).__name__}")


def check_timesteps(timesteps: Any, name: str = "timesteps") -> Union[int, List[int], str]:
    """``timesteps`` as the analysis takes it: a whole number, a list of them, or a range
    string ``"1..16"``; a ``TypeError`` or ``ValueError`` naming ``name`` otherwise."""
    def one(t: Any, where: str) -> int:
        if isinstance(t, bool) or not isinstance(t, int):
            raise TypeError(f"{where} must be a whole number of time steps, not {type(t).__name__} {t!r}")
        if t < 1:
            raise ValueError(f"{where} = {t}: an SNN needs at least one time step")
        return t
    if isinstance(timesteps, str):
        if ".." not in timesteps:
            raise TypeError(f"{name} must be a whole number, a list of them or a range such as '1..16', "
                            f"not the string {timesteps!r}")
        return timesteps
    if isinstance(timesteps, (list, tuple)):
        if not timesteps:
            raise ValueError(f"{name} is empty")
        return [one(t, f"{name}[{i}]") for i, t in enumerate(timesteps)]
    return one(timesteps, name)


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
        if activity is not None and not isinstance(activity, Activity):
            raise TypeError(f"activity must be a snnergy.Activity or Profile, not {type(activity).__name__}")
        self.activity = activity or Activity.uniform([0.05, 0.1])
        if isinstance(architectures, (str, Architecture, dict)):
            architectures = [architectures]  # type: ignore[list-item]
        if not isinstance(architectures, (list, tuple)):
            raise TypeError(f"architectures must be a list, not {type(architectures).__name__}")
        self.architectures = [_as_arch(a) for a in architectures]
        if energy is not None and not isinstance(energy, (str, Energy)):
            raise TypeError(f"energy must be a price table's name or a snnergy.Energy, not {type(energy).__name__}")
        self.energy = Energy(energy) if isinstance(energy, str) else energy
        check_finite(analysis, "")
        self.analysis = _clean(dict(timesteps=check_timesteps(timesteps), **analysis))
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
    return Report(res["report"], res["verdicts"], res["written"], notes, res.get("verdicts_markdown"))


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
        check_finite(pipeline, "")
        return _run_text(_native.toml_from_json(json.dumps(pipeline)), base_dir=base_dir, out=out, write=write)
    if not isinstance(pipeline, (str, os.PathLike)):
        raise TypeError(f"pipeline must be a snnergy.Pipeline, a dict, TOML text or a path, not {type(pipeline).__name__}")
    text = os.fspath(pipeline)
    if "\n" in text or "=" in text:
        return _run_text(text, base_dir=base_dir, out=out, write=write)
    res = json.loads(_native.run(path=text, out=None if out is None else os.fspath(out), write=write))
    return Report(res["report"], res["verdicts"], res["written"], None, res.get("verdicts_markdown"))


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

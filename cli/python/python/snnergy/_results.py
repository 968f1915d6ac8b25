"""Typed results: the report JSON (schema 2) as Python objects.

Each object keeps the fields of its JSON counterpart under the same names, so the README's
JSON schema table describes them too; ``to_dict()`` gives the JSON back unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional


def _pick(cls, d: Dict[str, Any], **convert):
    """Builds dataclass ``cls`` from the keys of ``d`` it knows; keys added to the JSON by later
    versions are kept only in the parent's raw dict, so old code keeps working."""
    kwargs = {}
    for f in fields(cls):
        if f.name.startswith("_") or f.name not in d:
            continue
        v = d[f.name]
        kwargs[f.name] = convert[f.name](v) if f.name in convert else v
    return cls(**kwargs)


def _pandas():
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_pandas() needs pandas: pip install pandas") from e
    return pandas


@dataclass
class LayerComparison:
    """One layer of a comparison: energy per inference in pJ and where it goes."""

    layer: str = ""
    op: str = ""
    input_spike_rate: float = 0.0
    input_nonzero: float = 0.0
    snn_pj: float = 0.0
    baseline_pj: float = 0.0
    snn_breakdown: Dict[str, float] = field(default_factory=dict)
    baseline_breakdown: Dict[str, float] = field(default_factory=dict)


@dataclass
class Comparison:
    """The SNN against its baseline on one architecture, workload, T and operating point."""

    architecture: str = ""
    workload: str = ""
    operating_point: str = ""
    timesteps: int = 0
    spike_rate: float = 0.0
    sparsity: float = 0.0
    nonzero: float = 0.0
    # L̄ = r̄·T/ρ̄ this point implies (None when the twin is silent).
    mean_level: Optional[float] = None
    baseline: str = ""
    snn_pj: float = 0.0
    baseline_pj: float = 0.0
    ratio: float = 0.0
    # `snn-wins`, `snn-loses`, or `no-twin` where the point violates the twin bound.
    verdict: str = ""
    snn_pj_per_synapse: float = 0.0
    baseline_pj_per_synapse: float = 0.0
    twin_consistent: Optional[bool] = None
    snn_breakdown: Dict[str, float] = field(default_factory=dict)
    baseline_breakdown: Dict[str, float] = field(default_factory=dict)
    snn_by_class: Dict[str, float] = field(default_factory=dict)
    baseline_by_class: Dict[str, float] = field(default_factory=dict)
    layers: List[LayerComparison] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Comparison":
        return _pick(cls, d, layers=lambda v: [_pick(LayerComparison, x) for x in v])


@dataclass
class BreakEven:
    """Where the SNN stops winning, along the twin family ``twin`` (``consistent``: ρ = r·T/L̄
    moves with r; ``fixed-nonzero``): the spike rate with the twin's ρ and L̄ there (None when
    there is no crossing, ``status`` says why), and read as a mean level L̄* at the activity's
    rate ``level_rate`` (the SNN wins while its twin's non-zero activations average fewer)."""

    architecture: str = ""
    workload: str = ""
    timesteps: int = 0
    baseline: str = ""
    spike_rate: Optional[float] = None
    sparsity: Optional[float] = None
    nonzero: Optional[float] = None
    mean_level: Optional[float] = None
    twin: str = ""
    twin_clamped: bool = False
    # `crossing` (the SNN wins below), `snn-wins-above`, `snn-never-wins` or `snn-always-wins`.
    status: str = ""
    level_rate: Optional[float] = None
    level_breakeven: Optional[float] = None
    level_nonzero: Optional[float] = None
    level_status: str = ""


@dataclass
class Sweep:
    """Energy against spike rate for one architecture, workload and T; the baseline's ρ and
    energy at every rate (they move with the rate where the twin is consistent)."""

    architecture: str = ""
    workload: str = ""
    timesteps: int = 0
    baseline: str = ""
    spike_rates: List[float] = field(default_factory=list)
    nonzero: List[float] = field(default_factory=list)
    snn_pj: List[float] = field(default_factory=list)
    baseline_pj: List[float] = field(default_factory=list)


@dataclass
class FormatMetrics:
    """NeuroBench's counts for one format, per inference."""

    dense_synops: float = 0.0
    effective_macs: float = 0.0
    effective_acs: float = 0.0
    synops: float = 0.0
    activation_sparsity: float = 0.0


@dataclass
class LayerMetrics:
    """One weighted layer's connections and effective operations."""

    layer: str = ""
    connections: float = 0.0
    snn_binary_input: bool = False
    snn_input_density: float = 0.0
    baseline_input_density: float = 0.0
    snn_synops: float = 0.0
    baseline_synops: float = 0.0
    # Whether the input densities were measured (else estimated, pooled values taken as
    # independent).
    measured_input: bool = False


@dataclass
class AccessCounts:
    """Memory accesses and transfers one architecture counted, per level (`dram.read`, …)."""

    architecture: str = ""
    snn: Dict[str, float] = field(default_factory=dict)
    baseline: Dict[str, float] = field(default_factory=dict)


@dataclass
class Metrics:
    """SynOps, effective ACs and MACs, activation sparsity and per-level accesses of one
    workload at one T and operating point (NeuroBench definitions; see the README)."""

    workload: str = ""
    operating_point: str = ""
    timesteps: int = 0
    snn: FormatMetrics = field(default_factory=FormatMetrics)
    baseline: FormatMetrics = field(default_factory=FormatMetrics)
    layers: List[LayerMetrics] = field(default_factory=list)
    accesses: List[AccessCounts] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Metrics":
        return _pick(
            cls,
            d,
            snn=lambda v: _pick(FormatMetrics, v),
            baseline=lambda v: _pick(FormatMetrics, v),
            layers=lambda v: [_pick(LayerMetrics, x) for x in v],
            accesses=lambda v: [_pick(AccessCounts, x) for x in v],
        )

    def to_dict(self) -> Dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


_TABLES = ("comparisons", "breakeven", "layers", "metrics", "sweeps")


class Report:
    """What an analysis produced.

    ``verdicts`` are the sentences the CLI prints, as plain text (``verdicts_markdown``: as
    ``report.md`` writes them, architecture names in bold); ``breakeven``, ``comparisons``, ``sweeps``
    and ``metrics`` are typed views of the report JSON, which ``to_dict()`` returns as is
    (the same content as the ``report.json`` that ``snnergy run`` writes). ``written`` lists the
    files written when the pipeline ran with ``write=True``; ``notes`` says where the activity
    came from when it was not given as numbers.
    """

    def __init__(self, data: Dict[str, Any], verdicts: List[str], written: List[str], notes: Optional[List[str]] = None,
                 verdicts_markdown: Optional[List[str]] = None):
        self._data = data
        self.verdicts: List[str] = list(verdicts)
        self.verdicts_markdown: List[str] = list(verdicts_markdown if verdicts_markdown is not None else verdicts)
        self.written: List[str] = list(written)
        self.notes: List[str] = list(notes or [])
        self.title: str = data.get("title", "")
        self.schema: int = data.get("schema", 0)
        self.comparisons = [Comparison.from_dict(c) for c in data.get("comparisons", [])]
        self.breakeven = [_pick(BreakEven, b) for b in data.get("breakeven", [])]
        self.sweeps = [_pick(Sweep, s) for s in data.get("sweeps", [])]
        self.metrics = [Metrics.from_dict(m) for m in data.get("metrics", [])]
        self.warnings: List[str] = list(data.get("warnings", []))

    @property
    def verdict(self) -> str:
        """The first verdict (one architecture, the headline T)."""
        return self.verdicts[0] if self.verdicts else ""

    def breakeven_rate(self, architecture: Optional[str] = None, timesteps: Optional[int] = None) -> Optional[float]:
        """The break-even spike rate of ``architecture`` (default: the first) at ``timesteps``
        (default: the report's headline T, else the first analysed); None where the search
        found no crossing (the row's ``status`` says whether the SNN never or always wins)."""
        rows = [b for b in self.breakeven if architecture in (None, b.architecture)]
        if timesteps is not None:
            rows = [b for b in rows if b.timesteps == timesteps]
        elif rows:
            headline = self._data.get("settings", {}).get("headline_timesteps")
            ts = [b.timesteps for b in rows]
            want = headline if headline in ts else (6 if 6 in ts else ts[len(ts) // 2])
            rows = [b for b in rows if b.timesteps == want]
        if not rows:
            raise KeyError(f"no break-even row for architecture {architecture!r} at T = {timesteps}")
        return rows[0].spike_rate

    def to_dict(self) -> Dict[str, Any]:
        """The report JSON (schema 2) as a dict."""
        return self._data

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self._data, indent=indent)

    def to_pandas(self, table: str = "comparisons"):
        """One table as a pandas DataFrame: ``comparisons`` (one row per architecture ×
        workload × T × operating point), ``breakeven``, ``layers`` (per layer of every
        comparison), ``metrics`` (NeuroBench counts) or ``sweeps`` (long format)."""
        pd = _pandas()
        if table == "comparisons":
            rows = [{k: v for k, v in c.items() if not isinstance(v, (list, dict))} for c in self._data.get("comparisons", [])]
        elif table == "breakeven":
            rows = list(self._data.get("breakeven", []))
        elif table == "layers":
            rows = [
                dict(architecture=c["architecture"], workload=c["workload"], timesteps=c["timesteps"],
                     operating_point=c["operating_point"],
                     **{k: v for k, v in l.items() if not isinstance(v, dict)})
                for c in self._data.get("comparisons", [])
                for l in c.get("layers", [])
            ]
        elif table == "metrics":
            rows = []
            for m in self.metrics:
                for fmt in ("snn", "baseline"):
                    rows.append(dict(workload=m.workload, operating_point=m.operating_point,
                                     timesteps=m.timesteps, format=fmt, **vars(getattr(m, fmt))))
        elif table == "sweeps":
            rows = [
                dict(architecture=s.architecture, workload=s.workload, timesteps=s.timesteps,
                     spike_rate=r, nonzero=nz, snn_pj=e, baseline_pj=b)
                for s in self.sweeps
                for r, nz, e, b in zip(s.spike_rates, s.nonzero, s.snn_pj, s.baseline_pj)
            ]
        else:
            raise ValueError(f"unknown table {table!r} (tables: {', '.join(_TABLES)})")
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        lines = [f"Report({self.title!r})"]
        lines += [f"  {v}" for v in self.verdicts]
        return "\n".join(lines)

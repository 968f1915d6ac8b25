"""snnergy: does this spiking network really spend less energy than the quantized network it
replaces, on this hardware?

    import snnergy
    report = snnergy.run("pipelines/vgg16-cifar10.toml")
    print(report.verdicts[0])

Pipelines run from a file, TOML text, a dict or a :class:`Pipeline` built from
:class:`Workload`, :class:`Activity` and :class:`Architecture` objects. Networks and spike
activity come from PyTorch (:mod:`snnergy.torch`), NIR graphs (:mod:`snnergy.nir`) or
snnergy's own engine (:mod:`snnergy.engine`). Errors are :class:`SnnergyError` subclasses
carrying snnergy's located messages (file, line, key, layer).
"""

from ._snnergy import (
    ActivityError,
    ArchitectureError,
    ConfigError,
    EngineError,
    NirError,
    PluginError,
    PriceError,
    RegistryError,
    SnnergyError,
    WorkloadError,
)
from ._snnergy import version as _native_version
from ._pipeline import (
    Activity,
    Architecture,
    Component,
    Energy,
    Layer,
    Network,
    Pipeline,
    Workload,
    components,
    describe,
    load_plugin,
    run,
)
from ._profile import LayerInput, Profile, ProfileLayer
from ._results import (
    AccessCounts,
    BreakEven,
    Comparison,
    FormatMetrics,
    LayerComparison,
    LayerMetrics,
    Metrics,
    Report,
    Sweep,
)


class TraceError(SnnergyError):
    """A PyTorch module snnergy cannot turn into a workload; the message names the node."""


__version__ = _native_version()

__all__ = [
    "AccessCounts",
    "Activity",
    "ActivityError",
    "Architecture",
    "ArchitectureError",
    "BreakEven",
    "Comparison",
    "Component",
    "ConfigError",
    "Energy",
    "EngineError",
    "FormatMetrics",
    "Layer",
    "LayerComparison",
    "LayerInput",
    "LayerMetrics",
    "Metrics",
    "Network",
    "NirError",
    "Pipeline",
    "PluginError",
    "PriceError",
    "Profile",
    "ProfileLayer",
    "RegistryError",
    "Report",
    "SnnergyError",
    "Sweep",
    "TraceError",
    "Workload",
    "WorkloadError",
    "components",
    "describe",
    "load_plugin",
    "run",
]

"""The native half of snnergy (Rust, PyO3). Everything crosses as JSON or TOML text; the typed
objects are built in the pure-Python modules. Calls that analyse or simulate release the GIL."""

from os import PathLike
from typing import Optional, Union

_Path = Union[str, PathLike[str]]

class SnnergyError(Exception): ...
class ConfigError(SnnergyError): ...
class WorkloadError(SnnergyError): ...
class ActivityError(SnnergyError): ...
class ArchitectureError(SnnergyError): ...
class PriceError(SnnergyError): ...
class RegistryError(SnnergyError): ...
class PluginError(SnnergyError): ...
class EngineError(SnnergyError): ...
class NirError(SnnergyError): ...

def run(
    text: Optional[str] = None,
    path: Optional[_Path] = None,
    base_dir: Optional[_Path] = None,
    out: Optional[_Path] = None,
    write: bool = False,
) -> str:
    """Runs a pipeline (TOML text or a file); returns {"report", "verdicts", "written"} as JSON."""

def toml_from_json(json: str) -> str:
    """A pipeline given as a JSON object, as TOML text."""

def components(kind: Optional[str] = None) -> str:
    """Every registered component (of one kind) as a JSON list."""

def describe(name: str) -> str:
    """The components named `name`, with their example TOML, as a JSON list."""

def load_plugin(path: _Path) -> str:
    """Loads a hardware plugin for every later call; returns what it provides as JSON."""

def network(workload_json: str) -> str:
    """The network a workload table builds, as JSON."""

def check_profile(workload_json: str, profile_json: str, label: str) -> None:
    """Raises ActivityError naming the layer if the profile does not fit the workload."""

def metrics(workload_json: str, profile_json: str, timesteps: int, settings_json: Optional[str] = None) -> str:
    """NeuroBench's counts for a workload at a profile, as JSON."""

def engine_measure(
    workload_json: str,
    weights: _Path,
    timesteps: int,
    settings_json: str = "{}",
    base_dir: Optional[_Path] = None,
) -> str:
    """Runs the engine; returns its measurement as JSON."""

def nir_import(path: _Path, dt: float = 1e-4, network: Optional[str] = None, weights: Optional[_Path] = None) -> str:
    """Imports a NIR file: {"workload", "readout", "summary", "notes"} as JSON; writes the weights
    (with the graph's spelling in their metadata) if asked."""

def nir_export(
    workload_json: str,
    weights: _Path,
    out: _Path,
    threshold: float = 0.9999,
    leak: float = 1.0,
    reset: str = "subtract",
    dt: float = 1e-4,
) -> str:
    """Writes a workload with its weights as a NIR file; returns the export's notes as JSON."""

def version() -> str: ...

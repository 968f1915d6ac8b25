"""From PyTorch: a module's structure as a snnergy workload, its spike activity as a profile,
and its weights in the safetensors layout snnergy's engine reads.

- :func:`workload` traces a module (torch.fx, forward hooks where fx fails) into a ``custom``
  workload whose layer names are the module names (``features.0``, ``layer1.0.conv1``, …).
- :func:`record` runs a spiking network over a data loader with hooks on its spiking neuron
  modules (snnTorch, SpikingJelly, Norse, Sinabs, or any module with binary outputs) and
  returns per-layer spike rates, per-step rates and the spike-count histogram, with each
  neuron model translated into snnergy's terms. Given a ``spikformer``,
  ``spike-driven-transformer`` or ``spike-driven-transformer-v2`` workload it records the model
  built as their reference code builds it (module names of ``ZK-Zhou/spikformer``,
  ``BICLab/Spike-Driven-Transformer`` and ``-V2``, spikingjelly's multi-step neurons): Q, K and V spikes, the attention's neurons, the MLP's
  hidden layer and the residual stream, under the workload's layer names
  (:func:`reference_neurons`).
- :func:`save_weights` writes a ``state_dict`` as safetensors under those names.
- :func:`analyze` goes from a model and a data loader to a report in one call (trace, record,
  analyse).

Conventions: a convolution, linear layer or residual add followed by an activation or a
spiking neuron is a neuron layer; BatchNorm must directly follow the layer it is folded into;
the last layer without an activation is the readout. A spiking neuron's rate is attributed to
the layer that feeds it, which is how the analysis and the engine name activity.
"""

from __future__ import annotations

import copy
import math
import operator
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import TraceError, _transformers
from ._workload import Workload
from ._profile import LayerInput, Profile, ProfileLayer

# ---------------------------------------------------------------------------------------------
# Spiking neuron modules and their parameters in snnergy's terms
# ---------------------------------------------------------------------------------------------

_NEURONS = {
    "snntorch": {"Leaky", "Synaptic", "RLeaky", "RSynaptic", "Lapicque", "Alpha"},
    "spikingjelly": {"IFNode", "LIFNode", "ParametricLIFNode", "KLIFNode", "QIFNode", "EIFNode", "IzhikevichNode",
                     "MultiStepIFNode", "MultiStepLIFNode", "MultiStepParametricLIFNode"},
    "norse": {"LIF", "LIFCell", "LIFBox", "LIFBoxCell", "IAF", "IAFCell", "LIFAdEx", "LIFAdExCell"},
    "sinabs": {"IAF", "IAFSqueeze", "IAFRecurrent", "LIF", "LIFSqueeze", "LIFRecurrent"},
}

_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.Hardtanh,
                nn.Hardswish, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Mish)
_ACTIVATION_FUNCTIONS = {F.relu, F.relu6, F.leaky_relu, F.elu, F.gelu, F.silu, F.hardtanh, F.sigmoid, F.tanh,
                         torch.relu, torch.sigmoid, torch.tanh, torch.relu_, F.relu_}
_ACTIVATION_METHODS = {"relu", "relu_", "sigmoid", "tanh", "clamp", "clamp_", "clip"}
_PASS_METHODS = {"contiguous", "clone", "detach", "float", "to", "type_as", "requires_grad_"}
_SHAPE_METHODS = {"view", "reshape", "flatten"}


def neuron_library(module: nn.Module) -> Optional[str]:
    """The spiking library a module's class (or one of its bases) comes from, if it is one of
    the neuron models snnergy knows."""
    for cls in type(module).__mro__:
        root = cls.__module__.split(".")[0]
        if cls.__name__ in _NEURONS.get(root, ()):
            return root
    return None


def _num(v: Any) -> Union[float, List[float], None]:
    if v is None:
        return None
    if isinstance(v, torch.Tensor):
        v = v.detach().float().flatten()
        if v.numel() == 1:
            return float(v.item())
        u = v.unique()
        return float(u.item()) if u.numel() == 1 else [float(x) for x in v.tolist()]
    if isinstance(v, (int, float)):
        return float(v)
    return None


def _class_name(m: nn.Module) -> str:
    for cls in type(m).__mro__:
        root = cls.__module__.split(".")[0]
        if cls.__name__ in _NEURONS.get(root, ()):
            return cls.__name__
    return type(m).__name__


def neuron_params(module: nn.Module) -> Dict[str, Any]:
    """A neuron module's model in snnergy's terms (the engine's ``neuron``, ``leak``,
    ``threshold``, ``reset``), with the library's own parameters and how they were translated.

    snnergy's neuron: u = leak·v + input; a spike when u ≥ threshold; then v = u − threshold
    (``reset = "subtract"``) or 0 (``"zero"``). ``input_scale`` is the factor the library puts
    on the input current, to be folded into the weights before the engine runs them."""
    lib = neuron_library(module)
    name = _class_name(module)
    out: Dict[str, Any] = {"library": lib or type(module).__module__.split(".")[0], "type": name}
    if lib == "snntorch":
        beta = _num(getattr(module, "beta", 1.0))
        reset = getattr(module, "reset_mechanism", "subtract")
        out.update(threshold=_num(getattr(module, "threshold", 1.0)), leak=beta,
                   reset={"subtract": "subtract", "zero": "zero", "none": "none"}.get(reset, reset), input_scale=1.0)
        out["neuron"] = "if" if beta == 1.0 else "lif"
        if name in ("Synaptic", "RSynaptic"):
            out.update(neuron="cuba-lif", synaptic_decay=_num(getattr(module, "alpha", None)),
                       note="syn = alpha·syn + input, mem = beta·mem + syn: a synaptic current the engine does not model")
        if name in ("RLeaky", "RSynaptic"):
            out["note"] = "recurrent: its recurrent synapses are not in the workload"
    elif lib == "spikingjelly":
        v_reset = getattr(module, "v_reset", 0.0)
        out.update(threshold=_num(getattr(module, "v_threshold", 1.0)),
                   reset="subtract" if v_reset is None else ("zero" if _num(v_reset) == 0.0 else f"to {_num(v_reset)}"))
        if name in ("IFNode", "MultiStepIFNode"):
            out.update(neuron="if", leak=1.0, input_scale=1.0)
        else:
            if hasattr(module, "w") and name.endswith("ParametricLIFNode"):
                inv_tau = float(torch.sigmoid(module.w.detach()).item())
            else:
                inv_tau = 1.0 / float(_num(getattr(module, "tau", 2.0)))  # type: ignore[arg-type]
            decay_input = bool(getattr(module, "decay_input", True))
            out.update(neuron="lif", leak=1.0 - inv_tau, input_scale=inv_tau if decay_input else 1.0,
                       note=f"v += (x - v)/tau with 1/tau = {inv_tau:g}" if decay_input else f"v -= v/tau, v += x; 1/tau = {inv_tau:g}")
    elif lib == "norse":
        p = getattr(module, "p", None)
        dt = float(getattr(module, "dt", 1e-3))
        inv_mem = float(_num(getattr(p, "tau_mem_inv", 100.0)) or 100.0)  # type: ignore[arg-type]
        inv_syn = float(_num(getattr(p, "tau_syn_inv", 200.0)) or 200.0)  # type: ignore[arg-type]
        v_reset = _num(getattr(p, "v_reset", 0.0))
        out.update(neuron="cuba-lif", threshold=_num(getattr(p, "v_th", 1.0)), leak=1.0 - dt * inv_mem,
                   synaptic_decay=1.0 - dt * inv_syn, input_scale=dt * inv_mem,
                   reset="zero" if v_reset == 0.0 else f"to {v_reset}", dt=dt,
                   note="v += dt·tau_mem_inv·(v_leak − v + i), i decays by dt·tau_syn_inv and adds the input: "
                        "a synaptic current the engine does not model")
    elif lib == "sinabs":
        reset_fn = type(getattr(module, "reset_fn", None)).__name__
        spike_fn = getattr(module, "spike_fn", None)
        spike_name = getattr(spike_fn, "__name__", type(spike_fn).__name__)
        out.update(threshold=_num(getattr(module, "spike_threshold", 1.0)),
                   reset="zero" if reset_fn == "MembraneReset" else "subtract",
                   multi_spike=spike_name == "MultiSpike")
        if name.startswith("IAF"):
            out.update(neuron="if", leak=1.0, input_scale=1.0)
        else:
            tau = float(_num(getattr(module, "tau_mem", 10.0)))  # type: ignore[arg-type]
            alpha = math.exp(-1.0 / tau)
            out.update(neuron="lif", leak=alpha, input_scale=(1.0 - alpha) if getattr(module, "norm_input", True) else 1.0)
        if out.get("multi_spike"):
            out["note"] = "MultiSpike: a neuron may emit several spikes in one step; rates count spikes"
    else:
        out.update(neuron="unknown", note="not a known neuron model: counted as spikes because its outputs are binary")
    return out


# ---------------------------------------------------------------------------------------------
# Tracing
# ---------------------------------------------------------------------------------------------

@dataclass
class _Val:
    """What a traced value is, as far as the layer list cares."""

    kind: str  # "input", "layer", "const", "opaque", "tuple"
    shape: Tuple[int, ...] = ()
    layer: Optional[str] = None  # the snnergy layer that produced it ("input" for the input)
    items: List["_Val"] = field(default_factory=list)
    what: str = ""  # for opaque values: the node that made them
    direct: bool = True  # straight out of a weighted layer (where BatchNorm may still fold)


@dataclass
class _Trace:
    layers: List[Dict[str, Any]]
    input_shape: List[int]
    neuron_of: Dict[str, str]  # neuron/activation module -> layer it belongs to
    notes: List[str]
    method: str


def _pair(v: Any, what: str, where: str) -> int:
    if isinstance(v, (tuple, list)):
        if len(set(v)) != 1:
            raise TraceError(f"`{where}`: {what} {tuple(v)} differs between height and width; snnergy's layers are square")
        return int(v[0])
    return int(v)


class _Builder:
    """Turns a sequence of traced operations into the ``custom`` workload's layer list."""

    def __init__(self, input_shape: Tuple[int, ...]):
        self.layers: List[Dict[str, Any]] = []
        self.by_name: Dict[str, Dict[str, Any]] = {}
        self.neuron_of: Dict[str, str] = {}
        self.notes: List[str] = []
        self.input = _Val("input", tuple(input_shape), "input")

    def _need(self, v: _Val, consumer: str) -> _Val:
        if v.kind == "tuple" and v.items:
            v = v.items[0]
        if v.kind in ("input", "layer"):
            return v
        if v.kind == "opaque":
            raise TraceError(
                f"cannot trace {v.what}, which feeds `{consumer}`: snnergy knows convolutions, linear layers, "
                f"pooling, BatchNorm, flatten, dropout, activations, spiking neurons and residual adds")
        raise TraceError(f"`{consumer}` reads a constant, not the network's data")

    def _emit(self, entry: Dict[str, Any], src: _Val, shape: Tuple[int, ...]) -> _Val:
        name = entry["name"]
        if name in self.by_name:
            raise TraceError(f"layer name `{name}` is used twice")
        last = self.layers[-1]["name"] if self.layers else "input"
        if entry["op"] != "add" and src.layer != last:
            entry["from"] = src.layer
        self.layers.append(entry)
        self.by_name[name] = entry
        return _Val("layer", shape, name)

    def conv(self, name: str, m: nn.Conv2d, src: _Val, out_shape) -> _Val:
        src = self._need(src, name)
        if len(src.shape) != 3:
            raise TraceError(f"`{name}` (Conv2d) sees an input of shape {src.shape}, not channels × height × width")
        if tuple(m.dilation) != (1, 1):
            raise TraceError(f"`{name}` (Conv2d): dilation {tuple(m.dilation)} is not supported")
        if isinstance(m.padding, str):
            pad = (m.kernel_size[0] - 1) // 2 if m.padding == "same" else 0
        else:
            pad = _pair(m.padding, "padding", name)
        entry = {"op": "conv", "name": name, "out": m.out_channels, "kernel": _pair(m.kernel_size, "kernel", name),
                 "stride": _pair(m.stride, "stride", name), "padding": pad, "bias": m.bias is not None,
                 "neuron": False}
        if m.groups != 1:
            entry["groups"] = m.groups
        return self._emit(entry, src, tuple(out_shape))

    def linear(self, name: str, m: nn.Linear, src: _Val) -> _Val:
        src = self._need(src, name)
        n = math.prod(src.shape)
        if m.in_features != n:
            raise TraceError(f"`{name}` (Linear) takes {m.in_features} features but sees {n} values of shape "
                             f"{src.shape}: snnergy's linear layers read the whole flattened input")
        return self._emit({"op": "linear", "name": name, "out": m.out_features, "bias": m.bias is not None,
                           "neuron": False}, src, (m.out_features,))

    def pool(self, name: str, op: str, src: _Val, kernel: Any, stride: Any, padding: Any, ceil: bool,
             out_shape) -> _Val:
        src = self._need(src, name)
        if ceil:
            raise TraceError(f"`{name}` ({op}): ceil_mode is not supported")
        k = _pair(kernel, "kernel", name)
        s = _pair(stride if stride not in (None, [], ()) else kernel, "stride", name)
        p = _pair(padding, "padding", name)
        return self._emit({"op": op, "name": name, "kernel": k, "stride": s, "padding": p}, src, tuple(out_shape))

    def add(self, name: str, a: _Val, b: _Val) -> _Val:
        a, b = self._need(a, name), self._need(b, name)
        if a.shape != b.shape:
            raise TraceError(f"`{name}` adds tensors of shapes {a.shape} and {b.shape}")
        return self._emit({"op": "add", "name": name, "inputs": [a.layer, b.layer], "neuron": False}, a, a.shape)

    def batchnorm(self, name: str, src: _Val) -> _Val:
        src = self._need(src, name)
        entry = self.by_name.get(src.layer or "")
        if entry is None or entry["op"] not in ("conv", "linear") or not src.direct or "batchnorm" in entry \
                or entry.get("neuron"):
            raise TraceError(f"BatchNorm `{name}` does not directly follow a convolution or linear layer: snnergy "
                             f"folds BatchNorm into the layer before it")
        entry["batchnorm"] = name
        return src

    def activation(self, name: str, src: _Val, known: bool, cls: str) -> _Val:
        v = self._need(src, name)
        if v.kind == "input":
            self.notes.append(f"`{name}` ({cls}) acts on the network input and is not a layer of the workload")
            return v
        entry = self.by_name[v.layer or ""]
        if entry["op"] in ("avgpool", "maxpool"):
            raise TraceError(f"`{name}` ({cls}) follows pooling layer `{entry['name']}`: snnergy puts neurons after "
                             f"convolution, linear and add layers; apply the activation before the pooling")
        if entry.get("neuron"):
            self.notes.append(f"`{name}` ({cls}) follows `{self.neuron_of_layer(entry['name'])}`, the neuron of "
                              f"`{entry['name']}`: one neuron per layer, taken as the same")
            return _Val("layer", v.shape, v.layer, direct=False)
        entry["neuron"] = True
        self.neuron_of[name] = entry["name"]
        if not known:
            self.notes.append(f"`{name}` ({cls}) is not a module snnergy knows; it keeps the shape, so it is taken "
                              f"as the neuron of `{entry['name']}`")
        return _Val("layer", v.shape, v.layer, direct=False)

    def neuron_of_layer(self, layer: str) -> str:
        return next((k for k, v in self.neuron_of.items() if v == layer), "?")


def _strip_batch(shape) -> Tuple[int, ...]:
    return tuple(int(s) for s in shape[1:])


def _is_activation_module(m: nn.Module) -> bool:
    return isinstance(m, _ACTIVATIONS) or neuron_library(m) is not None


def _first(x):
    return x[0] if isinstance(x, (tuple, list)) and x else x


def _shape_of(x) -> Tuple[int, ...]:
    x = _first(x)
    return _strip_batch(x.shape) if isinstance(x, torch.Tensor) else ()


def _fx_trace(model: nn.Module, example: torch.Tensor) -> _Trace:
    import torch.fx as fx

    class Tracer(fx.Tracer):
        def __init__(self):
            super().__init__()
            self.scope: List[str] = []

        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            # Leaves keep their internals (autograd Functions, neuron state) out of the graph.
            return neuron_library(m) is not None or not any(True for _ in m.children()) \
                or super().is_leaf_module(m, qualname)

        def call_module(self, m, forward, args, kwargs):
            self.scope.append(self.path_of_module(m))
            try:
                return super().call_module(m, forward, args, kwargs)
            finally:
                self.scope.pop()

        def create_node(self, *args, **kwargs):
            node = super().create_node(*args, **kwargs)
            node.meta["snnergy_scope"] = self.scope[-1] if self.scope else ""
            return node

    tracer = Tracer()
    graph = tracer.trace(model)
    gm = fx.GraphModule(model, graph)

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            result = super().run_node(n)
            n.meta["snnergy_out"] = result
            return result

    with torch.no_grad():
        Recorder(gm).run(example)

    modules = dict(model.named_modules())
    b = _Builder(_strip_batch(example.shape))
    vals: Dict[Any, _Val] = {}
    first_call: Dict[str, _Val] = {}
    used_names: Dict[str, int] = {}
    placeholders = 0

    def val(a) -> _Val:
        if isinstance(a, fx.Node):
            return vals[a]
        return _Val("const")

    def fname(n, base: str) -> str:
        scope = n.meta.get("snnergy_scope", "")
        name = f"{scope}.{base}" if scope else base
        k = used_names.get(name, 0)
        used_names[name] = k + 1
        return name if k == 0 else f"{name}_{k}"

    def arg(n, i: int, key: str, default=None):
        if len(n.args) > i:
            return n.args[i]
        return n.kwargs.get(key, default)

    for n in graph.nodes:
        out = n.meta.get("snnergy_out")
        if n.op == "placeholder":
            vals[n] = b.input if placeholders == 0 else _Val("const")
            placeholders += 1
        elif n.op == "get_attr":
            vals[n] = _Val("const")
        elif n.op == "output":
            continue
        elif n.op == "call_module":
            name = str(n.target)
            if name in first_call:
                # A module called again (a time loop unrolled by the trace) is the same layer.
                vals[n] = first_call[name]
                continue
            m = modules[name]
            src = val(n.args[0]) if n.args else _Val("const")
            cls = type(m).__name__
            if isinstance(m, nn.Conv2d):
                v = b.conv(name, m, src, _shape_of(out))
            elif isinstance(m, nn.Linear):
                v = b.linear(name, m, src)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                v = b.batchnorm(name, src)
            elif isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
                op = "avgpool" if isinstance(m, nn.AvgPool2d) else "maxpool"
                v = b.pool(name, op, src, m.kernel_size, m.stride, m.padding, bool(m.ceil_mode), _shape_of(out))
            elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
                v = _adaptive(b, name, m, src, _shape_of(out))
            elif isinstance(m, (nn.Dropout, nn.Dropout2d, nn.Identity, nn.AlphaDropout)):
                v = src
            elif isinstance(m, nn.Flatten):
                s = b._need(src, name)
                v = _Val(s.kind, _shape_of(out), s.layer, direct=s.direct)
            elif _is_activation_module(m):
                v = b.activation(name, src, True, cls)
                if isinstance(out, (tuple, list)):
                    v = _Val("tuple", v.shape, v.layer, items=[v] + [_Val("const")] * (len(out) - 1))
            else:
                s = val(n.args[0]) if n.args else _Val("const")
                if s.kind in ("input", "layer", "tuple") and _shape_of(out) == (s.items[0] if s.kind == "tuple" else s).shape:
                    v = b.activation(name, s, False, cls)
                else:
                    v = _Val("opaque", _shape_of(out), what=f"`{name}` ({cls})")
            vals[n] = v
            first_call[name] = v
        elif n.op == "call_function":
            t = n.target
            tname = getattr(t, "__name__", str(t))
            if t in (operator.add, operator.iadd, torch.add):
                a, c = val(n.args[0]), val(n.args[1]) if len(n.args) > 1 else _Val("const")
                if a.kind == "const" or c.kind == "const":
                    vals[n] = c if a.kind == "const" else a
                else:
                    vals[n] = b.add(fname(n, "add"), a, c)
            elif t is operator.getitem:
                s = val(n.args[0])
                i = n.args[1]
                if s.kind == "tuple" and isinstance(i, int) and i < len(s.items):
                    vals[n] = s.items[i]
                elif s.kind == "const":
                    vals[n] = s
                else:
                    vals[n] = _Val("opaque", _shape_of(out), what=f"`{n.name}` (indexing)")
            elif t in (torch.flatten, torch.reshape):
                s = val(n.args[0])
                vals[n] = _Val(s.kind, _shape_of(out), s.layer, what=s.what, direct=s.direct) \
                    if s.kind != "const" else s
            elif t in _ACTIVATION_FUNCTIONS:
                vals[n] = b.activation(fname(n, tname), val(n.args[0]), True, tname)
            elif t in (F.avg_pool2d, F.max_pool2d):
                op = "avgpool" if t is F.avg_pool2d else "maxpool"
                k = arg(n, 1, "kernel_size")
                vals[n] = b.pool(fname(n, tname), op, val(n.args[0]), k, arg(n, 2, "stride"), arg(n, 3, "padding", 0),
                                 bool(arg(n, 4 if op == "avgpool" else 5, "ceil_mode", False)), _shape_of(out))
            elif t in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
                mod = nn.AdaptiveAvgPool2d(arg(n, 1, "output_size")) if t is F.adaptive_avg_pool2d \
                    else nn.AdaptiveMaxPool2d(arg(n, 1, "output_size"))
                vals[n] = _adaptive(b, fname(n, tname), mod, val(n.args[0]), _shape_of(out))
            elif t in (F.dropout, F.dropout2d):
                vals[n] = val(n.args[0])
            else:
                args = [val(a) for a in n.all_input_nodes]
                vals[n] = _Val("const") if all(a.kind == "const" for a in args) else \
                    _Val("opaque", _shape_of(out), what=f"`{n.name}` ({tname})")
        elif n.op == "call_method":
            s = val(n.args[0])
            if n.target in ("size", "dim", "numel"):
                vals[n] = _Val("const")
            elif n.target in _PASS_METHODS:
                vals[n] = s
            elif n.target in _SHAPE_METHODS:
                vals[n] = s if s.kind == "const" else _Val(s.kind, _shape_of(out), s.layer, what=s.what,
                                                             direct=s.direct)
            elif n.target in _ACTIVATION_METHODS:
                vals[n] = b.activation(fname(n, str(n.target)), s, True, str(n.target))
            elif all(val(a).kind == "const" for a in n.all_input_nodes):
                vals[n] = _Val("const")
            else:
                vals[n] = _Val("opaque", _shape_of(out), what=f"`{n.name}` (.{n.target}())")
    return _Trace(b.layers, list(_strip_batch(example.shape)), b.neuron_of, b.notes, "torch.fx")


def _adaptive(b: _Builder, name: str, m: nn.Module, src: _Val, out_shape) -> _Val:
    s = b._need(src, name)
    if tuple(out_shape) == tuple(s.shape):
        return s
    if len(s.shape) == 3 and s.shape[1] == s.shape[2] and tuple(out_shape[1:]) == (1, 1):
        op = "avgpool" if isinstance(m, nn.AdaptiveAvgPool2d) else "maxpool"
        return b.pool(name, op, s, s.shape[1], s.shape[1], 0, False, out_shape)
    raise TraceError(f"`{name}` ({type(m).__name__}) from {s.shape} to {tuple(out_shape)}: only global pooling of a "
                     f"square map (output 1×1) is supported")


def _hook_trace(model: nn.Module, example: torch.Tensor, reason: str) -> _Trace:
    """Records the leaf modules a forward pass calls, in order. Functional operations between
    modules are invisible here: a value that changed without a module call but kept its shape
    is taken as the previous layer's activation; residual adds cannot be seen."""
    calls: List[Tuple[str, nn.Module, Any, Any]] = []
    handles = []
    for name, m in model.named_modules():
        if neuron_library(m) is not None or (name and not any(True for _ in m.children())):
            handles.append(m.register_forward_hook(
                lambda mod, inp, out, name=name: calls.append((name, mod, inp, out))))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    b = _Builder(_strip_batch(example.shape))
    produced: Dict[int, _Val] = {id(example): b.input}
    seen: Dict[str, _Val] = {}
    prev = b.input
    for name, m, inp, out in calls:
        if name in seen:
            continue
        x = _first(inp)
        if isinstance(x, torch.Tensor) and id(x) in produced:
            src = produced[id(x)]
        elif isinstance(x, torch.Tensor) and _strip_batch(x.shape) == prev.shape and prev.kind == "layer" \
                and not _is_activation_module(m):
            src = b.activation(f"{name}:input", prev, False, "functional operation")
            b.notes.append(f"the input of `{name}` was changed by a functional operation after `{prev.layer}`; "
                           f"taken as its activation")
        elif isinstance(x, torch.Tensor) and math.prod(_strip_batch(x.shape)) == math.prod(prev.shape):
            src = _Val(prev.kind, _strip_batch(x.shape), prev.layer, direct=prev.direct)
        else:
            raise TraceError(f"cannot trace `{name}` ({type(m).__name__}): torch.fx failed ({reason}) and its input "
                             f"does not come from the module called before it")
        cls = type(m).__name__
        if isinstance(m, nn.Conv2d):
            v = b.conv(name, m, src, _shape_of(out))
        elif isinstance(m, nn.Linear):
            v = b.linear(name, m, src)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            v = b.batchnorm(name, src)
        elif isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
            op = "avgpool" if isinstance(m, nn.AvgPool2d) else "maxpool"
            v = b.pool(name, op, src, m.kernel_size, m.stride, m.padding, bool(m.ceil_mode), _shape_of(out))
        elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            v = _adaptive(b, name, m, src, _shape_of(out))
        elif isinstance(m, (nn.Dropout, nn.Dropout2d, nn.Identity, nn.Flatten)):
            v = _Val(src.kind, _shape_of(out), src.layer, direct=src.direct)
        elif _is_activation_module(m) or _shape_of(out) == src.shape:
            v = b.activation(name, src, _is_activation_module(m), cls)
        else:
            raise TraceError(f"cannot trace module `{name}` ({cls}): torch.fx failed ({reason}) and the module is not "
                             f"one snnergy knows")
        seen[name] = v
        o = _first(out)
        if isinstance(o, torch.Tensor):
            produced[id(o)] = v
        prev = v
    b.notes.insert(0, f"traced with forward hooks: torch.fx failed ({reason})")
    return _Trace(b.layers, list(_strip_batch(example.shape)), b.neuron_of, b.notes, "hooks")


def _reset_state(model: nn.Module) -> None:
    """Clears the membrane state the spiking libraries keep inside their modules."""
    for m in model.modules():
        lib = neuron_library(m)
        if lib == "spikingjelly" and hasattr(m, "reset"):
            m.reset()
        elif lib == "snntorch":
            if hasattr(m, "reset_hidden"):
                m.reset_hidden()
            elif hasattr(m, "init_leaky"):
                m.init_leaky()
        elif lib == "sinabs" and hasattr(m, "reset_states"):
            m.reset_states()
        elif hasattr(m, "snnergy_reset"):
            m.snnergy_reset()


def _trace(model: nn.Module, example: torch.Tensor) -> _Trace:
    if not isinstance(example, torch.Tensor):
        raise TraceError("example_input must be a tensor (a batch of one or more samples)")
    try:
        probe = copy.deepcopy(model)
    except Exception:  # noqa: BLE001 - some modules refuse to be copied; trace the original then
        probe = model
    was_training = probe.training
    probe.eval()
    try:
        try:
            t = _fx_trace(probe, example)
        except TraceError:
            raise
        except Exception as e:  # noqa: BLE001 - any fx failure sends us to the hook tracer
            _reset_state(probe)
            t = _hook_trace(probe, example, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    finally:
        _reset_state(probe)
        if probe is model:
            model.train(was_training)
    if not t.layers:
        raise TraceError(f"no convolution or linear layer found in {type(model).__name__}")
    if not any(l.get("neuron") for l in t.layers):
        t.notes.append("no layer is followed by an activation or a spiking neuron")
    return t


def workload(model: nn.Module, example_input: torch.Tensor, name: Optional[str] = None) -> Workload:
    """The workload of a PyTorch module: its convolutions (grouped and depthwise too), linear
    layers, pooling, BatchNorm, flatten and residual adds, named as in ``model.named_modules()``
    (functional pooling and adds are named after their enclosing module: ``layer1.0.add``).

    ``example_input`` is one batch (e.g. ``torch.zeros(1, 1, 28, 28)``). torch.fx is tried
    first, forward hooks where it fails (``workload.notes`` says which, and every guess made).
    Raises :class:`snnergy.TraceError` naming the node it cannot translate."""
    _check_module(model)
    if not isinstance(example_input, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor (one batch), not {type(example_input).__name__}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, not {type(name).__name__}")
    t = _trace(model, example_input)
    shape = t.input_shape
    if len(shape) == 1:
        shape = [shape[0], 1, 1]
    if len(shape) != 3:
        raise TraceError(f"input of shape {tuple(t.input_shape)}: snnergy's networks take channels × height × width")
    w = Workload.custom(t.layers, shape, network=name or type(model).__name__.lower())
    w.notes = list(t.notes)
    w.neuron_modules = dict(t.neuron_of)  # type: ignore[attr-defined]
    w.network()  # every shape checked now, so a bad trace fails here, naming the layer
    return w


_workload_of = workload


# ---------------------------------------------------------------------------------------------
# Recording spike activity
# ---------------------------------------------------------------------------------------------


class _LayerRecord:
    def __init__(self, layer: str, module: str, params: Dict[str, Any], known: bool):
        self.layer, self.module, self.params, self.known = layer, module, params, known
        self.spikes = 0.0
        self.neurons = 0
        self.samples = 0
        self.step_spikes: List[float] = []
        self.histogram: Optional[torch.Tensor] = None
        self.counted = 0  # samples counted per neuron
        self.fired = 0  # of their neurons, those that fired at least once in the T steps
        self.counts: Optional[torch.Tensor] = None  # per neuron of the current batch
        self.batch_steps: List[torch.Tensor] = []  # spikes per step of the current batch
        self.calls = 0
        self.per_sample = 0  # neurons of the layer per image


class _InputRecord:
    """What reaches one layer with weights: its non-zero input values per step, the synapses
    they feed (each value counts with its fan-out, which padding and stride make uneven), and
    the values non-zero in some step (over the images counted per neuron)."""

    def __init__(self, layer: str, fan: torch.Tensor, dims: int):
        self.layer = layer
        self.fan = fan  # synapses each input value of one image feeds, int64
        self.per_sample = fan.numel()
        self.synapses = int(fan.sum())
        self.dims = dims  # dims of one step's input, batch included
        self.nonzero = self.taps = self.image_steps = 0
        self.active = self.active_taps = self.counted = 0
        self.batch: List[torch.Tensor] = []  # per call: each value's non-zero count
        self.seen: Optional[torch.Tensor] = None  # [images, values]: non-zero in some step

    def result(self) -> Optional[LayerInput]:
        if not self.image_steps:
            return None
        density = self.nonzero / (self.per_sample * self.image_steps)
        synapse_density = self.taps / (self.synapses * self.image_steps) if self.synapses else density
        if not self.counted:
            return LayerInput(density, synapse_density=synapse_density)
        return LayerInput(density, self.active / (self.per_sample * self.counted), synapse_density,
                          self.active_taps / (self.synapses * self.counted) if self.synapses else None)


def _fan_out(m: nn.Module, shape: Sequence[int]) -> Optional[torch.Tensor]:
    """How many synapses each input value of ``m`` feeds (valid taps only), for an input of
    ``shape`` (C, H, W); ``None`` for a module that is not a convolution or linear layer."""
    if isinstance(m, nn.Conv2d) and m.padding_mode == "zeros":
        with torch.enable_grad():
            x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
            ones = torch.ones(m.weight.shape, dtype=torch.float64)
            F.conv2d(x, ones, None, m.stride, m.padding, m.dilation, m.groups).sum().backward()
        return x.grad.flatten().round().to(torch.int64)  # type: ignore[union-attr]
    if isinstance(m, nn.Linear):
        return torch.full((math.prod(shape),), m.out_features, dtype=torch.int64)
    if isinstance(m, nn.Conv1d) and m.kernel_size == (1,) and m.stride == (1,) and m.padding in ((0,), "valid"):
        # A token-wise linear layer over [C, tokens] (Spikformer's ImageNet model): every value
        # feeds each output channel once.
        return torch.full((math.prod(shape),), m.out_channels // m.groups, dtype=torch.int64)
    return None


def _input_records(net, modules: Dict[str, nn.Module]) -> Dict[str, _InputRecord]:
    """A record per layer with weights whose module is a convolution or linear layer."""
    out = {}
    for l in net.layers:
        m = modules.get(l.name)
        if l.op not in ("conv2d", "linear") or m is None:
            continue
        if isinstance(m, nn.Conv2d) and [list(m.kernel_size), list(m.stride), list(m.padding)] != \
                [l.params.get("kernel"), l.params.get("stride"), l.params.get("padding")]:
            # The module reads another map than the layer (Meta-SpikeFormer's RepConv pads it in
            # the BatchNorm before): what reached the layer is not measured, the rates estimate it.
            continue
        fan = _fan_out(m, l.input)
        if fan is not None:
            out[l.name] = _InputRecord(l.name, fan, {nn.Conv2d: 4, nn.Conv1d: 3}.get(type(m), 2))
    return out


def _count_input(rec: _InputRecord, x: torch.Tensor, timesteps: int, per_neuron: Optional[int],
                 batch: int) -> None:
    """One call of a layer with weights: counts its input (one step, or T steps of a
    multi-step module's [T, batch, …] or of one that folds them, [T·batch, …], as the
    spiking transformers' reference implementations do)."""
    # bool() marks the non-zero values, several times faster than `!= 0` in torch 1.13; the
    # per-value sums run in int32 (a value is counted at most steps × batch times).
    nz = x.detach().bool()
    if nz.numel() % rec.per_sample:
        raise TraceError(f"`{rec.layer}` reads {tuple(x.shape)}, not a multiple of its {rec.per_sample} input values")
    rows = nz.reshape(-1, rec.per_sample)
    folded = timesteps > 1 and rows.shape[0] == timesteps * batch
    steps = timesteps if folded or (nz.dim() == rec.dims + 1 and nz.shape[0] == timesteps) else 1
    rec.image_steps += rows.shape[0]
    rec.batch.append(rows.sum(0, dtype=torch.int32))
    if per_neuron != 0:
        per_step = rows.reshape(steps, -1, rec.per_sample)
        for t in range(steps):
            first = per_step[t] if per_neuron is None else per_step[t, :per_neuron]
            rec.seen = first.clone() if rec.seen is None else rec.seen.logical_or_(first)


def _end_input_batch(rec: _InputRecord) -> None:
    if rec.batch:
        per_value = torch.stack(rec.batch).sum(0, dtype=torch.int64)
        rec.nonzero += int(per_value.sum())
        rec.taps += int((per_value * rec.fan).sum())
    if rec.seen is not None:
        per_value = rec.seen.sum(0, dtype=torch.int64)
        rec.active += int(per_value.sum())
        rec.active_taps += int((per_value * rec.fan).sum())
        rec.counted += rec.seen.shape[0]
    rec.batch, rec.seen = [], None


def _batches(loader: Iterable) -> Iterable[torch.Tensor]:
    if not hasattr(loader, "__iter__"):
        raise TypeError(f"loader must be an iterable of tensors or (tensor, label) pairs, not {type(loader).__name__}")
    for i, item in enumerate(loader):
        x = item[0] if isinstance(item, (tuple, list)) else item
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"the loader yields {type(x).__name__}, not tensors (or (tensor, label) pairs)")
        # A NaN image makes no neuron fire: every rate would read 0 and look like sparsity.
        if x.is_floating_point() and not bool(torch.isfinite(x).all()):
            bad = x[~torch.isfinite(x)].flatten()[0].item()
            raise ValueError(f"batch {i} of the loader holds {bad}: images must be finite numbers")
        yield x


def _check_module(model: Any, name: str = "model") -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, not {type(model).__name__}")


def _check_timesteps(timesteps: Any) -> int:
    if isinstance(timesteps, bool) or not isinstance(timesteps, int):
        raise TypeError(f"timesteps must be a whole number of time steps, not {type(timesteps).__name__} {timesteps!r}")
    if timesteps < 1:
        raise ValueError(f"timesteps = {timesteps}: an SNN needs at least one time step")
    return timesteps


def reference_neurons(workload: Workload) -> Dict[str, str]:
    """``{neuron module: layer}`` of a ``spikformer``, ``spike-driven-transformer`` or
    ``spike-driven-transformer-v2`` workload in its reference PyTorch implementation
    (``ZK-Zhou/spikformer``, ``BICLab/Spike-Driven-Transformer``, ``-V2``): ``block.0.attn.q_lif``
    fires on ``block.0.attn.q_conv``, the Spike-driven Transformer's ``block.1.attn.shortcut_lif``
    on ``block.0.add2``. :func:`record`
    uses it when given such a workload."""
    return _transformers.reference_neurons(workload)


def _check_reference_modules(model: nn.Module, neuron_of: Dict[str, str], kind: str) -> None:
    have = {name for name, _ in model.named_modules()}
    missing = [m for m in neuron_of if m not in have]
    if missing:
        shown = ", ".join(f"`{m}` (on layer `{neuron_of[m]}`)" for m in missing[:4])
        more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        raise TraceError(f"{type(model).__name__} has no module {shown}{more}: recording a {kind} workload needs the "
                         f"module names of its reference implementation")


def record(model: nn.Module, loader: Iterable, timesteps: int, *, loop: str = "outside",
           encode: Optional[Callable[[torch.Tensor, int], torch.Tensor]] = None,
           reset: Optional[Callable[[nn.Module], None]] = None, max_batches: Optional[int] = None,
           workload: Optional[Workload] = None, per_neuron: Optional[int] = 16, inputs: bool = True) -> Profile:
    """Runs ``model`` on the batches of ``loader`` and records, per neuron layer, the spike
    rate (spikes / (neurons × samples × T)), the rate of every step, the fraction of neurons
    that fired at least once, and the histogram of spike counts per neuron over the T steps
    (over the images counted per neuron, see ``per_neuron``); and per layer with weights
    (the readout too) what reached it after pooling, residual adds and reshaping
    (``Profile.inputs``): the non-zero share of its input values per step, of the synapses
    they feed, and of the values non-zero in some step, which is its twin's non-zero input
    (``inputs=False``: not measured; the analysis then estimates them from the rates).

    ``loop="outside"`` (default): snnergy calls ``model(x)`` ``timesteps`` times per batch,
    with ``encode(x, t)`` as the input if given (default: the same ``x``, direct coding), after
    resetting the neuron state. ``loop="inside"``: the model's own forward runs the T steps
    (snnTorch's tutorial style) and is called once per batch. A neuron module whose output has
    a leading time dimension of size T (multi-step modules) is counted per step along it; such
    a model is traced as its single-step twin: pass ``workload=snnergy.torch.workload(twin, x)``
    with the same module names. A ``spikformer``, ``spike-driven-transformer`` or
    ``spike-driven-transformer-v2`` ``workload`` needs no twin: the model is the reference implementation's (or one with its module
    names), run with ``loop="inside"`` since its forward repeats the image over its own T,
    and each neuron module's spikes go to the layer :func:`reference_neurons` names.

    The QNN twin's non-zero fraction of a layer is the fraction of neurons that fired at least
    once in the T steps (a neuron firing k times is the twin's activation k/T), and its mean
    level L̄ the mean count of those neurons, so that r·T = ρ·L̄ holds as twin-consistent
    analysis assumes; the profile's ``source`` and the report's notes say so. That needs each neuron's count, one
    accumulation per step, which costs about as much as a neuron update: it is taken over the
    first ``per_neuron`` images of every batch (default 16; ``None``: every image, exact;
    ``0``: none, the profile then has no non-zero fractions and the analysis needs one,
    ``Activity.profile(p, nonzero=…)``). Spike rates always count every image. Raises :class:`snnergy.TraceError` for a
    module it cannot trace and :class:`snnergy.ActivityError` naming a layer the recording
    does not match; nothing is written."""
    _check_module(model)
    _check_timesteps(timesteps)
    if loop not in ("outside", "inside"):
        raise ValueError(f"loop must be 'outside' or 'inside', not {loop!r}")
    it = iter(_batches(loader))
    try:
        first = next(it)
    except StopIteration:
        raise ValueError("the loader yields no batch") from None
    if workload is not None and getattr(workload, "neuron_modules", None):
        # A multi-step model (time folded into its tensors) is traced as its single-step twin.
        w, neuron_of = workload, dict(workload.neuron_modules)  # type: ignore[attr-defined]
    elif workload is not None and workload.type in _transformers.KINDS:
        # Spikformer and the Spike-driven Transformer as their reference code builds them.
        w, neuron_of = workload, _transformers.reference_neurons(workload)
        _check_reference_modules(model, neuron_of, workload.type)
    else:
        trace = _trace(model, first[:1])
        w = workload or Workload.custom(trace.layers, trace.input_shape if len(trace.input_shape) == 3
                                        else [trace.input_shape[0], 1, 1], network=type(model).__name__.lower())
        neuron_of = trace.neuron_of
    net = w.network()
    modules = dict(model.named_modules())
    records: Dict[str, _LayerRecord] = {}
    for mod_name, layer in neuron_of.items():
        m = modules.get(mod_name)
        if m is None:
            continue  # a functional activation: no module to hook
        records[mod_name] = _LayerRecord(layer, mod_name, neuron_params(m), neuron_library(m) is not None)
    missing = [l for l in net.neuron_layers if l not in {r.layer for r in records.values()}]
    if missing:
        raise TraceError(f"neuron layer(s) {', '.join(missing)} have no neuron module to record (a functional "
                         f"activation such as F.relu has no hook); use a module (nn.ReLU or a spiking neuron)")
    neurons = {l.name: l.neurons for l in net.layers}
    # What reaches every convolution and linear layer, hooked by module name.
    in_recs = _input_records(net, modules) if inputs else {}
    # Looked up once: the hook runs every step of every batch.
    for rec in records.values():
        rec.per_sample = neurons[rec.layer]
    batch = [0]  # images in the batch being run, for the hooks

    def hook(mod, inp, out, rec: _LayerRecord):
        o = _first(out).detach()
        per_sample = rec.per_sample
        if o.numel() % per_sample:
            raise TraceError(f"`{rec.module}` emits {tuple(o.shape)}, not a multiple of layer `{rec.layer}`'s "
                             f"{per_sample} neurons")
        if not rec.known:
            ok = ((o == 0) | (o == 1)).all().item()
            if not ok:
                raise TraceError(f"`{rec.module}` ({type(mod).__name__}) emits values other than 0 and 1: it is not a "
                                 f"spiking neuron, so record() cannot count its spikes")
        rows = o.reshape(-1, per_sample)
        # A multi-step module returns [T, batch, …] (the attention's neurons [T, batch, heads,
        # …] or [T, batch, C, tokens]): one call covers every step.
        multi = o.shape[0] == timesteps and rows.shape[0] == timesteps * batch[0]
        if multi:
            per_step = o.reshape(timesteps, -1, per_sample)
            counts = per_step.sum(0)
            rec.batch_steps.extend(per_step.sum(dim=(1, 2)).unbind(0))
            rec.calls += timesteps
        else:
            counts = rows
            rec.calls += 1
        if per_neuron != 0:
            if per_neuron is not None:
                # Batch rows are contiguous: the first images are a view, not a copy.
                counts = counts[:per_neuron]
            # One pass over the spikes per step: accumulate in place into a buffer of our own
            # (the module's output must not be touched).
            if rec.counts is None:
                rec.counts = counts.to(torch.float32, copy=True)
            else:
                rec.counts.add_(counts)
        if not multi:
            # After the per-neuron counts, so that the images they just read are still in cache
            # when the sum starts with them. Kept as a tensor until the batch ends: no
            # synchronization inside the step loop.
            rec.batch_steps.append(o.sum())
        return None

    handles = [modules[name].register_forward_hook(lambda mod, i, o, rec=rec: hook(mod, i, o, rec))
               for name, rec in records.items()]
    handles += [modules[name].register_forward_pre_hook(
        lambda mod, i, rec=rec: _count_input(rec, _first(i), timesteps, per_neuron, batch[0]))
        for name, rec in in_recs.items()]
    samples = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            batch_index = 0
            for x in _chain(first, it):
                if max_batches is not None and batch_index >= max_batches:
                    break
                (reset or _reset_state)(model)
                batch[0] = x.shape[0]
                for rec in records.values():
                    rec.calls, rec.counts, rec.batch_steps = 0, None, []
                if loop == "outside":
                    for t in range(timesteps):
                        model(encode(x, t) if encode else x)
                else:
                    model(encode(x, 0) if encode else x)
                for rec in records.values():
                    if rec.calls == 0:
                        raise TraceError(f"`{rec.module}` was not called during the forward pass")
                    if rec.calls != timesteps:
                        raise TraceError(f"`{rec.module}` ran {rec.calls} steps for T = {timesteps} (loop={loop!r}: "
                                         f"{'the model should not loop over time itself' if loop == 'outside' else 'the model must run T steps per call'})")
                    steps = torch.stack(rec.batch_steps).tolist()
                    if len(rec.step_spikes) < len(steps):
                        rec.step_spikes.extend([0.0] * (len(steps) - len(rec.step_spikes)))
                    for t, v in enumerate(steps):
                        rec.step_spikes[t] += v
                    rec.spikes += sum(steps)
                    rec.samples += x.shape[0]
                    if rec.counts is not None:
                        # int32 halves the conversion's traffic against int64 (counts stay below
                        # 2³¹); the neurons that fired are those outside bin 0, no second pass.
                        h = torch.bincount(rec.counts.flatten().to(torch.int32), minlength=timesteps + 1)
                        rec.fired += rec.counts.numel() - int(h[0])
                        rec.histogram = h if rec.histogram is None else _add_hist(rec.histogram, h)
                        rec.counted += rec.counts.shape[0]
                for irec in in_recs.values():
                    _end_input_batch(irec)
                samples += x.shape[0]
                batch_index += 1
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        (reset or _reset_state)(model)
    layers = []
    by_layer = {r.layer: r for r in records.values()}
    for lname in net.neuron_layers:
        rec = by_layer[lname]
        n = neurons[lname]
        total = n * rec.samples
        hist = rec.histogram.tolist() if rec.histogram is not None else []
        params = dict(rec.params, module=rec.module)
        layers.append(ProfileLayer(
            name=lname, spike_rate=rec.spikes / (total * timesteps),
            nonzero=rec.fired / (n * rec.counted) if rec.counted else None,
            neurons=n, spikes=int(round(rec.spikes)), step_rates=[s / total for s in rec.step_spikes],
            histogram=hist, neuron=params))
    measured = {name: got for name, got in ((n, r.result()) for n, r in in_recs.items()) if got is not None}
    p = Profile(layers, timesteps=timesteps, samples=samples, inputs=measured,
                source=("PyTorch hooks on spiking neurons; twin non-zero fractions from the spike-count histogram"
                        + (f" of the first {per_neuron} images per batch" if per_neuron else ""))
                if per_neuron != 0 else "PyTorch hooks on spiking neurons (spike rates only)")
    if per_neuron != 0 and all(l.spike_rate <= 1.0 for l in layers):
        p.check(w)
    # Otherwise a multi-spike neuron (Sinabs) fired more than once per step: the profile is
    # returned as measured, and an analysis of it names the layer whose rate exceeds 1.
    return p


def analyze(model: nn.Module, loader: Iterable, timesteps: Union[int, Sequence[int]] = 6,
            architectures: Sequence[Any] = ("classical",), *, energy: Optional[str] = "horowitz-45nm",
            workload: Optional[Workload] = None, name: Optional[str] = None, loop: str = "outside",
            encode: Optional[Callable[[torch.Tensor, int], torch.Tensor]] = None, max_batches: Optional[int] = None,
            per_neuron: Optional[int] = 16, write: bool = False, out: Union[str, os.PathLike, None] = None,
            **analysis: Any):
    """From a spiking model and a data loader to a report, in one call: traces ``model`` into a
    workload (or takes ``workload``), records its spike activity over ``loader`` at each T of
    ``timesteps`` (:func:`record`, with ``loop``, ``encode``, ``max_batches`` and
    ``per_neuron``), and runs the analysis on ``architectures`` priced by ``energy``.
    ``analysis`` takes ``[analysis]`` keys (``baseline``, ``input_coding``, …). With ``write``
    the report files go to ``out``. Returns a :class:`snnergy.Report` whose notes say how the
    activity was measured.

    >>> report = snnergy.torch.analyze(net, loader, timesteps=6, architectures=["classical", "neuromorphic"])
    >>> print(report.verdict)
    """
    import tempfile

    from ._pipeline import Activity, Pipeline, check_timesteps

    _check_module(model)
    ts = check_timesteps(timesteps)
    if isinstance(ts, str):
        raise TypeError(f"timesteps must be a whole number or a list of them for a recording, not {timesteps!r}")
    ts = [ts] if isinstance(ts, int) else ts
    if iter(loader) is loader:
        raise TypeError("loader must be re-iterable (a DataLoader, a list of batches): it is read once per T "
                        "and once to trace the model, and an iterator is used up after the first pass")
    if workload is not None and not isinstance(workload, Workload):
        raise TypeError(f"workload must be a snnergy.Workload, not {type(workload).__name__}")
    if workload is None:
        first = next(iter(_batches(loader)), None)
        if first is None:
            raise ValueError("the loader yields no batch")
        workload = _workload_of(model, first[:1], name=name)
    folder = tempfile.mkdtemp(prefix="snnergy-analyze-")
    try:
        sources = []
        for t in ts:
            p = record(model, loader, t, loop=loop, encode=encode, max_batches=max_batches, workload=workload,
                       per_neuron=per_neuron)
            p.save(os.path.join(folder, f"recorded-T{t}.json"))
            sources.append(f"T = {t}: {p.source} over {p.samples} images")
        pipeline = Pipeline(workload, Activity.profile(os.path.join(folder, "recorded-T{T}.json")),
                            list(architectures), energy=energy, timesteps=ts if len(ts) > 1 else ts[0], **analysis)
        report = pipeline.run(write=write, out=out)
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    report.notes = [f"activity recorded from {type(model).__name__} with PyTorch hooks ({s})" for s in sources]
    return report


def _add_hist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    n = max(a.numel(), b.numel())
    return F.pad(a, (0, n - a.numel())) + F.pad(b, (0, n - b.numel()))


def _chain(first, rest):
    yield first
    yield from rest


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------

def state_for_engine(model_or_state: Union[nn.Module, Dict[str, torch.Tensor]],
                     workload: Optional[Workload] = None) -> Dict[str, torch.Tensor]:
    """The tensors snnergy's engine reads: every floating-point tensor of the state dict
    (``num_batches_tracked`` dropped), as contiguous float32 on the CPU; with ``workload``,
    only those its layers use (``L.weight``, ``L.bias``, ``B.weight``, ``B.bias``,
    ``B.running_mean``, ``B.running_var``)."""
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    keep = None
    if workload is not None:
        keep = set()
        for l in workload.params.get("layers", []):
            if l["op"] in ("conv", "linear"):
                keep.add(f"{l['name']}.weight")
                if l.get("bias"):
                    keep.add(f"{l['name']}.bias")
            if l.get("batchnorm"):
                keep |= {f"{l['batchnorm']}.{k}" for k in ("weight", "bias", "running_mean", "running_var")}
    out = {}
    for k, v in state.items():
        if k.endswith("num_batches_tracked") or not torch.is_floating_point(v):
            continue
        if keep is not None and k not in keep:
            continue
        out[k] = v.detach().to("cpu", torch.float32).contiguous()
    return out


def save_weights(model_or_state: Union[nn.Module, Dict[str, torch.Tensor]], path: Union[str, os.PathLike],
                 workload: Optional[Workload] = None) -> str:
    """Writes a model's ``state_dict`` as safetensors in the layout snnergy's engine reads
    (tensors named after the modules, float32). Uses the ``safetensors`` package when it is
    installed and a small built-in writer otherwise; either file loads in the engine as is.
    The file appears complete or not at all."""
    if not isinstance(model_or_state, (nn.Module, dict)):
        raise TypeError(f"model_or_state must be a torch.nn.Module or a state dict, not {type(model_or_state).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path, not {type(path).__name__}")
    tensors = state_for_engine(model_or_state, workload)
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    # Only the file asked for is created: a missing folder is the caller's mistake.
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{path}: the folder {folder} does not exist")
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp")
    try:
        try:
            from safetensors.torch import save_file
        except ImportError:
            _write_safetensors(tmp, tensors)
        else:
            save_file(tensors, tmp, metadata={"format": "pt"})
        # safetensors creates its files private (0600); the weights get the mode any new file
        # gets.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _write_safetensors(path: str, tensors: Dict[str, torch.Tensor]) -> None:
    import json
    import struct

    header: Dict[str, Any] = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        b = tensors[name].numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

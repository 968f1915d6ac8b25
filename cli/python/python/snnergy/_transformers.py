"""Which module of the spiking transformers' reference PyTorch implementations fires on each
neuron layer of snnergy's ``spikformer``, ``spike-driven-transformer`` and
``spike-driven-transformer-v2`` workloads.

snnergy names a layer after the module that computes it (``block.0.attn.q_conv``) and marks it
a neuron layer when a spiking neuron reads its output. The reference implementations
(``ZK-Zhou/spikformer``, ``BICLab/Spike-Driven-Transformer``) name the neuron after its role
instead, and in the Spike-driven Transformer the neuron that reads a layer sits in another
module: the LIF on a residual sum is the next block's ``shortcut_lif`` or the MLP's
``fc1_lif``, the LIF on ``fc1_conv`` is ``fc2_lif``, the LIF on the fourth patch convolution's
pooled current is ``proj_lif3`` and the one on the token mean is ``head_lif``. In Meta-SpikeFormer
(``BICLab/Spike-Driven-Transformer-V2``, ``classification/models.py``) every neuron belongs to the
module that reads it: the LIF on a downsampling convolution or a residual sum is the next
``SepConv``'s ``lif1``, the next downsampling's ``encode_lif`` or the next transformer block's
``attn.head_lif``; the one on the token mean is ``lif``. Neurons these models define but never
call (the Spike-driven Transformer's ``attn_lif`` and ``rpe_lif``) are not in the map.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Optional

from ._workload import Workload, as_workload

SPIKFORMER = "spikformer"
SPIKE_DRIVEN = "spike-driven-transformer"
META = "spike-driven-transformer-v2"
KINDS = (SPIKFORMER, SPIKE_DRIVEN, META)

# Meta-SpikeFormer's stages in order: what reads each stage's output stream first.
_META_STAGES = ["downsample1_1", "ConvBlock1_1.0", "downsample1_2", "ConvBlock1_2.0", "downsample2", "ConvBlock2_1.0",
                "ConvBlock2_2.0", "downsample3"] + [f"block3.{j}" for j in range(6)] + ["downsample4", "block4.0",
                                                                                        "block4.1"]

# A weighted layer `…_conv`/`…_linear` (with an index: `proj_conv1`) fires through `…_lif`.
_WEIGHTED = re.compile(r"^(?P<head>.*)_(?:conv|linear)(?P<index>\d*)$")
_BLOCK = re.compile(r"^block\.(?P<i>\d+)\.(?P<rest>.+)$")


def _spikformer(layer: str) -> Optional[str]:
    if m := _WEIGHTED.match(layer):
        return f"{m['head']}_lif{m['index']}"
    if layer.endswith(".attn.attn"):  # Q·(KᵀV) or scores·V, through attn_lif
        return f"{layer}_lif"
    return None


def _spike_driven(layer: str) -> Optional[str]:
    fixed = {
        "patch_embed.maxpool3": "patch_embed.proj_lif3",
        "patch_embed.add": "block.0.attn.shortcut_lif",
        "mean": "head_lif",
    }
    if layer in fixed:
        return fixed[layer]
    b = _BLOCK.match(layer)
    if b is None:
        m = _WEIGHTED.match(layer)
        return f"{m['head']}_lif{m['index']}" if m and layer.startswith("patch_embed.proj_conv") else None
    i, rest = int(b["i"]), b["rest"]
    by_role = {
        "attn.q_conv": f"block.{i}.attn.q_lif",
        "attn.k_conv": f"block.{i}.attn.k_lif",
        "attn.v_conv": f"block.{i}.attn.v_lif",
        "attn.kv": f"block.{i}.attn.talking_heads_lif",
        "add1": f"block.{i}.mlp.fc1_lif",
        "mlp.fc1_conv": f"block.{i}.mlp.fc2_lif",
        "add2": f"block.{i + 1}.attn.shortcut_lif",
    }
    return by_role.get(rest)


def _stream_reader(stage: str) -> str:
    """The neuron with which Meta-SpikeFormer's ``stage`` reads the stream it is given."""
    if stage.startswith("downsample"):
        return f"{stage}.encode_lif"
    if stage.startswith("ConvBlock"):
        return f"{stage}.Conv.lif1"
    return f"{stage}.attn.head_lif"


def _meta(layer: str) -> Optional[str]:
    if layer == "mean":
        return "lif"
    parts = layer.split(".")
    # `downsample3.encode_conv`; `ConvBlock1_1.0.conv1`, `block3.2.attn.attn`: stage, then role.
    cut = 1 if parts[0].startswith("downsample") else 2
    stage, rest = ".".join(parts[:cut]), ".".join(parts[cut:])
    if stage not in _META_STAGES:
        return None
    after = _META_STAGES[_META_STAGES.index(stage) + 1] if stage != _META_STAGES[-1] else None
    if rest in ("encode_conv", "add2"):  # the stream handed on
        return _stream_reader(after) if after else None
    by_role = {
        "Conv.pwconv1": f"{stage}.Conv.lif2",
        "add1": f"{stage}.lif1" if stage.startswith("ConvBlock") else f"{stage}.mlp.fc1_lif",
        "conv1": f"{stage}.lif2",
        "attn.q_conv.0.body.2.1": f"{stage}.attn.q_lif",
        "attn.k_conv.0.body.2.1": f"{stage}.attn.k_lif",
        "attn.v_conv.0.body.2.1": f"{stage}.attn.v_lif",
        "attn.attn": f"{stage}.attn.attn_lif",
        "mlp.fc1_conv": f"{stage}.mlp.fc2_lif",
    }
    return by_role.get(rest)


def reference_neurons(workload: Workload) -> Dict[str, str]:
    """``{neuron module: layer}`` for a ``spikformer`` or ``spike-driven-transformer``
    workload: the module of the reference implementation whose spikes are each neuron layer's
    output. Raises ``ValueError`` for another workload type, naming it."""
    w = as_workload(workload)
    rule: Callable[[str], Optional[str]]
    if w.type == SPIKFORMER:
        rule = _spikformer
    elif w.type == SPIKE_DRIVEN:
        rule = _spike_driven
    elif w.type == META:
        rule = _meta
    else:
        raise ValueError(f"workload type {w.type!r} has no reference implementation to map: "
                         f"only {', '.join(KINDS)} do")
    out: Dict[str, str] = {}
    for layer in w.network().neuron_layers:
        module = rule(layer)
        if module is None:
            raise ValueError(f"neuron layer `{layer}` of the {w.type} workload has no neuron module in the reference "
                             f"implementation")
        out[module] = layer
    return out

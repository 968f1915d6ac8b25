"""Which module of the spiking transformers' reference PyTorch implementations fires on each
neuron layer of snnergy's ``spikformer`` and ``spike-driven-transformer`` workloads.

snnergy names a layer after the module that computes it (``block.0.attn.q_conv``) and marks it
a neuron layer when a spiking neuron reads its output. The reference implementations
(``ZK-Zhou/spikformer``, ``BICLab/Spike-Driven-Transformer``) name the neuron after its role
instead, and in the Spike-driven Transformer the neuron that reads a layer sits in another
module: the LIF on a residual sum is the next block's ``shortcut_lif`` or the MLP's
``fc1_lif``, the LIF on ``fc1_conv`` is ``fc2_lif``, the LIF on the fourth patch convolution's
pooled current is ``proj_lif3`` and the one on the token mean is ``head_lif``. Neurons these
models define but never call (the Spike-driven Transformer's ``attn_lif`` and ``rpe_lif``) are
not in the map.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Optional

from ._workload import Workload, as_workload

SPIKFORMER = "spikformer"
SPIKE_DRIVEN = "spike-driven-transformer"
KINDS = (SPIKFORMER, SPIKE_DRIVEN)

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
    else:
        raise ValueError(f"workload type {w.type!r} has no reference implementation to map: "
                         f"only {' and '.join(KINDS)} do")
    out: Dict[str, str] = {}
    for layer in w.network().neuron_layers:
        module = rule(layer)
        if module is None:
            raise ValueError(f"neuron layer `{layer}` of the {w.type} workload has no neuron module in the reference "
                             f"implementation")
        out[module] = layer
    return out

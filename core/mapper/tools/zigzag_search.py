"""ZigZag's own mapping search (its LOMA temporal search over its spatial mapping generator) on
one layer, printing the mapping it chooses: the spatial unrolling per array dimension and, per
operand, the temporal loops of each of its memories innermost first (ZigZag's uneven temporal
mapping, which snnergy pins with `spans_above`). What snnergy cannot pin of it is said in
VALIDATION.md.

    python3 zigzag_search.py WORKLOAD.yaml [ACCELERATOR.yaml] [--opt energy|latency|EDP] \
        [--snnergy-levels dram,sram_1M,sram_64KB,sram_8KB,rf_16B,rf_64B_W,rf_64B_A]

Without an accelerator, ZigZag's own `eyeriss_like` example. With `--snnergy-levels` (a chip
whose levels bear ZigZag's memory names, outermost first: those above are
`tests/data/stacked-rf.toml`'s) it also prints the choice as a snnergy mapping, which is how
`tests/data/zigzag_choices.json` was written. Runs its stages directly (not
`zigzag.api`, whose imports need onnx and matplotlib). Exit status 3 when ZigZag is not
installed for this Python.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile

logging.disable(logging.CRITICAL)

try:
    import zigzag
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.results.reduce_stages import MinimalEDPStage, MinimalEnergyStage, MinimalLatencyStage
    from zigzag.stages.workload_iterator import WorkloadStage
except ImportError:
    if __name__ == "__main__":
        sys.exit(3)
    raise

LINKS = "- name: default\n  memory_operand_links:\n    O: O\n    W: I2\n    I: I1\n"


def best(x):
    """The first cost-model evaluation in ZigZag's nested results."""
    if hasattr(x, "temporal_mapping"):
        return x
    if isinstance(x, (list, tuple)):
        for y in x:
            found = best(y)
            if found is not None:
                return found
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload")
    ap.add_argument("accelerator", nargs="?")
    ap.add_argument("--opt", choices=["energy", "latency", "EDP"], default="energy")
    ap.add_argument("--snnergy-levels", help="also print the choice as a snnergy mapping of a chip with these levels (comma-separated, outermost first)")
    args = ap.parse_args()
    accelerator = args.accelerator or os.path.join(os.path.dirname(zigzag.__file__), "inputs/hardware/eyeriss_like.yaml")
    reduce = {"energy": MinimalEnergyStage, "latency": MinimalLatencyStage, "EDP": MinimalEDPStage}[args.opt]
    with tempfile.TemporaryDirectory() as tmp:
        mapping = os.path.join(tmp, "mapping.yaml")
        with open(mapping, "w") as f:
            f.write(LINKS)
        stages = [WorkloadParserStage, AcceleratorParserStage, WorkloadStage, reduce,
                  SpatialMappingGeneratorStage, reduce, TemporalMappingGeneratorStage, CostModelStage]
        cme = best(MainStage(
            stages, accelerator=accelerator, workload=args.workload, mapping=mapping, dump_folder=tmp,
            loma_lpf_limit=6, loma_show_progress_bar=False, nb_mappings_generated=3,
            enable_mix_spatial_mapping_generation=False, access_same_data_considered_as_no_access=False,
            temporal_mapping_type=TemporalMappingType.UNEVEN,
        ).run())
    spatial = {str(oa): {str(d): f for d, f in dims.items()} for oa, dims in cme.layer.spatial_mapping.items()}
    temporal = {str(op): [[[str(d), f] for d, f in lv] for lv in levels]
                for op, levels in cme.temporal_mapping.mapping_dic_stationary.items()}
    links = cme.memory_operand_links
    memories = {str(op): [m.name for m in cme.accelerator.mem_hierarchy_dict[links.layer_to_mem_op(op)]]
                for op in cme.temporal_mapping.mapping_dic_stationary}
    out = {"energy_pj": float(cme.energy_total), "spatial": spatial, "temporal_mapping": temporal, "memories": memories}
    if args.snnergy_levels:
        out["snnergy_mapping"] = snnergy_mapping(out, args.snnergy_levels.split(","))
    print(json.dumps(out))
    return 0


DIMS = {"B": "N", "G": "G", "K": "K", "C": "C", "OY": "P", "OX": "Q", "FY": "R", "FX": "S"}
KEPT = {"W": ["weights"], "I": ["inputs"], "O": ["accum"]}
SPACE = {"W": "weights", "I": "inputs", "O": "accum"}


def snnergy_mapping(found: dict, levels: list[str]) -> dict:
    """ZigZag's choice as a snnergy mapping of a chip whose levels (outermost first) bear its
    memories' names, the array below the level named last before the per-PE ones: each loop at
    the outermost level any operand's memory of it has below it, the operands whose memory lies
    further in taking it in with `spans_above`; D1 on X, D2 on Y."""
    level_of = {name: i for i, name in enumerate(levels)}
    first = {op: [(level_of[m], lv) for m, lv in zip(found["memories"][op], found["temporal_mapping"][op])]
             for op in found["temporal_mapping"]}
    # Each operand's memory of every loop, the loops innermost first.
    order = [tuple(lp) for lv in found["temporal_mapping"]["W"] for lp in lv]
    home = {op: [lvl for lvl, lv in first[op] for _ in lv] for op in first}
    at = [min(home[op][g] for op in home) for g in range(len(order))]
    out = [{"level": name, "temporal": [], "spatial": [], "keep": []} for name in levels]
    for g in reversed(range(len(order))):
        out[at[g]]["temporal"].append({"dim": DIMS[order[g][0]], "factor": int(order[g][1])})
    for op, chain in first.items():
        finished = False
        for lvl, _ in chain:
            inside = sum(1 for g in range(len(order)) if home[op][g] >= lvl)
            own = sum(1 for g in range(len(order)) if at[g] >= lvl)
            # Partial sums finish in the innermost output memory holding every loop; the
            # finished outputs are kept there and above it, the partial sums no further up.
            if op == "O" and finished:
                kept = ["outputs"]
            elif op == "O" and inside == len(order):
                kept, finished = ["accum", "outputs"], True
            else:
                kept = KEPT[op]
            for ds in kept:
                if ds not in out[lvl]["keep"]:
                    out[lvl]["keep"].append(ds)
            if inside > own and kept != ["outputs"]:
                out[lvl].setdefault("spans_above", {})[SPACE[op]] = inside - own
    array = max(i for i, name in enumerate(levels) if "sram" in name or "dram" in name)
    for axis, oa in (("X", "D1"), ("Y", "D2")):
        for d, f in found["spatial"].get(oa, {}).items():
            out[array]["spatial"].append({"dim": DIMS[d], "factor": int(f), "axis": axis})
    return {"levels": out}


if __name__ == "__main__":
    sys.exit(main())

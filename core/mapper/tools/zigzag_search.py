"""ZigZag's own mapping search (its LOMA temporal search over its spatial mapping generator) on
one layer, printing the mapping it chooses: the spatial unrolling per array dimension and, per
operand, the temporal loops of each of its memories innermost first (ZigZag's uneven temporal
mapping, which snnergy pins with `spans_above`). What snnergy cannot pin of it is said in
VALIDATION.md.

    python3 zigzag_search.py WORKLOAD.yaml [ACCELERATOR.yaml] [--opt energy|latency|EDP]

Without an accelerator, ZigZag's own `eyeriss_like` example. Runs its stages directly (not
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
    print(json.dumps({"energy_pj": float(cme.energy_total), "spatial": spatial, "temporal_mapping": temporal}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

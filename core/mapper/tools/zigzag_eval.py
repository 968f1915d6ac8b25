"""ZigZag's cost model on one of snnergy's ZigZag exports: no search, the exported chip, padded
layer and mapping evaluated as they are. Shared by `compare_zigzag.py` (the validation) and
`snnergy map --export-zigzag`, which runs this file's `main` with the exported folder and the
stems of the files it wrote, and prints ZigZag's result beside its own counts.

    python3 zigzag_eval.py DIR STEM...   ->   one JSON object per stem on stdout, one line each

Exit status 3 when ZigZag is not installed for this Python (nothing else is printed then).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile

logging.disable(logging.CRITICAL)

try:
    from zigzag.cost_model.cost_model import CostModelEvaluation
    from zigzag.datatypes import LayerDim, LayerOperand
    from zigzag.mapping.data_movement import DataDirection, DataMoveAttr
    from zigzag.mapping.temporal_mapping import TemporalMapping, TemporalMappingType
    from zigzag.parser.workload_factory import WorkloadFactory
    from zigzag.parser.workload_validator import WorkloadValidator
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.mapping.spatial_mapping_conversion import SpatialMappingConversionStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.utils import open_yaml
except ImportError:  # said by the exit status, so the caller can say how to install it
    if __name__ == "__main__":
        sys.exit(3)
    raise

DIRS = [
    ("rd_out_to_low", DataDirection.RD_OUT_TO_LOW),
    ("wr_in_by_high", DataDirection.WR_IN_BY_HIGH),
    ("wr_in_by_low", DataDirection.WR_IN_BY_LOW),
    ("rd_out_to_high", DataDirection.RD_OUT_TO_HIGH),
]


def bit_granular(accelerator_yaml: str) -> str:
    return re.sub(r"bandwidth_min: \d+", "bandwidth_min: 1", accelerator_yaml)


def evaluate(export: dict, accelerator_key: str, same_data_no_access: bool, tmp: str):
    """One ZigZag cost-model evaluation of the exported chip, layer and temporal mapping."""
    paths = {}
    texts = dict(export)
    texts["accelerator_bits"] = bit_granular(export["accelerator_words"])
    for key in (accelerator_key, "workload", "mapping"):
        paths[key] = os.path.join(tmp, f"{key}.yaml")
        with open(paths[key], "w") as f:
            f.write(texts[key])
    accelerator = AcceleratorParserStage.parse_accelerator(paths[accelerator_key])
    validator = WorkloadValidator(open_yaml(paths["workload"]))
    workload_data = validator.normalized_data
    if not validator.validate():
        raise ValueError("ZigZag rejects the workload")
    mapping_data = WorkloadParserStage.parse_mapping_data(paths["mapping"])
    # The layer evaluated is the last: a product's second operand is produced by the one before.
    layer = list(WorkloadFactory(workload_data, mapping_data).create().node_list)[-1]
    layer.spatial_mapping.initialize_oa_dims(accelerator.operational_array.dimension_sizes)
    conversion = SpatialMappingConversionStage([CostModelStage], accelerator=accelerator, layer=layer)
    spatial, spatial_int = conversion.convert_user_spatial_mapping(layer.spatial_mapping)
    temporal = {
        LayerOperand(op): [[(LayerDim(d), f) for d, f in level] for level in levels]
        for op, levels in export["temporal_mapping"].items()
    }
    tm = TemporalMapping(temporal, layer, TemporalMappingType.UNEVEN)
    return CostModelEvaluation(
        accelerator=accelerator,
        layer=layer,
        spatial_mapping=spatial,
        spatial_mapping_int=spatial_int,
        temporal_mapping=tm,
        access_same_data_considered_as_no_access=same_data_no_access,
    )


def zigzag_rows(export: dict, cme) -> list[dict]:
    rows = []
    for op, names in export["memories"].items():
        layer_op = LayerOperand(op)
        for lv, name in enumerate(names):
            moves = cme.mapping.unit_mem_data_movement[layer_op][lv].get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT)
            words = cme.memory_word_access[layer_op][lv]
            energy = cme.mem_energy_breakdown_further[layer_op][lv]
            row = {"memory": name, "operand": op}
            for key, d in DIRS:
                row[key] = float(moves.get(d))
            row["read_words"] = float(words.get(DataDirection.RD_OUT_TO_LOW) + words.get(DataDirection.RD_OUT_TO_HIGH))
            row["write_words"] = float(words.get(DataDirection.WR_IN_BY_HIGH) + words.get(DataDirection.WR_IN_BY_LOW))
            row["energy_pj"] = float(sum(energy.get(d) for _, d in DIRS))
            rows.append(row)
    return rows


def exported(folder: str, stem: str) -> dict:
    """The files `snnergy map --export-zigzag` wrote for one layer and format, as `evaluate` reads
    them."""

    def text(suffix: str) -> str:
        with open(os.path.join(folder, f"{stem}.{suffix}")) as f:
            return f.read()

    counts = json.loads(text("counts.json"))
    return {
        "accelerator": text("accelerator.yaml"),
        "accelerator_words": text("accelerator-words.yaml"),
        "workload": text("workload.yaml"),
        "mapping": text("mapping.yaml"),
        "temporal_mapping": counts["temporal_mapping"],
        "memories": counts["memories"],
    }


def result(folder: str, stem: str) -> dict:
    """ZigZag's counts with every MAC reading its operands (as snnergy counts), energy with
    one-word ports, latency with the chip's ports."""
    export = exported(folder, stem)
    with tempfile.TemporaryDirectory() as tmp:
        words = evaluate(export, "accelerator_words", False, tmp)
        timed = evaluate(export, "accelerator", False, tmp)
    return {
        "stem": stem,
        "rows": zigzag_rows(export, words),
        "storage_pj": float(words.mem_energy),
        "mac_pj": float(words.mac_energy),
        "energy_pj": float(words.energy_total),
        "cycles": float(timed.latency_total2),
        "temporal_cycles": float(timed.ideal_temporal_cycle),
    }


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: zigzag_eval.py DIR STEM...", file=sys.stderr)
        return 2
    folder, stems = argv[0], argv[1:]
    for stem in stems:
        try:
            print(json.dumps(result(folder, stem)), flush=True)
        except Exception as e:  # one layer ZigZag rejects must not hide the others
            print(json.dumps({"stem": stem, "error": f"{type(e).__name__}: {e}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

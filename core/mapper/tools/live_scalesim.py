#!/usr/bin/env python3
"""The live comparison with SCALE-Sim: its systolic compute model run on the layers and
dataflows of `examples/systolic_validation.rs`, against our cycles and buffer accesses of the
same layer on the same array with SCALE-Sim's mapping pinned.

    python3 core/mapper/tools/live_scalesim.py DIR [--markdown out.md] [--json out.json]

SCALE-Sim (scalesim 3.0.0) lowers a convolution to a matrix product (im2col: Sr × T by T × Sc)
and folds it onto the array: weight-stationary (ws) keeps an Sr = R·S·C by Sc = K tile of
weights and streams the N·P·Q pixels; output-stationary (os) keeps Sr = N·P·Q pixels by K
outputs and streams the R·S·C taps; input-stationary (is) keeps R·S·C taps of Sc = N·P·Q
windows and streams the K filters. Its compute model builds, per fold, the cycle-by-cycle
demand on the three SRAMs: the cycles are the demand matrices' rows (the full simulator adds
the memory system, whose stalls are zero with the double-buffered SRAMs this comparison
gives it). It has no padding: it is given the padded input map.

Fill and drain: per fold, SCALE-Sim's array loads the stationary operand (one cycle per row:
ws, is), skews the streamed operand in and drains the last result out (rows + columns − 2), so
a ws or is fold takes 2·rows + columns + its stream − 2 cycles and an os fold rows + columns +
its stream − 2. Our latency counts the same per fold under a systolic network
(`model/fill_drain.rs`). `check(results)` lists every case whose cycles do not equal our
temporal loops' plus our fill and drain (our epilogue's steps, which SCALE-Sim has no stage for,
are sized apart; rule `epilogue-steps`), every case whose fill and drain is not SCALE-Sim's by
the count above, and every filter read and ofmap write count that differs
from ours by more than `os-recount`: SCALE-Sim's output-stationary model adds each fold's
rows + columns to its ofmap writes a second time (systolic_compute_os.py counts the fold's
shape product, then its shape sum). Ifmap reads are sized, not checked: ours leave out the
padding (valid taps) and read an input that overlapping windows share once per multicast
(the union rule), where SCALE-Sim reads the lowered (im2col) matrix, padding included.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import tempfile

import numpy as np


CONFIG = """[general]
run_name = snnergy

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 1024
FilterSramSzkB: 1024
OfmapSramSzkB: 1024
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Dataflow: {dataflow}
Bandwidth: 10
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def scalesim_compute(layer: dict, dataflow: str, rows: int, cols: int) -> dict:
    """SCALE-Sim's compute model for one layer: cycles and SRAM requests."""
    from scalesim.compute.operand_matrix import operand_matrix
    from scalesim.compute.systolic_compute_is import systolic_compute_is
    from scalesim.compute.systolic_compute_os import systolic_compute_os
    from scalesim.compute.systolic_compute_ws import systolic_compute_ws
    from scalesim.layout_utils import layouts
    from scalesim.scale_config import scale_config
    from scalesim.topology_utils import topologies

    with tempfile.TemporaryDirectory() as tmp:
        topo_path = os.path.join(tmp, "topo.csv")
        with open(topo_path, "w") as f:
            f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n")
            f.write(
                f"{layer['name']}, {layer['ifmap']}, {layer['ifmap']}, {layer['r']}, {layer['r']}, "
                f"{layer['c']}, {layer['k']}, {layer['stride']},\n"
            )
        layout_path = os.path.join(tmp, "layout.csv")
        with open(layout_path, "w") as f:
            f.write("Layer name,\n")
        cfg_path = os.path.join(tmp, "scalesim.cfg")
        with open(cfg_path, "w") as f:
            f.write(CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
        config = scale_config()
        config.read_conf_file(cfg_path)
        topo = topologies()
        topo.load_arrays(topofile=topo_path)
        lay = layouts()
        lay.load_arrays(layoutfile=layout_path)
        opmat = operand_matrix()
        opmat.set_params(config_obj=config, topoutil_obj=topo, layoututil_obj=lay, layer_id=0)
        _, ifmap = opmat.get_ifmap_matrix()
        _, filt = opmat.get_filter_matrix()
        _, ofmap = opmat.get_ofmap_matrix()
        compute = {"ws": systolic_compute_ws, "os": systolic_compute_os, "is": systolic_compute_is}[dataflow]()
        if dataflow == "ws":
            compute.set_params(
                config_obj=config,
                ifmap_op_mat=ifmap,
                filter_op_mat=filt,
                ofmap_op_mat=ofmap,
                ifmap_op_mat_original=opmat.ifmap_addr_matrix_original,
                sparsity_filter_array=opmat.sparse_filter_array,
            )
        else:
            compute.set_params(config_obj=config, ifmap_op_mat=ifmap, filter_op_mat=filt, ofmap_op_mat=ofmap)
        compute.create_prefetch_matrices()
        compute.create_demand_matrices()
        demand = compute.get_ifmap_demand_mat()
        return {
            "cycles": float(demand.shape[0]),
            "ifmap_reads": float(compute.get_ifmap_requests()),
            "filter_reads": float(compute.get_filter_requests()),
            "ofmap_writes": float(compute.get_ofmap_requests()),
            "sr": int(compute.Sr),
            "sc": int(compute.Sc),
            "t": int(compute.T),
        }


def fill_drain(s: dict, rows: int, cols: int, dataflow: str) -> float:
    """SCALE-Sim's cycles beyond the streams, per fold: ws and is load the stationary tile (one
    cycle per row), skew the stream in and drain the last sums (rows + columns − 2); os keeps
    its sums in place and drains them while the next fold fills, so only the skew and drain."""
    folds = math.ceil(s["sr"] / rows) * math.ceil(s["sc"] / cols)
    load = 0 if dataflow == "os" else rows
    return folds * (load + rows + cols - 2)


def compare_case(doc: dict) -> dict:
    rows, cols = doc["array"]
    s = scalesim_compute(doc["layer"], doc["dataflow"], rows, cols)
    ours = doc["ours"]
    fd = fill_drain(s, rows, cols, doc["dataflow"])
    problems = []
    if not math.isclose(ours["fill_drain_cycles"], fd, rel_tol=0, abs_tol=1e-6):
        problems.append(f"fill and drain: ours {ours['fill_drain_cycles']}, SCALE-Sim's folds give {fd}")
    if not math.isclose(ours["temporal_cycles"] + ours["fill_drain_cycles"], s["cycles"], rel_tol=0, abs_tol=1e-6):
        problems.append(
            f"cycles: ours {ours['temporal_cycles']} (temporal loops) + {ours['fill_drain_cycles']} (fill and drain), "
            f"SCALE-Sim {s['cycles']}"
        )
    if not math.isclose(ours["filter_reads"], s["filter_reads"], rel_tol=1e-9):
        problems.append(f"filter_reads: ours {ours['filter_reads']}, SCALE-Sim {s['filter_reads']}")
    folds = math.ceil(s["sr"] / rows) * math.ceil(s["sc"] / cols)
    recount = folds * (rows + cols) if doc["dataflow"] == "os" else 0
    if not math.isclose(ours["ofmap_writes"] + recount, s["ofmap_writes"], rel_tol=1e-9):
        problems.append(f"ofmap_writes: ours {ours['ofmap_writes']} + os-recount {recount}, SCALE-Sim {s['ofmap_writes']}")
    return {
        "layer": doc["layer"]["name"],
        "dataflow": doc["dataflow"],
        "ours": ours,
        "scalesim": s,
        "fill_drain": fd,
        "epilogue_cycles": ours["cycles"] - ours["temporal_cycles"] - ours["fill_drain_cycles"],
        "cycles_ratio": ours["cycles"] / s["cycles"],
        "cycles_ratio_without_fill_drain": (ours["cycles"] - ours["fill_drain_cycles"]) / s["cycles"],
        "ifmap_ratio": ours["ifmap_reads"] / s["ifmap_reads"] if s["ifmap_reads"] else 1.0,
        "unexplained": problems,
    }


def check(results: list[dict]) -> list[str]:
    return [f"{r['layer']} ({r['dataflow']}): {p}" for r in results for p in r["unexplained"]]


def markdown(results: list[dict]) -> str:
    out = [
        "| layer | dataflow | folds × stream | cycles ours | of which fill and drain | of which epilogue | SCALE-Sim | ratio | "
        "ratio without fill and drain | filter reads ours / SCALE-Sim | ofmap writes | ifmap reads ours ÷ SCALE-Sim |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        o, s = r["ours"], r["scalesim"]
        out.append(
            f"| {r['layer']} | {r['dataflow']} | {math.ceil(s['sr'] / 32) * math.ceil(s['sc'] / 32)} × {s['t']} | "
            f"{o['cycles']:.0f} | {o['fill_drain_cycles']:.0f} | {r['epilogue_cycles']:.0f} | {s['cycles']:.0f} | "
            f"{r['cycles_ratio']:.4f} | {r['cycles_ratio_without_fill_drain']:.3f} | {o['filter_reads']:.0f} / {s['filter_reads']:.0f} | "
            f"{o['ofmap_writes']:.0f} / {s['ofmap_writes']:.0f} | {r['ifmap_ratio']:.3f} |"
        )
    return "\n".join(out)


def load(paths: list[str]) -> list[dict]:
    files: list[str] = []
    for x in paths:
        files += sorted(glob.glob(os.path.join(x, "*.json"))) if os.path.isdir(x) else [x]
    return [json.load(open(f)) for f in files]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    np.seterr(all="ignore")
    results = [compare_case(d) for d in load(args.inputs)]
    text = markdown(results) + "\n"
    if args.markdown:
        open(args.markdown, "w").write(text)
    else:
        print(text)
    if args.json:
        json.dump(results, open(args.json, "w"), indent=1)
    for line in check(results):
        print("unexplained:", line, file=sys.stderr)
    return 1 if check(results) else 0


if __name__ == "__main__":
    sys.exit(main())

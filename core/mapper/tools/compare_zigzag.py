#!/usr/bin/env python3
"""Runs ZigZag's cost model on snnergy-mapper's ZigZag exports and compares number for number.

Input: JSON files written by `cargo run --release -p snnergy-mapper --example zigzag_export --
DIR` (one per layer, chip and format; each holds `to_zigzag`'s export and our counts). For each,
ZigZag (zigzag-dse 3.9) parses the exported accelerator, workload and mapping YAML; the spatial
unrolling comes from the mapping YAML and the temporal loops are handed to ZigZag's cost model
per operand and memory exactly as our mapping places them (ZigZag's own memory allocator would
re-place them greedily, which is a search, not a model). Two evaluations per case:

* one-word ports (`accelerator_words`): element moves, word accesses and energy, exact (ZigZag
  truncates access counts of wide ports to integers);
* the chip's port widths (`accelerator`): latency;

and a third with one-bit minimum port widths, so that ZigZag packs every transfer into words
instead of rounding each transfer period up to whole words: the energy it gives isolates the
counting semantics from that rounding.

Output: markdown tables (per case: per memory and operand, ours against ZigZag's in ZigZag's four
directions, words and pJ; then a summary of energy and latency per case), and with --json the
same numbers for a test to check.

    python3 core/mapper/tools/compare_zigzag.py DIR [--json out.json] [--markdown out.md]
        [--same-data-no-access]

--same-data-no-access runs ZigZag with its API default (an operand held still at the innermost
memory across the innermost loops is read once, not once per MAC); by default every MAC reads its
operands, as in our counts and Timeloop's.
"""

from __future__ import annotations

import argparse
import glob
import importlib.metadata
import json
import logging
import math
import os
import platform
import re
import sys
import tempfile
from datetime import date

logging.disable(logging.CRITICAL)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from zigzag_eval import DIRS, evaluate, zigzag_rows  # noqa: E402

def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def unexplained(export: dict, ours_rows: list[dict], zz_rows: list[dict], problem: dict) -> list[str]:
    """Differences between ZigZag's element moves and ours (counted with ZigZag's semantics:
    no sliding-window reuse, reducing networks) that the two stated rules do not account for:
    ZigZag reads a partial sum back down from the parent before adding to it (we add it where
    it arrives), passing down in turn what came back from further up; and at the innermost
    memory it reads every update's sum but the first of each output, as if spatially reduced
    copies were one."""
    ours = {(r["memory"], r["operand"]): r for r in ours_rows}
    zz = {(r["memory"], r["operand"]): r for r in zz_rows}
    outputs = problem["n"] * problem["g"] * problem["k"] * problem["p"] * problem["q"] * problem["t"]
    bad = []
    for op in ("W", "I"):
        for m in export["memories"][op]:
            for key, _ in DIRS:
                a, b = ours.get((m, op), {}).get(key, 0.0), zz[(m, op)][key]
                if not close(a, b):
                    bad.append(f"{m} {op} {key}: ours {a}, ZigZag {b}")
    chain = export["memories"]["O"]
    # What ZigZag sends back down into each memory: everything its parent reads downward
    # except at the top, computed from the top down.
    read_back = [0.0] * len(chain)
    for i in range(len(chain) - 2, -1, -1):
        parent = ours.get((chain[i + 1], "O"), {})
        read_back[i] = parent.get("rd_out_to_low", 0.0) + read_back[i + 1]
    for i, m in enumerate(chain):
        o, z = ours.get((m, "O"), {}), zz[(m, "O")]
        expected = {
            "wr_in_by_low": o.get("wr_in_by_low", 0.0),
            "rd_out_to_high": o.get("rd_out_to_high", 0.0),
            "wr_in_by_high": read_back[i],
            "rd_out_to_low": o.get("wr_in_by_low", 0.0) - outputs if i == 0 else o.get("rd_out_to_low", 0.0) + read_back[i],
        }
        for key, a in expected.items():
            if not close(a, z[key]):
                bad.append(f"{m} O {key}: expected {a}, ZigZag {z[key]}")
    return bad


def compare(doc: dict, same_data_no_access: bool) -> dict:
    export = doc["export"]
    with tempfile.TemporaryDirectory() as tmp:
        words = evaluate(export, "accelerator_words", same_data_no_access, tmp)
        timed = evaluate(export, "accelerator", same_data_no_access, tmp)
        packed = evaluate(export, "accelerator_bits", same_data_no_access, tmp)
    source = timed if same_data_no_access else words
    zz = zigzag_rows(export, source)
    ours = {(r["memory"], r["operand"]): r for r in export["ours"]["rows"]}
    rows = []
    for z in zz:
        o = ours.get((z["memory"], z["operand"]), {})
        rows.append({"memory": z["memory"], "operand": z["operand"], "ours": o, "zigzag": z})
    o = export["ours"]
    aligned = doc.get("ours_aligned", o)
    like_for_like = o["storage_pj"] + o["mac_pj"]
    problems = unexplained(export, aligned["rows"], zz, doc["problem"]) if not same_data_no_access else []
    return {
        "layer": export["layer"],
        "hardware": export["hardware"],
        "kind": doc["kind"],
        "set": doc["set"],
        "macs": doc["macs"],
        "rows": rows,
        "ours": {
            "storage_pj": o["storage_pj"],
            "mac_pj": o["mac_pj"],
            "like_for_like_pj": like_for_like,
            "network_pj": o["network_pj"],
            "other_ops_pj": o["other_ops_pj"],
            "membrane_pj": o["membrane_pj"],
            "energy_pj": o["energy_pj"],
            "epilogue_pj": sum(r.get("epilogue_pj", 0.0) for r in o["rows"]),
            "storage_pj_with_zigzags_semantics": aligned["storage_pj"],
            "cycles": o["cycles"],
            "temporal_cycles": o["temporal_cycles"],
            "bound": o["bound"],
        },
        "zigzag": {
            "storage_pj": float(source.mem_energy),
            "mac_pj": float(source.mac_energy),
            "energy_pj": float(source.energy_total),
            "packed_energy_pj": float(packed.energy_total),
            "cycles": float(timed.latency_total2),
            "temporal_cycles": float(timed.ideal_temporal_cycle),
            "stall_cycles": float(timed.latency_total0 - timed.ideal_temporal_cycle),
            "onloading_cycles": float(timed.latency_total1 - timed.latency_total0),
            "offloading_cycles": float(timed.latency_total2 - timed.latency_total1),
        },
        "loop_nest": doc.get("loop_nest", ""),
        "aligned": doc.get("aligned", False),
        "unexplained": problems,
        "problem": doc.get("problem"),
        "mapping": doc.get("mapping"),
    }


def fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x - round(x)) < 1e-6 and abs(x) < 1e7:
        return f"{int(round(x))}"
    return f"{x:.4g}"


def pair(a: float, b: float) -> str:
    """`a` if both agree, else `a / b (ratio)`."""
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6):
        return fmt(a)
    ratio = f"{a / b:.3f}" if b else "∞"
    return f"**{fmt(a)} / {fmt(b)}** ({ratio})"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "–"


def case_table(r: dict) -> str:
    out = [
        f"#### {r['layer']} on {r['hardware']}, {r['kind'].upper()}",
        "",
        "```text",
        r["loop_nest"].rstrip(),
        "```",
        "",
        "Elements (ours / ZigZag where they differ), then word accesses and pJ:",
        "",
        "| memory | op | rd↓ | wr↓ | wr↑ | rd↑ | epilogue (ours) | read words | write words | pJ |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        o, z = row["ours"], row["zigzag"]
        cells = [row["memory"], row["operand"]]
        for key, _ in DIRS:
            cells.append(pair(o.get(key, 0.0), z[key]))
        cells.append(fmt(o.get("epilogue", 0.0)))
        for key in ("read_words", "write_words", "energy_pj"):
            cells.append(pair(o.get(key, 0.0), z[key]))
        out.append("| " + " | ".join(cells) + " |")
    o, z = r["ours"], r["zigzag"]
    out += [
        "",
        f"Energy: ours {fmt(o['like_for_like_pj'])} pJ (storage {fmt(o['storage_pj'])} + MAC {fmt(o['mac_pj'])}), "
        f"ZigZag {fmt(z['energy_pj'])} pJ (storage {fmt(z['storage_pj'])} + MAC {fmt(z['mac_pj'])}), "
        f"ratio {ratio(o['like_for_like_pj'], z['energy_pj'])} (ZigZag with words packed across transfers "
        f"{fmt(z['packed_energy_pj'])} pJ, ratio {ratio(o['like_for_like_pj'], z['packed_energy_pj'])}; "
        f"ours includes {fmt(o['epilogue_pj'])} pJ of in-place epilogue); ours also prices network {fmt(o['network_pj'])}, "
        f"other operations {fmt(o['other_ops_pj'])} and membranes {fmt(o['membrane_pj'])} pJ.",
        f"Cycles: ours {fmt(o['cycles'])} ({o['bound']}; temporal loops {fmt(o['temporal_cycles'])}), "
        f"ZigZag {fmt(z['cycles'])} (temporal loops {fmt(z['temporal_cycles'])}, stalls {fmt(z['stall_cycles'])}, "
        f"on-loading {fmt(z['onloading_cycles'])}, off-loading {fmt(z['offloading_cycles'])}), "
        f"ratio {ratio(o['cycles'], z['cycles'])}.",
        "",
    ]
    return "\n".join(out)


def mismatches(r: dict) -> int:
    n = 0
    for row in r["rows"]:
        for key, _ in DIRS:
            if not math.isclose(row["ours"].get(key, 0.0), row["zigzag"][key], rel_tol=1e-9, abs_tol=1e-6):
                n += 1
    return n


def summary_table(results: list[dict]) -> str:
    out = [
        "| layer | chip | format | element counts equal | differences explained | ours pJ (storage + MAC) | "
        "ZigZag pJ | ratio | ratio to ZigZag packed | same, ours with ZigZag's semantics | "
        "of ours: in-place epilogue | cycles ours | ZigZag | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        o, z = r["ours"], r["zigzag"]
        total = sum(1 for row in r["rows"] for _ in DIRS)
        semantics = o["storage_pj_with_zigzags_semantics"] + o["mac_pj"]
        out.append(
            "| "
            + " | ".join(
                [
                    r["layer"],
                    r["hardware"],
                    r["kind"].upper(),
                    f"{total - mismatches(r)} of {total}",
                    "all" if not r["unexplained"] else f"**{len(r['unexplained'])} not**",
                    f"{o['like_for_like_pj']:.4g}",
                    f"{z['energy_pj']:.4g}",
                    ratio(o["like_for_like_pj"], z["energy_pj"]),
                    ratio(o["like_for_like_pj"], z["packed_energy_pj"]),
                    ratio(semantics, z["packed_energy_pj"]),
                    f"{100 * o['epilogue_pj'] / o['like_for_like_pj']:.1f} %",
                    f"{o['cycles']:.4g}",
                    f"{z['cycles']:.4g}",
                    ratio(o["cycles"], z["cycles"]),
                ]
            )
            + " |"
        )
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="export JSON files or directories of them")
    ap.add_argument("--json", help="write the compared numbers here")
    ap.add_argument("--markdown", help="write the tables here (default: stdout)")
    ap.add_argument("--same-data-no-access", action="store_true", help="ZigZag's API default for innermost reads")
    ap.add_argument("--summary-only", action="store_true", help="print only the summary table")
    ap.add_argument("--detail", default="", help="per-level tables only for layers matching this regex")
    ap.add_argument("--fixture", help="write the element counts, problems and mappings here for the Rust test")
    args = ap.parse_args()

    files: list[str] = []
    for x in args.inputs:
        files += sorted(glob.glob(os.path.join(x, "*.json"))) if os.path.isdir(x) else [x]
    order = {"eyeriss-like": 0, "tpu-like": 1, "output-stationary": 2}
    docs = [json.load(open(f)) for f in files]
    docs.sort(key=lambda d: (d["set"] != "small", order.get(d["export"]["hardware"], 9), d["export"]["layer"], d["kind"]))
    results = []
    for d in docs:
        try:
            results.append(compare(d, args.same_data_no_access))
        except Exception as e:  # one case ZigZag rejects must not hide the others
            print(f"{d['export']['layer']} on {d['export']['hardware']} ({d['kind']}): ZigZag failed: {e!r}", file=sys.stderr)
    versions = (
        f"zigzag-dse {importlib.metadata.version('zigzag-dse')}, Python {platform.python_version()}, "
        f"run {date.today().isoformat()}"
        + (", ZigZag's innermost-read default" if args.same_data_no_access else "")
    )
    text = [f"Compared with {versions}.", "", summary_table(results), ""]
    if not args.summary_only:
        text += [case_table(r) for r in results if re.search(args.detail, r["layer"])]
    for r in results:
        for line in r["unexplained"]:
            print(f"{r['layer']} on {r['hardware']} ({r['kind']}): unexplained: {line}", file=sys.stderr)
    md = "\n".join(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md + "\n")
    else:
        print(md)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": versions, "results": results}, f, indent=1)
    if args.fixture:
        keys = [k for k, _ in DIRS]
        cases = [
            {
                "layer": r["layer"],
                "hardware": r["hardware"],
                "aligned": r["aligned"],
                "problem": r["problem"],
                "mapping": r["mapping"],
                "rows": [
                    {
                        "memory": row["memory"],
                        "operand": row["operand"],
                        "ours": [row["ours"].get(k, 0.0) for k in keys],
                        "zigzag": [row["zigzag"][k] for k in keys],
                    }
                    for row in r["rows"]
                ],
            }
            for r in results
        ]
        with open(args.fixture, "w") as f:
            json.dump({"versions": versions, "directions": keys, "cases": cases}, f, separators=(",", ":"))
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The live comparison with ZigZag: its cost model run on the exports of
`examples/live_validation.rs`, every difference from our counts checked against a named rule
and sized.

    python3 core/mapper/tools/live_zigzag.py DIR [--json out.json] [--markdown out.md]

For each case (layer, chip, format) ZigZag evaluates the exported chip, padded layer and our
mapping three times: with one-word ports (exact element moves, words and energy), with the
chip's ports (latency), and with its API default `access_same_data_considered_as_no_access`
on. The rules, each named as in VALIDATION.md:

* `psum-read-back`, `innermost-psum-reads` (differences 4, 5): `compare_zigzag.unexplained`,
  on our counts with ZigZag's semantics and every tap counted;
* `valid-taps`: a tap on padding is a zero operand for us and a MAC for ZigZag: between our
  counts with every tap and with valid taps, only the innermost operand reads of inputs (and,
  where the units gate or skip zeros, the innermost partial-sum updates and read-modify-write
  reads) shrink, by the layer's valid-tap fraction v; where zeros are gated or skipped, a
  weight read or fill serving m taps is needed when any of them is valid (1 - (1 - v)^m of
  them), so it lies between v times and once every-tap count;
* `sliding-windows`, `non-reducing-networks` (1, 6): the shipped chip against the same chip
  with ZigZag's semantics, same mapping (sized in energy);
* `unit-price`: ZigZag's MAC energy is its MACs at the description's price as written; ours is
  our operations at our price for the layer's widths: ours = ZigZag's × op_pj / unit_pj on
  every tap;
* `same-data-no-access`: with ZigZag's default on, the innermost memory's reads of W and I
  (and nothing else) are ZigZag's reads with it off ÷ its stationary cycles;
* `words-and-read-back` (4, 5, 7, 8, 10): not a count of our operands but the words ZigZag moves
  for them (its rounding of transfers to words, its one access per element at a
  data-dependent address, the partial sums it reads back down): sized in energy as our energy
  with ZigZag's semantics, every tap and ZigZag's MAC price ÷ ZigZag's;
* `fill-drain`: under a systolic network our latency adds each fold's fill and drain (as
  SCALE-Sim times it, checked in `live_scalesim.py`); ZigZag has none: sized as the cycle ratio
  without it;
* `load-drain-stalls` (12): the temporal loops' cycles are equal; what ZigZag adds (on- and
  off-loading, stalls) is sized;
* `uneven-average-utilization`: over a dimension an operand does not depend on, unrolled
  spatially past its size, ZigZag scales the operand's transfers by the unrolling's average use
  (real ÷ padded size); we count every instance holding a real element.

`check(results)` lists every difference no rule accounts for; the test suite fails on any.
"""

from __future__ import annotations

import argparse
import glob
import re
import importlib.metadata
import json
import math
import os
import platform
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compare_zigzag as cz  # noqa: E402
from zigzag.datatypes import LayerOperand  # noqa: E402

KEYS = [k for k, _ in cz.DIRS]


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-6)


def rows_by_key(rows: list[dict]) -> dict:
    return {(r["memory"], r["operand"]): r for r in rows}


def valid_taps_problems(doc: dict) -> list[str]:
    """`valid-taps`: our valid-tap counts against our every-tap counts (same chip, mapping)."""
    aligned, all_taps = doc["ours_aligned"], doc["ours_all_taps"]
    v = aligned["valid_taps"]
    gated = doc["zero_handling"] in ("gate", "skip")
    mems = doc["export"]["memories"]
    inner = {op: mems[op][0] for op in ("W", "I", "O") if mems.get(op)}
    a, b = rows_by_key(aligned["rows"]), rows_by_key(all_taps["rows"])
    bad = []
    for key, full in b.items():
        mem, op = key
        got = a.get(key, {})
        for k in KEYS:
            want = full[k]
            if mem == inner.get(op) and op == "I" and k == "rd_out_to_low":
                want = full[k] * v
            elif gated and op == "W" and k in ("rd_out_to_low", "wr_in_by_high"):
                # A weight read or fill serving m taps (a multicast, a tile held over several
                # output positions) is needed when any of them is valid: 1 - (1 - v)^m of
                # them, between v (one tap) and every one.
                g = got.get(k, 0.0)
                if not (full[k] * v * (1 - 1e-6) - 1e-6 <= g <= full[k] * (1 + 1e-6) + 1e-6):
                    bad.append(
                        f"valid-taps: {mem} {op} {k}: ours {g}, expected between {full[k] * v} and {full[k]}"
                    )
                continue
            elif mem == inner.get(op) and gated and op == "O" and k == "wr_in_by_low":
                want = full[k] * v
            elif mem == inner.get(op) and gated and op == "O" and k == "rd_out_to_low":
                # The read-modify-write reads (updates − residencies) scale with the updates.
                want = full[k] * v
            if not close(got.get(k, 0.0), want, 1e-6):
                bad.append(f"valid-taps: {mem} {op} {k}: ours {got.get(k, 0.0)}, expected {want}")
    return bad


def unit_price_problems(doc: dict, zz_mac_pj: float) -> list[str]:
    o = doc["ours_all_taps"]
    want = zz_mac_pj * o["op_pj"] / o["unit_pj"]
    if not close(o["mac_pj"], want, 1e-6):
        return [f"unit-price: ours {o['mac_pj']} pJ of MACs, expected {want}"]
    return []


def same_data_problems(doc: dict, off, on) -> list[str]:
    """With ZigZag's default on, only the innermost reads of W and I change, by its stationary
    cycles (where the port is wide enough to hold the operand at its pins)."""
    bad = []
    exp = doc["export"]
    off_rows = rows_by_key(cz.zigzag_rows(exp, off))
    on_rows = rows_by_key(cz.zigzag_rows(exp, on))
    for (mem, op), r_on in on_rows.items():
        r_off = off_rows[(mem, op)]
        for k in KEYS:
            want = r_off[k]
            if op in ("W", "I") and mem == exp["memories"][op][0] and k == "rd_out_to_low":
                stationary = on.temporal_mapping.mac_level_data_stationary_cycle[LayerOperand(op)]
                if not close(r_on[k], want) and not close(r_on[k], int(want / stationary)):
                    bad.append(f"same-data-no-access: {mem} {op} {k}: {r_on[k]}, expected {want} or {want}/{stationary}")
                continue
            if not close(r_on[k], want):
                bad.append(f"same-data-no-access: {mem} {op} {k}: {r_on[k]}, with it off {want}")
    return bad


def at_zz_price(c: dict) -> float:
    """Our storage energy and our operations at ZigZag's price of the unit (its MACs)."""
    return c["storage_pj"] + c["mac_pj"] * c["unit_pj"] / c["op_pj"]


def sized(doc: dict, words, timed, on) -> dict:
    """Each named difference's size on this case."""
    o, al, at = doc["export"]["ours"], doc["ours_aligned"], doc["ours_all_taps"]
    like = lambda c: c["storage_pj"] + c["mac_pj"]  # noqa: E731
    exp = doc["export"]
    inner_reads = {}
    off_rows = rows_by_key(cz.zigzag_rows(exp, words))
    on_rows = rows_by_key(cz.zigzag_rows(exp, on))
    for op in ("W", "I"):
        key = (exp["memories"][op][0], op)
        a, b = off_rows[key]["rd_out_to_low"], on_rows[key]["rd_out_to_low"]
        inner_reads[op] = a / b if b else 1.0
    return {
        "energy_ours_pj": like(o),
        "energy_zigzag_pj": float(words.energy_total),
        "energy_zigzag_defaults_pj": float(on.energy_total),
        "energy_ratio": like(o) / float(words.energy_total),
        "energy_ratio_defaults": like(o) / float(on.energy_total),
        "sliding_and_networks": like(o) / like(al),
        "valid_taps": like(al) / like(at),
        "valid_tap_fraction": al["valid_taps"],
        "unit_price": o["op_pj"] / o["unit_pj"],
        # What is left once the three rules above are undone: ours with ZigZag's semantics,
        # every tap and ZigZag's MAC price against ZigZag's energy; word accesses (7, 8, 10)
        # and partial-sum read-back (4, 5), which move words, not counts of our operands.
        "unit_price_energy": like(at) / at_zz_price(at),
        "words_and_read_back": at_zz_price(at) / float(words.energy_total),
        "same_data_inner_reads": inner_reads,
        "cycles_ours": o["cycles"],
        "cycles_zigzag": float(timed.latency_total2),
        "cycles_ratio": o["cycles"] / float(timed.latency_total2),
        "fill_drain_cycles": o["fill_drain_cycles"],
        "cycles_ratio_without_fill_drain": (o["cycles"] - o["fill_drain_cycles"]) / float(timed.latency_total2),
        "temporal_cycles_ours": o["temporal_cycles"],
        "temporal_cycles_zigzag": float(timed.ideal_temporal_cycle),
        "zigzag_load_drain_stall": float(timed.latency_total2 - timed.ideal_temporal_cycle),
    }


RELEVANT = {"W": set("GKCRS"), "I": set("NGCPQRST")}


def uneven_utilization(doc: dict, problems: list[str]) -> list[str]:
    """Rule `uneven-average-utilization`: over a dimension an operand does not depend on,
    unrolled spatially past its size (the last fold partial), ZigZag scales the operand's
    transfers by the unrolling's average use (real ÷ padded size); we count every instance
    that holds a real element, which is all of them when the operand's tile spans the
    dimension's temporal loop. Drops the differences of W and I that this ratio gives, to
    ZigZag's rounding to whole elements."""
    sizes = {d: doc["problem"][d.lower()] for d in "NGKCPQRST"}
    covered = {d: 1 for d in sizes}
    spatial = set()
    for lv in doc["mapping"]["levels"]:
        for lp in lv["temporal"]:
            covered[lp["dim"]] *= lp["factor"]
        for sp in lv["spatial"]:
            covered[sp["dim"]] *= sp["factor"]
            spatial.add(sp["dim"])
    left = []
    for line in problems:
        m = re.match(r"\S+ (W|I) \w+: ours ([\d.e+]+), ZigZag ([\d.e+]+)$", line)
        if m:
            use = 1.0
            for d in spatial - RELEVANT[m.group(1)]:
                use *= sizes[d] / covered[d]
            # ZigZag rounds its element counts to whole elements.
            if use < 1 and abs(float(m.group(2)) * use - float(m.group(3))) <= 1.0:
                continue
        left.append(line)
    return left


def compare_case(doc: dict) -> dict:
    exp = doc["export"]
    with tempfile.TemporaryDirectory() as tmp:
        words = cz.evaluate(exp, "accelerator_words", False, tmp)
        timed = cz.evaluate(exp, "accelerator", False, tmp)
        on = cz.evaluate(exp, "accelerator_words", True, tmp)
    zz = cz.zigzag_rows(exp, words)
    problems = uneven_utilization(doc, cz.unexplained(exp, doc["ours_all_taps"]["rows"], zz, doc["problem"]))
    problems += valid_taps_problems(doc)
    problems += unit_price_problems(doc, float(words.mac_energy))
    problems += same_data_problems(doc, words, on)
    s = sized(doc, words, timed, on)
    if not close(s["temporal_cycles_ours"], s["temporal_cycles_zigzag"]):
        problems.append(f"temporal cycles: ours {s['temporal_cycles_ours']}, ZigZag {s['temporal_cycles_zigzag']}")
    ours = rows_by_key(exp["ours"]["rows"])
    rows = [{"memory": z["memory"], "operand": z["operand"], "ours": ours.get((z["memory"], z["operand"]), {}), "zigzag": z} for z in zz]
    return {
        "layer": exp["layer"],
        "hardware": exp["hardware"],
        "kind": doc["kind"],
        # Whether the mapping gives an operand a boundary of its own (`spans_above`).
        "per_operand_boundaries": any(lv.get("spans_above") for lv in doc["mapping"]["levels"]),
        "rows": rows,
        "sizes": s,
        "unexplained": problems,
    }


def load(paths: list[str]) -> list[dict]:
    files: list[str] = []
    for x in paths:
        files += sorted(glob.glob(os.path.join(x, "*.json"))) if os.path.isdir(x) else [x]
    docs = []
    for f in files:
        d = json.load(open(f))
        if "zero_handling" not in d:
            d["zero_handling"] = zero_handling(d["export"]["hardware"])
        docs.append(d)
    return docs


def zero_handling(chip: str) -> str:
    """What the shipped chip's units do with a zero (its description's `zero_handling`)."""
    import re

    here = os.path.dirname(os.path.abspath(__file__))
    text = open(os.path.join(here, "../../../archs/hardware", f"{chip}.toml")).read()
    m = re.search(r'zero_handling\s*=\s*"(\w+)"', text)
    return m.group(1) if m else "none"


def check(results: list[dict]) -> list[str]:
    return [f"{r['layer']} on {r['hardware']} ({r['kind']}): {p}" for r in results for p in r["unexplained"]]


def span(values: list[float]) -> str:
    if not values:
        return "–"
    lo, hi = min(values), max(values)
    return f"{lo:.3f}" if close(lo, hi, 1e-3) else f"{lo:.3f}–{hi:.3f}"


def markdown(results: list[dict]) -> str:
    versions = f"zigzag-dse {importlib.metadata.version('zigzag-dse')}, Python {platform.python_version()}"
    out = [
        f"Live run: {len(results)} cases, {versions}; {len(check(results))} differences unexplained.",
        "",
        "| layer | chip | format | counts equal | ours pJ | ZigZag pJ | ratio | ratio, ZigZag's defaults on | "
        "sliding windows & networks | valid taps | unit price | words & read-back | cycles ours | ZigZag | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["sizes"]
        total = len(r["rows"]) * len(KEYS)
        out.append(
            "| "
            + " | ".join(
                [
                    r["layer"],
                    r["hardware"],
                    r["kind"].upper(),
                    f"{total - cz.mismatches(r)} of {total}",
                    f"{s['energy_ours_pj']:.4g}",
                    f"{s['energy_zigzag_pj']:.4g}",
                    f"{s['energy_ratio']:.3f}",
                    f"{s['energy_ratio_defaults']:.3f}",
                    f"{s['sliding_and_networks']:.3f}",
                    f"{s['valid_taps']:.3f}",
                    f"{s['unit_price']:.3f}",
                    f"{s['words_and_read_back']:.3f}",
                    f"{s['cycles_ours']:.4g}",
                    f"{s['cycles_zigzag']:.4g}",
                    f"{s['cycles_ratio']:.3f}",
                ]
            )
            + " |"
        )
    return "\n".join(out)


def summary(results: list[dict]) -> str:
    """Ranges per chip and format of each sized difference."""
    groups: dict = {}
    for r in results:
        fmt = "SNN" if r["kind"] == "snn" else "QNN"
        groups.setdefault((r["hardware"], fmt), []).append(r["sizes"])
    out = [
        "| chip, format | energy ours ÷ ZigZag | same, ZigZag's defaults on | sliding windows & networks | "
        "valid taps | unit price: op, energy | words & read-back | RF reads W, I: off ÷ on | cycles ours ÷ ZigZag | "
        "the same without our fill and drain |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (chip, fmt), ss in groups.items():
        out.append(
            f"| {chip}, {fmt} | {span([s['energy_ratio'] for s in ss])} | {span([s['energy_ratio_defaults'] for s in ss])} | "
            f"{span([s['sliding_and_networks'] for s in ss])} | {span([s['valid_taps'] for s in ss])} | "
            f"{span([s['unit_price'] for s in ss])}, {span([s['unit_price_energy'] for s in ss])} | "
            f"{span([s['words_and_read_back'] for s in ss])} | {span([s['same_data_inner_reads']['W'] for s in ss])}, "
            f"{span([s['same_data_inner_reads']['I'] for s in ss])} | {span([s['cycles_ratio'] for s in ss])} | "
            f"{span([s['cycles_ratio_without_fill_drain'] for s in ss])} |"
        )
    return "\n".join(out)


def by_layer(results: list[dict]) -> str:
    """Ranges per layer over the chips and formats."""
    groups: dict = {}
    for r in results:
        groups.setdefault(r["layer"], []).append(r)
    out = [
        "| layer | cases | counts equal before the rules | energy ours ÷ ZigZag | words & read-back | cycles ours ÷ ZigZag | "
        "without our fill and drain |",
        "|---|---|---|---|---|---|---|",
    ]
    for layer, rs in groups.items():
        total = sum(len(r["rows"]) * len(KEYS) for r in rs)
        equal = total - sum(cz.mismatches(r) for r in rs)
        ss = [r["sizes"] for r in rs]
        out.append(
            f"| {layer} | {len(rs)} | {equal} of {total} | {span([s['energy_ratio'] for s in ss])} | "
            f"{span([s['words_and_read_back'] for s in ss])} | {span([s['cycles_ratio'] for s in ss])} | "
            f"{span([s['cycles_ratio_without_fill_drain'] for s in ss])} |"
        )
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    results = [compare_case(d) for d in load(args.inputs)]
    text = summary(results) + "\n\n" + by_layer(results) + "\n\n" + markdown(results) + "\n"
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

#!/usr/bin/env python3
"""Runs timeloop-model on snnergy-mapper's Timeloop exports and compares per-level counts.

Input: JSON files written by `cargo run --release -p snnergy-mapper --example validation_export
-- DIR` (their `timeloop` entry is `to_timeloop`'s export: architecture, problem and mapping in
Timeloop's v0.4 YAML, our counts, and an ERT of our per-access energies). timeloop-model itself
(the C++ binary, built separately; no Timeloop code is part of snnergy) reads the older tree
format, so this script translates the v0.4 documents the way Timeloop's Python front end does:
containers become `subtree` levels with their instance counts, components become `local`
entries (outermost first), `data_spaces`/`read_write` become `data-spaces`/`read-write`,
`multiple_buffering` becomes `multiple-buffering`. The ERT replaces Timeloop's energy model, so
both tools price an access the same; networks and address generation are not compared.

    python3 core/mapper/tools/compare_timeloop.py DIR [--timeloop PATH] [--markdown out.md]
        [--json out.json]

Per component and Timeloop data space the table gives our reads (less the reads that send data
up, which Timeloop does not count), fills and updates, summed over our data spaces that map to
it, against Timeloop's scalar counts (per instance × utilized instances), then energy and cycles.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from datetime import date

import yaml


class Node(dict):
    """A v0.4 `!Container` or `!Component`."""

    def __init__(self, tag: str, body: dict):
        super().__init__(body)
        self.tag = tag


def _loader() -> type:
    class Loader(yaml.SafeLoader):
        pass

    for tag in ("!Container", "!Component"):
        Loader.add_constructor(tag, lambda loader, node, tag=tag: Node(tag, loader.construct_mapping(node, deep=True)))
    return Loader


def native_architecture(text: str) -> dict:
    """v0.4 `nodes` list to the tree Timeloop's model binary reads."""
    arch = yaml.load(text, Loader=_loader())["architecture"]
    nodes = arch["nodes"]
    root = {"name": "system", "local": []}
    current = root
    mesh_x = 1
    for node in nodes[1:]:
        if node.tag == "!Container":
            spatial = node.get("spatial", {})
            x, y = int(spatial.get("meshX", 1)), int(spatial.get("meshY", 1))
            child = {"name": f"{node['name']}[0..{x * y - 1}]", "local": []}
            current["subtree"] = [child]
            current = child
            mesh_x *= x
            continue
        attributes = dict(node.get("attributes", {}))
        if "multiple_buffering" in attributes:
            attributes["multiple-buffering"] = attributes.pop("multiple_buffering")
        if mesh_x > 1:
            attributes["meshX"] = mesh_x
        if node["class"] in ("intmac", "mac"):
            attributes.setdefault("datawidth", attributes.pop("width", 8))
        current["local"].append({"name": node["name"], "class": node["class"], "attributes": attributes})
    return {"version": 0.3, "subtree": [root]}


def native_problem(text: str) -> dict:
    problem = yaml.safe_load(text)["problem"]
    problem.pop("version", None)
    for ds in problem["shape"].pop("data_spaces"):
        if "read_write" in ds:
            ds["read-write"] = ds.pop("read_write")
        problem["shape"].setdefault("data-spaces", []).append(ds)
    return problem


def parse_stats(text: str) -> tuple[dict, dict]:
    """Per (component, data space): utilized instances and per-instance scalar counts; totals."""
    levels: dict = {}
    totals: dict = {}
    level = None
    space = None
    for line in text.splitlines():
        m = re.match(r"^=== (.+) ===$", line.strip())
        if m:
            level = m.group(1)
            space = None
            continue
        if level is None:
            continue
        m = re.match(r"^\s{4}(\w+):$", line)
        if m:
            space = m.group(1)
            levels.setdefault((level, space), {})
            continue
        m = re.match(r"^\s+([A-Za-z][^:]*?)\s*:\s*([-+0-9.eE]+)", line)
        if m and space is not None and (level, space) in levels:
            # The level's own statistics come first; its network's, under the same names, after.
            try:
                levels[(level, space)].setdefault(m.group(1).strip(), float(m.group(2)))
            except ValueError:
                pass
    for key, pat in (("energy_uj", r"^Energy: ([0-9.eE+-]+) uJ"), ("cycles", r"^Cycles: ([0-9.eE+-]+)")):
        m = re.search(pat, text, re.M)
        if m:
            totals[key] = float(m.group(1))
    return levels, totals


def ours_per_component(doc: dict) -> dict:
    """Our counts per (Timeloop component, Timeloop data space)."""
    tl = doc["timeloop"]
    components = {n["name"] for n in yaml.load(tl["architecture"], Loader=_loader())["architecture"]["nodes"]}
    out: dict = {}
    lines = tl["counts_csv"].strip().splitlines()[1:]
    for line in lines:
        level, ds, tl_ds, reads, fills, updates, sent_up = line.split(",")
        if tl_ds == "Membrane":
            continue
        name = f"{level}_{ds}" if f"{level}_{ds}" in components else level
        row = out.setdefault((name, tl_ds), {"reads": 0.0, "fills": 0.0, "updates": 0.0})
        # Timeloop counts no read for what a level sends up.
        row["reads"] += float(reads) - float(sent_up)
        row["fills"] += float(fills)
        row["updates"] += float(updates)
    return out


def run(doc: dict, binary: str) -> dict:
    tl = doc["timeloop"]
    spec = {
        "architecture": native_architecture(tl["architecture"]),
        "problem": native_problem(tl["problem"]),
        "mapping": yaml.safe_load(tl["mapping"])["mapping"],
        "ERT": yaml.safe_load(tl["ert"])["ERT"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spec.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False)
        p = subprocess.run([binary, path], cwd=tmp, capture_output=True, text=True, timeout=600)
        stats_path = os.path.join(tmp, "timeloop-model.stats.txt")
        if p.returncode != 0 or not os.path.exists(stats_path):
            raise RuntimeError((p.stdout + p.stderr)[-2000:])
        stats = open(stats_path).read()
    levels, totals = parse_stats(stats)
    ours = ours_per_component(doc)
    rows = []
    for (name, ds), o in ours.items():
        t = levels.get((name, ds), {})
        inst = t.get("Utilized instances (max)", 0.0)
        theirs = {
            "reads": t.get("Scalar reads (per-instance)", 0.0) * inst,
            "fills": t.get("Scalar fills (per-instance)", 0.0) * inst,
            "updates": t.get("Scalar updates (per-instance)", 0.0) * inst,
            "energy_pj": t.get("Energy (total)", 0.0),
        }
        rows.append({"component": name, "data_space": ds, "ours": o, "timeloop": theirs})
    z = doc.get("timeloop_ours", doc["export"]["ours"])
    return {
        "layer": doc["export"]["layer"],
        "hardware": doc["export"]["hardware"],
        "kind": doc["kind"],
        "same_mapping": doc.get("timeloop_same_mapping", True),
        "loop_nest": doc.get("timeloop_loop_nest", doc.get("loop_nest", "")),
        "rows": rows,
        "ours": {"storage_pj": z["storage_pj"], "mac_pj": z["mac_pj"], "cycles": z["cycles"]},
        "timeloop": {
            "storage_pj": sum(r["timeloop"]["energy_pj"] for r in rows),
            "energy_pj": totals.get("energy_uj", float("nan")) * 1e6,
            "cycles": totals.get("cycles", float("nan")),
        },
    }


def fmt(x: float) -> str:
    if abs(x - round(x)) < 1e-6 and abs(x) < 1e7:
        return f"{int(round(x))}"
    return f"{x:.4g}"


def pair(a: float, b: float) -> str:
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6):
        return fmt(a)
    return f"**{fmt(a)} / {fmt(b)}**"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--timeloop", default="timeloop-model", help="path of the timeloop-model binary")
    ap.add_argument("--timeloop-version", default="v3.0.3", help="the release the binary was built from")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    ap.add_argument("--detail", default="", help="per-component tables only for layers matching this regex")
    args = ap.parse_args()
    files: list[str] = []
    for x in args.inputs:
        files += sorted(glob.glob(os.path.join(x, "*.json"))) if os.path.isdir(x) else [x]
    results = []
    text = []
    order = {"eyeriss-like": 0, "tpu-like": 1, "output-stationary": 2}
    docs = [json.load(open(f)) for f in files]
    docs.sort(key=lambda d: (d["set"] != "small", order.get(d["export"]["hardware"], 9), d["export"]["layer"], d["kind"]))
    for doc in docs:
        try:
            r = run(doc, args.timeloop)
        except Exception as e:  # one case Timeloop rejects must not hide the others
            text += [f"#### {doc['export']['layer']} on {doc['export']['hardware']}, {doc['kind'].upper()}", "",
                     "Timeloop rejected it:", "", "```text", str(e).strip(), "```", ""]
            continue
        results.append(r)
        if not re.search(args.detail, r["layer"]):
            continue
        text += [
            f"#### {r['layer']} on {r['hardware']}, {r['kind'].upper()}",
            "",
            "| component | data space | reads (ours / Timeloop) | fills | updates | pJ (ours storage / Timeloop) |",
            "|---|---|---|---|---|---|",
        ]
        for row in r["rows"]:
            o, t = row["ours"], row["timeloop"]
            text.append(
                f"| {row['component']} | {row['data_space']} | {pair(o['reads'], t['reads'])} | "
                f"{pair(o['fills'], t['fills'])} | {pair(o['updates'], t['updates'])} | – / {fmt(t['energy_pj'])} |"
            )
        o, t = r["ours"], r["timeloop"]
        text += [
            "",
            f"Storage energy: ours {fmt(o['storage_pj'])} pJ, Timeloop {fmt(t['storage_pj'])} pJ; "
            f"cycles: ours {fmt(o['cycles'])}, Timeloop {fmt(t['cycles'])}.",
            "",
        ]
    summary = [
        "| layer | chip | format | mapping | counts equal | storage pJ ours | Timeloop | cycles ours | Timeloop |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        n = sum(3 for _ in r["rows"])
        same = sum(
            1
            for row in r["rows"]
            for k in ("reads", "fills", "updates")
            if math.isclose(row["ours"][k], row["timeloop"][k], rel_tol=1e-9, abs_tol=1e-6)
        )
        o, t = r["ours"], r["timeloop"]
        summary.append(
            f"| {r['layer']} | {r['hardware']} | {r['kind'].upper()} | "
            f"{'as for ZigZag' if r['same_mapping'] else 'one axis per dimension'} | {same} of {n} | "
            f"{o['storage_pj']:.4g} | {t['storage_pj']:.4g} | {o['cycles']:.4g} | {t['cycles']:.4g} |"
        )
    header = [
        f"Compared with timeloop-model {args.timeloop_version} on {date.today().isoformat()}.",
        "",
    ]
    md = "\n".join(header + summary + [""] + text)
    if args.markdown:
        open(args.markdown, "w").write(md + "\n")
    else:
        print(md)
    if args.json:
        json.dump({"results": results}, open(args.json, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

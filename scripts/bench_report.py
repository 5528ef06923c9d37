#!/usr/bin/env python3
"""Prints every benchmark as a table of ratios against its anchor, measured in the same run.

Inputs:
  --jmh FILE        package-benchmark results exported with `--format jmh` (repeatable)
  --results FILE    results of an anchor script: {"payloadBytes": N, "results": [{"name", "opsPerSecond"}]}
                    (repeatable; e.g. Benchmarks/Anchors/python_codecs.py)
  --spec FILE       a report spec (repeatable; default Benchmarks/Report/*.json)
  --json OUT        also write the computed tables as JSON

Spec format (one file per module / benchmark group set, see Benchmarks/Report/wirecore.json):
  {"title": "...", "groups": [{"name": "...", "unit": "GB/s" | "MB/s" | "ops/s", "note": "...",
    "rows": [{"label": "...", "ours": BENCHMARK NAME, "anchor": BENCHMARK NAME,
              "bytes": N | "payloadBytes", "anchorBytes": N | "payloadBytes" (default: bytes),
              "higherIsBetter": true}]}]}
A name is a package-benchmark benchmark name (as written in Benchmark("...")) or a name from an
anchor results file. Rates are ops/s x bytes per op; the ratio is ours / anchor.
"""
import argparse
import glob
import json
import os
import sys

UNITS = {"GB/s": 1e9, "MB/s": 1e6, "ops/s": None}


def load_jmh(path, rates):
    with open(path) as f:
        elements = json.load(f)
    for element in elements:
        # "package.benchmark.<Target>.<Name_with_underscores>"
        full = element["benchmark"]
        name = full.split(".", 3)[3] if full.count(".") >= 3 else full
        target, _, bench = name.partition(".")
        score = element["primaryMetric"]["score"]
        for key in (bench, bench.replace("_", " "), f"{target}:{bench}", f"{target}:{bench.replace('_', ' ')}"):
            rates[key] = score


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser()
    parser.add_argument("--jmh", action="append", default=[])
    parser.add_argument("--results", action="append", default=[])
    parser.add_argument("--spec", action="append", default=[])
    parser.add_argument("--json")
    args = parser.parse_args()
    specs = args.spec or sorted(glob.glob(os.path.join(root, "Benchmarks", "Report", "*.json")))

    rates, values, context = {}, {}, {}
    for path in args.jmh:
        load_jmh(path, rates)
    for path in args.results:
        with open(path) as f:
            data = json.load(f)
        for key, value in data.items():
            if key != "results":
                context[key] = value
        for result in data["results"]:
            if "opsPerSecond" in result:
                rates[result["name"]] = result["opsPerSecond"]
            elif "value" in result:
                values[result["name"]] = result["value"]

    def resolve_bytes(value):
        if isinstance(value, str):
            return context.get(value)
        return value

    report, missing = [], 0
    for spec_path in specs:
        with open(spec_path) as f:
            spec = json.load(f)
        print(f"\n== {spec.get('title', os.path.basename(spec_path))} ==")
        for group in spec["groups"]:
            unit = group.get("unit", "ops/s")
            scale = UNITS.get(unit)
            print(f"\n{group['name']}  [{unit}]")
            if group.get("note"):
                print(f"  ({group['note']})")
            header = f"  {'benchmark':<34} {'ours':>12} {'anchor':>12} {'ratio':>8}"
            print(header)
            print("  " + "-" * (len(header) - 2))
            rows = []
            for row in group["rows"]:
                ours_ops, anchor_ops = rates.get(row["ours"]), rates.get(row["anchor"])
                ours_bytes = resolve_bytes(row.get("oursBytes", row.get("bytes", group.get("bytes"))))
                anchor_bytes = resolve_bytes(row.get("anchorBytes", row.get("bytes", group.get("bytes"))))
                if ours_ops is None or anchor_ops is None or (scale and (ours_bytes is None or anchor_bytes is None)):
                    missing += 1
                    absent = [n for n, v in ((row["ours"], ours_ops), (row["anchor"], anchor_ops)) if v is None]
                    print(f"  {row['label']:<34} {'n/a':>12} {'n/a':>12} {'n/a':>8}   missing: {', '.join(absent) or 'bytes'}")
                    continue
                ours = ours_ops * ours_bytes / scale if scale else ours_ops
                anchor = anchor_ops * anchor_bytes / scale if scale else anchor_ops
                ratio = ours / anchor if row.get("higherIsBetter", True) else anchor / ours
                print(f"  {row['label']:<34} {ours:>12.2f} {anchor:>12.2f} {ratio:>7.2f}x")
                rows.append({"label": row["label"], "ours": ours, "anchor": anchor, "ratio": ratio, "unit": unit})
            report.append({"group": group["name"], "rows": rows})
    if values:
        print("\nOther measured values:")
        for name, value in sorted(values.items()):
            print(f"  {name:<40} {value:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if missing:
        print(f"\n{missing} row(s) had no measurement (benchmark filtered out or failed)", file=sys.stderr)


if __name__ == "__main__":
    main()

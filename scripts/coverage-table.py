#!/usr/bin/env python3
"""The per-module coverage table of formal/README.md ("Coverage").

Usage: coverage-table.py SUMMARY.json REPORT.txt MISSING.txt > modules.md

SUMMARY.json is `cargo llvm-cov report --json --summary-only`; REPORT.txt is
`cargo llvm-cov report --show-missing-lines`, whose "Uncovered Lines:" section
is copied to MISSING.txt with paths relative to the repository. A module is a
file directly under src/ or a directory of src/ (src/conn/*.rs is `conn`).
"""

import json
import sys
from collections import OrderedDict


def module_of(path):
    rel = path.split("/src/", 1)[1] if "/src/" in path else path
    head = rel.split("/", 1)[0]
    return head[:-3] if head.endswith(".rs") else head


def main():
    summary_path, report_path, missing_path = sys.argv[1:4]
    data = json.load(open(summary_path))["data"][0]
    keys = ["lines", "regions", "branches"]
    modules = {}
    for f in data["files"]:
        m = modules.setdefault(module_of(f["filename"]), {k: [0, 0] for k in keys})
        for k in keys:
            s = f["summary"].get(k, {"count": 0, "covered": 0})
            m[k][0] += s["count"]
            m[k][1] += s["covered"]
    has_branches = any(m["branches"][0] for m in modules.values())

    def cells(m):
        out = []
        for k in keys if has_branches else keys[:2]:
            count, covered = m[k]
            pct = f"{100.0 * covered / count:.1f}" if count else "-"
            out += [f"{covered}/{count}", pct]
        return out

    head = ["module", "lines", "line %", "regions", "region %"]
    if has_branches:
        head += ["branches", "branch %"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    total = {k: [0, 0] for k in keys}
    for name in sorted(modules):
        m = modules[name]
        for k in keys:
            total[k][0] += m[k][0]
            total[k][1] += m[k][1]
        print("| " + " | ".join([f"`{name}`"] + cells(m)) + " |")
    print("| " + " | ".join(["**total**"] + cells(total)) + " |")

    missing = OrderedDict()
    in_section = False
    for line in open(report_path):
        line = line.rstrip("\n")
        if line.startswith("Uncovered Lines:"):
            in_section = True
            continue
        if in_section and ": " in line:
            path, nums = line.rsplit(": ", 1)
            rel = "src/" + path.split("/src/", 1)[1] if "/src/" in path else path
            missing[rel] = nums
    with open(missing_path, "w") as out:
        for path, nums in missing.items():
            out.write(f"{path}: {nums}\n")
    n = 0
    for nums in missing.values():
        for part in nums.split(", "):
            lo, _, hi = part.partition("-")
            n += int(hi or lo) - int(lo) + 1
    print(f"\n{n} engine lines not executed, in {len(missing)} files ({missing_path})")


if __name__ == "__main__":
    main()

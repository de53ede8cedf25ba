#!/usr/bin/env python3
"""Line coverage as the union over the test binaries, one binary at a time.

Usage: coverage-union.py PROFDATA IGNORE_REGEX OUT_MISSING OBJECT... > table.md

Why: in a release build, small functions of the library are inlined into the
test binaries that call them, so one function has a different coverage
mapping in different binaries. `llvm-cov` given all the binaries at once keeps
the first binary's mapping of each function and drops the counts of the others
("N functions have mismatched data"): a function run only by a later binary
reads as never run. Exported one binary at a time, every binary's counts are
read against its own mapping; a line counts as run if any binary ran it.
"""

import os
import re
import subprocess
import sys
from collections import defaultdict


def main():
    profdata, ignore, out_missing, *objects = sys.argv[1:]
    llvm_cov = os.environ.get("LLVM_COV", "llvm-cov")
    lines = defaultdict(dict)  # file -> line -> executed?
    for obj in objects:
        lcov = subprocess.run(
            [llvm_cov, "export", "-format=lcov", "-skip-functions", f"-instr-profile={profdata}",
             f"-ignore-filename-regex={ignore}", obj],
            capture_output=True, text=True, check=True,
        ).stdout
        current = None
        for line in lcov.splitlines():
            if line.startswith("SF:"):
                current = line[3:]
                if "/src/" not in current or "/.cargo/" in current or "/rustc/" in current:
                    current = None
            elif line.startswith("DA:") and current:
                num, count = line[3:].split(",")[:2]
                seen = lines[current]
                seen[int(num)] = seen.get(int(num), False) or int(count) > 0

    modules = defaultdict(lambda: [0, 0])
    with open(out_missing, "w") as out:
        for path in sorted(lines):
            rel = "src/" + path.split("/src/", 1)[1]
            head = rel[4:].split("/", 1)[0]
            module = head[:-3] if head.endswith(".rs") else head
            seen = lines[path]
            modules[module][0] += len(seen)
            modules[module][1] += sum(seen.values())
            missed = sorted(n for n, hit in seen.items() if not hit)
            if missed:
                out.write(f"{rel}: {', '.join(ranges(missed))}\n")
    print("| module | lines | line % |")
    print("|---|---|---|")
    total = [0, 0]
    for name in sorted(modules):
        count, covered = modules[name]
        total[0] += count
        total[1] += covered
        print(f"| `{name}` | {covered}/{count} | {100.0 * covered / count:.1f} |")
    print(f"| **total** | {total[1]}/{total[0]} | {100.0 * total[1] / total[0]:.1f} |")
    print(f"\n{total[0] - total[1]} engine lines not executed ({out_missing})")


def ranges(nums):
    out, start, prev = [], nums[0], nums[0]
    for n in nums[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return out


if __name__ == "__main__":
    main()

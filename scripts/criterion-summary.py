#!/usr/bin/env python3
"""Summarise criterion results for BENCHMARKS.md.

Reads every `*/new/benchmark.json` + `estimates.json` under a criterion directory
(default: target/criterion, or $CRITERION_HOME) and prints Markdown:

  criterion-summary.py table [DIR]    medians of every benchmark, both providers side by side
  criterion-summary.py ratios [DIR]   the target ratios, per provider
  criterion-summary.py json [DIR]     {id: {median_ns, low_ns, high_ns, bytes}} for other scripts

IDs of the default (RustCrypto) provider have no prefix; the fast provider's start
with `fast/`. Medians are criterion's median point estimates, with their 95%
confidence interval.
"""

import json
import os
import sys
from pathlib import Path


def load(root):
    results = {}
    for bench in Path(root).glob("**/new/benchmark.json"):
        try:
            meta = json.loads(bench.read_text())
            est = json.loads((bench.parent / "estimates.json").read_text())
        except (OSError, ValueError):
            continue
        median = est["median"]
        throughput = meta.get("throughput") or {}
        results[meta["full_id"]] = {
            "median_ns": median["point_estimate"],
            "low_ns": median["confidence_interval"]["lower_bound"],
            "high_ns": median["confidence_interval"]["upper_bound"],
            "bytes": throughput.get("Bytes") or throughput.get("BytesDecimal"),
        }
    return results


def fmt_time(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.3f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def fmt_cell(r):
    if r is None:
        return "–"
    cell = fmt_time(r["median_ns"])
    if r["bytes"]:
        cell += f" ({r['bytes'] / r['median_ns'] * 1e9 / 2**20:,.0f} MiB/s)"
    return cell


def order(key):
    # Group order as in BENCHMARKS.md, then numeric parameters ascending.
    groups = ["rsa/keygen", "rsa/encrypt_premaster", "rsa/decrypt_premaster/",
              "rsa/decrypt_premaster_invalid", "rsa/raw_private_op", "aead/raw_seal",
              "record/seal", "record/open", "prf/", "handshake/full", "handshake/server_only",
              "choice/"]
    rank = next((i for i, g in enumerate(groups) if key.startswith(g)), len(groups))
    parts = [int(p) if p.isdigit() else p for p in key.split("/")]
    return (rank, [(0, p) if isinstance(p, int) else (1, p) for p in parts])


def table(results):
    ids = sorted({k.removeprefix("fast/") for k in results}, key=order)
    print("| benchmark ID (fast: `fast/` + ID) | RustCrypto median | fast median | RustCrypto ÷ fast |")
    print("|---|---:|---:|---:|")
    for i in ids:
        rc, fa = results.get(i), results.get("fast/" + i)
        speedup = f"{rc['median_ns'] / fa['median_ns']:.2f}×" if rc and fa else "–"
        print(f"| `{i}` | {fmt_cell(rc)} | {fmt_cell(fa)} | {speedup} |")


def ratio_rows(results, prefix):
    def get(i):
        return results.get(prefix + i)

    rows = []
    hs, raw = get("handshake/server_only/2048"), get("rsa/raw_private_op/2048")
    if hs and raw:
        r = hs["median_ns"] / raw["median_ns"]
        rows.append(("server handshake CPU ÷ raw private op (2048)", r, "≤ 1.05", r <= 1.05))
    for alg in ["aes128", "aes256"]:
        base = get(f"aead/raw_seal/{alg}/16384")
        for op in ["seal", "open"]:
            rec = get(f"record/{op}/{alg}/16384")
            if base and rec:
                r = base["median_ns"] / rec["median_ns"]
                rows.append((f"record {op} ÷ raw AEAD seal throughput ({alg}, 16 KiB)", r,
                             "≥ 0.95", r >= 0.95))
    for bits in [2048, 3072, 4096]:
        v, n = get(f"rsa/decrypt_premaster/{bits}"), get(f"rsa/decrypt_premaster_invalid/{bits}")
        if v and n:
            r = v["median_ns"] / n["median_ns"]
            overlap = v["low_ns"] <= n["high_ns"] and n["low_ns"] <= v["high_ns"]
            rows.append((f"ClientKeyExchange valid ÷ invalid ({bits})", r,
                         "= 1 within noise (95% CIs overlap)", overlap))
    return rows


def ratios(results):
    print("| provider | ratio | measured | target | verdict |")
    print("|---|---|---:|---|---|")
    for name, prefix in [("RustCrypto", ""), ("fast", "fast/")]:
        for what, r, target, ok in ratio_rows(results, prefix):
            print(f"| {name} | {what} | {r:.3f} | {target} | {'met' if ok else 'MISSED'} |")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "table"
    root = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("CRITERION_HOME", "target/criterion")
    results = load(root)
    if not results:
        sys.exit(f"no criterion results under {root}")
    {"table": table, "ratios": ratios, "json": lambda r: print(json.dumps(r, indent=1))}[mode](results)


if __name__ == "__main__":
    main()

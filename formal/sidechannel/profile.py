#!/usr/bin/env python3
"""Comparable forms of a callgrind profile, for formal/sidechannel/callgrind.sh.

The profiles must be written with --dump-instr=yes --collect-jumps=yes
--compress-pos=no --compress-strings=no, so that every line names its object,
function and instruction address in full. Callgrind writes functions in an order
that depends on its hash tables, so two runs of the same code are compared after
sorting, function by function.

  profile.py canon FILE            prints FILE's canonical form: per function, the
                                   execution count of every instruction, every
                                   call (count, site, inclusive cost) and, after
                                   a "--- jumps" line, every jump with its counts
  profile.py functions A B         self Ir per function where B differs from A
"""

import sys

SKIP = ("# callgrind", "version:", "creator:", "pid:", "cmd:", "part:", "desc:",
        "positions:", "events:", "summary:", "totals:")


def parse(path):
    """{(object, function): (cost items, jump lines)}. A cost item is one cost
    line, or a call: the cob=/cfi=/cfn=/calls= lines and the inclusive cost line
    that follows them, joined. Source-file lines are dropped (the instruction
    address identifies the instruction)."""
    functions, key, ob, call = {}, None, "", []
    for line in open(path):
        line = line.rstrip()
        if not line or line.startswith(SKIP) or line.startswith(("fl=", "fi=", "fe=")):
            continue
        if line.startswith("ob="):
            ob = line[3:]
        elif line.startswith("fn="):
            key = (ob, line[3:])
            functions.setdefault(key, ([], []))
        elif key is not None:
            costs, jumps = functions[key]
            if line.startswith(("jump=", "jcnd=")):
                jumps.append(line)
            elif line.startswith(("cob=", "cfi=", "cfl=", "cfn=", "calls=")):
                call.append(line)
            elif call:
                costs.append(" | ".join(call + [line]))
                call = []
            else:
                costs.append(line)
    return functions


def self_cost(costs):
    """Self Ir of a function: its cost lines without the calls' inclusive costs."""
    return sum(int(item.split()[2]) for item in costs
               if " | " not in item and len(item.split()) == 3)


def canon(path):
    functions = parse(path)
    keys = sorted(functions)
    for ob, fn in keys:
        print(f"{ob} {fn}")
        for item in sorted(functions[(ob, fn)][0]):
            print(f"  {item}")
    print("--- jumps")
    for ob, fn in keys:
        for line in sorted(functions[(ob, fn)][1]):
            print(f"{fn} {line}")


def function_diff(a_path, b_path):
    a = {fn: self_cost(c) for (_, fn), (c, _) in parse(a_path).items()}
    b = {fn: self_cost(c) for (_, fn), (c, _) in parse(b_path).items()}
    diffs = [(b.get(f, 0) - a.get(f, 0), f) for f in set(a) | set(b)]
    for d, f in sorted((d for d in diffs if d[0]), key=lambda x: (-abs(x[0]), x[1])):
        print(f"    {d:+12,d}  {f}")


if __name__ == "__main__":
    try:
        if sys.argv[1:2] == ["canon"] and len(sys.argv) == 3:
            canon(sys.argv[2])
        elif sys.argv[1:2] == ["functions"] and len(sys.argv) == 4:
            function_diff(sys.argv[2], sys.argv[3])
        else:
            sys.exit(__doc__)
    except BrokenPipeError:
        pass

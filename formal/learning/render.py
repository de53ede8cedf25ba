#!/usr/bin/env python3
"""Renders a Mealy machine (AALpy DOT) as a readable graph for graphviz.

  formal/learning/render.py MACHINE.dot [--names EXPECTED.dot] | dot -Tsvg > MACHINE.svg

Parallel transitions are merged into one edge listing its `input/output`
pairs, and the sink's self-loops (every input answered `Closed`) are left
out. With --names, each state of MACHINE is named after the state of
EXPECTED it corresponds to (the two are explored together from their initial
states along the transitions both answer alike; a state met with two
different partners keeps its own name), so a
learned rsatls machine shows the table's state names.
"""

import sys
from collections import deque

from aalpy.utils import load_automaton_from_file


def names_from(machine, expected):
    pairs = {}
    queue = deque([(machine.initial_state, expected.initial_state)])
    seen = set()
    while queue:
        a, b = queue.popleft()
        if (a.state_id, b.state_id) in seen:
            continue
        seen.add((a.state_id, b.state_id))
        pairs.setdefault(a.state_id, set()).add(b.state_id)
        for inp, na in a.transitions.items():
            nb = b.transitions.get(inp)
            # Only along transitions both answer alike: past a difference the
            # two machines are no longer in corresponding states.
            if nb is not None and a.output_fun[inp] == b.output_fun[inp]:
                queue.append((na, nb))
    return {s: next(iter(bs)) for s, bs in pairs.items() if len(bs) == 1}


def render(machine, names):
    lines = [f'digraph "{machine.initial_state.state_id}" {{',
             "rankdir=TB; node [shape=ellipse fontname=Helvetica fontsize=11];",
             "edge [fontname=Helvetica fontsize=9];"]
    for state in machine.states:
        name = names.get(state.state_id, state.state_id)
        style = " peripheries=2" if state is machine.initial_state else ""
        lines.append(f'{state.state_id} [label="{name}"{style}];')
    for state in machine.states:
        edges = {}
        for inp, nxt in state.transitions.items():
            out = str(state.output_fun[inp])
            if nxt is state and out == "Closed":
                continue
            edges.setdefault(nxt.state_id, []).append(f"{inp} / {out}")
        for nxt, labels in edges.items():
            label = "\\l".join(labels) + "\\l"
            lines.append(f'{state.state_id} -> {nxt} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    args = sys.argv[1:]
    expected = None
    if "--names" in args:
        i = args.index("--names")
        expected = load_automaton_from_file(args[i + 1], "mealy")
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    machine = load_automaton_from_file(args[0], "mealy")
    names = names_from(machine, expected) if expected else {}
    sys.stdout.write(render(machine, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())

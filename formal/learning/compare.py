#!/usr/bin/env python3
"""Compares a learned Mealy machine with an expected one.

  formal/learning/compare.py [--all] LEARNED.dot EXPECTED.dot

The expected machine (formal/learning/expected/, derived from
src/state_table.rs by tests/learned_models.rs) is first restricted to the
learned machine's input alphabet: only the transitions on those inputs, from
the initial state. The two are then explored together, breadth first, from
their initial states; the first input word on which their outputs differ is
the shortest distinguishing word, printed with both machines' outputs along
it. Exit status 0 when the machines are equivalent, 1 when they differ, 2
when the files cannot be compared (an input of the learned machine the
expected one lacks). With --all, every reachable pair of states that answers
an input differently is listed first (the product is not followed past a
difference), to explain how two implementations differ.
"""

import sys
from collections import deque

from aalpy.utils import load_automaton_from_file


def transitions(machine):
    """{state id: {input: (output, next state id)}} and the initial state id."""
    table = {}
    for state in machine.states:
        table[state.state_id] = {
            inp: (str(state.output_fun[inp]), nxt.state_id)
            for inp, nxt in state.transitions.items()
        }
    return table, machine.initial_state.state_id


def inputs_of(table):
    return sorted({i for row in table.values() for i in row})


def restrict(table, initial, alphabet):
    """The part of `table` reachable from `initial` over `alphabet` only."""
    keep, todo = {}, [initial]
    while todo:
        s = todo.pop()
        if s in keep:
            continue
        keep[s] = {i: table[s][i] for i in alphabet if i in table[s]}
        todo.extend(nxt for _, nxt in keep[s].values())
    return keep


def distinguish(a, a0, b, b0, alphabet):
    """Shortest word on which a and b answer differently, as
    [(input, output of a, output of b)], or None if they are equivalent."""
    parent = {(a0, b0): None}
    queue = deque([(a0, b0)])
    while queue:
        pair = queue.popleft()
        sa, sb = pair
        for inp in alphabet:
            out_a, na = a[sa][inp]
            out_b, nb = b[sb][inp]
            step = (inp, out_a, out_b)
            if out_a != out_b:
                word = [step]
                back = pair
                while parent[back] is not None:
                    back, prev_step = parent[back]
                    word.append(prev_step)
                return list(reversed(word))
            nxt = (na, nb)
            if nxt not in parent:
                parent[nxt] = (pair, step)
                queue.append(nxt)
    return None


def all_differences(a, a0, b, b0, alphabet):
    """Every reachable pair of states with an input they answer differently:
    [(access word, input, output of a, output of b)], shortest words first.
    The product is not explored past a difference."""
    found = []
    parent = {(a0, b0): ()}
    queue = deque([(a0, b0)])
    while queue:
        pair = queue.popleft()
        for inp in alphabet:
            out_a, na = a[pair[0]][inp]
            out_b, nb = b[pair[1]][inp]
            if out_a != out_b:
                found.append((parent[pair], inp, out_a, out_b))
            elif (na, nb) not in parent:
                parent[(na, nb)] = parent[pair] + (inp,)
                queue.append((na, nb))
    return found


def compare(learned_path, expected_path, out=sys.stdout, every=False):
    learned, l0 = transitions(load_automaton_from_file(learned_path, "mealy"))
    expected, e0 = transitions(load_automaton_from_file(expected_path, "mealy"))
    alphabet = inputs_of(learned)
    missing = [i for i in alphabet if i not in inputs_of(expected)]
    if missing:
        print(f"{expected_path} has no input {', '.join(missing)}", file=out)
        return 2
    expected = restrict(expected, e0, alphabet)
    word = distinguish(learned, l0, expected, e0, alphabet)
    if word is None:
        print(f"equivalent over {len(alphabet)} inputs: {learned_path} "
              f"({len(learned)} states) and {expected_path} restricted "
              f"({len(expected)} states before minimization)", file=out)
        return 0
    if every:
        for access, inp, out_l, out_e in all_differences(learned, l0, expected, e0, alphabet):
            print(f"after {' '.join(access) or '(start)'}: {inp} -> learned {out_l}, "
                  f"expected {out_e}", file=out)
    print(f"DIFFERENT: {learned_path} and {expected_path} disagree on the "
          f"{len(word)}-input word", file=out)
    print("  " + " ".join(i for i, _, _ in word), file=out)
    width = max(len(i) for i, _, _ in word)
    for inp, out_l, out_e in word:
        mark = "" if out_l == out_e else "   <-- differs"
        print(f"  {inp:<{width}}  learned: {out_l:<45} expected: {out_e}{mark}",
              file=out)
    return 1


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--all"]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(compare(args[0], args[1], every="--all" in sys.argv[1:]))

#!/bin/sh
# Instruction counts of the server's ClientKeyExchange path, per input class.
#
# Runs benches/cke_callgrind.rs under `valgrind --tool=callgrind` once per class,
# counting only the instructions executed inside
# `rsatls::bench_support::decrypt_premaster` (the whole path: stand-in, raw blinded
# RSA operation, padding/length/version check, selection), with the same server
# RNG seed for every class. Prints the total Ir per class and, for any class whose
# profile differs from the valid one's, the per-function difference.
#
# Exit status: 0 when a second valid run repeats the first exactly and every
# invalid class (random, wrong-length, wrong-version, bad-padding, short-47,
# no-separator; bad-padding also under a second server seed) has exactly the valid
# run's profile: the execution count of every instruction, every call and the
# counts of every jump (callgrind --dump-instr --collect-jumps, compared by
# formal/sidechannel/profile.py). 1 when any differs (a difference must then be
# explained: formal/README.md, "Side channels"); 2 on a setup failure. The
# informational runs (other server seeds, a ciphertext above the modulus) never
# change the status.
#
# Callgrind counts jumps outside the toggled symbol too, so the harness does the
# same work before and after the call for every class (all inputs built in every
# run, the class passed as one digit, the same output).
#
# Usage, from anywhere in the repository:
#   formal/sidechannel/callgrind.sh [OUTPUT_DIR]
# OUTPUT_DIR (default: a fresh temporary directory) keeps the callgrind .out files
# (for callgrind_annotate) and their canonical forms (.canon). Honours
# CARGO_TARGET_DIR. Needs valgrind and python3.
set -eu

cd "$(dirname "$0")/../.."
out=${1:-$(mktemp -d "${TMPDIR:-/tmp}/rsatls-callgrind.XXXXXX")}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "valgrind not found" >&2; exit 2; }

# Build the harness (bench profile: release with line tables) and find it.
bin=$(cargo bench --no-run --bench cke_callgrind --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*cke_callgrind[^"]*\)".*/\1/p' | tail -n 1)
[ -x "$bin" ] || { echo "could not build benches/cke_callgrind.rs" >&2; exit 2; }

symbol='rsatls::bench_support::decrypt_premaster*'
profile="python3 formal/sidechannel/profile.py"

# The harness's class indices (benches/common/cke.rs, Class::ALL): one digit for
# every class, so that the harness's argument handling, which callgrind's jump
# statistics see, is the same for all.
index() {
    case $1 in
    valid) echo 0 ;; random) echo 1 ;; wrong-length) echo 2 ;; wrong-version) echo 3 ;;
    bad-padding) echo 4 ;; short-47) echo 5 ;; no-separator) echo 6 ;; above-modulus) echo 7 ;;
    *) echo "unknown class $1" >&2; exit 2 ;;
    esac
}

# run NAME CLASS SEED: one callgrind run; prints NAME and its total Ir, and keeps
# the canonical profile (formal/sidechannel/profile.py) in NAME.canon.
run() {
    i=$(index "$2")
    valgrind --tool=callgrind --toggle-collect="$symbol" \
        --dump-instr=yes --collect-jumps=yes --compress-pos=no --compress-strings=no \
        --callgrind-out-file="$out/$1.out" -q "$bin" "$i" "$3" >"$out/$1.log" 2>&1 ||
        { cat "$out/$1.log" >&2; echo "$1: the harness failed" >&2; exit 2; }
    total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out/$1.out")
    [ -n "$total" ] && [ "$total" -gt 0 ] ||
        { echo "$1: nothing collected inside $symbol" >&2; exit 2; }
    printf '%-18s %-14s %4s %12s\n' "$1" "$2" "$3" "$total"
    echo "$total" >"$out/$1.ir"
    $profile canon "$out/$1.out" >"$out/$1.canon"
    sed '/^--- jumps$/q' "$out/$1.canon" >"$out/$1.instr"
}

# explain NAME: how NAME's profile differs from the valid run's.
explain() {
    echo "  self Ir per function ($1 - valid):"
    $profile functions "$out/valid.out" "$out/$1.out"
    echo "  first differences of the canonical profiles (valid <, $1 >):"
    diff "$out/valid.canon" "$out/$1.canon" | head -n 20 || true
}

start=$(date +%s)
printf '%-18s %-14s %4s %12s\n' run class seed Ir
run valid valid 1
run valid-again valid 1
# Every invalid class but above-modulus (whose cost differs, by design, on public
# data: the provider refuses a representative >= n before any arithmetic).
invalid="random wrong-length wrong-version bad-padding short-47 no-separator"
for class in $invalid; do
    run "$class" "$class" 1
done
echo "-- informational: other server RNG seeds, and a public reject --"
run valid-seed2 valid 2
run bad-padding-seed2 bad-padding 2
run valid-seed3 valid 3
run above-modulus above-modulus 1

status=0
reference=$(cat "$out/valid.ir")
for name in valid-again $invalid; do
    if ! cmp -s "$out/valid.canon" "$out/$name.canon"; then
        status=1
        echo "DIFFERS: $name ($(($(cat "$out/$name.ir") - reference)) instructions)"
        explain "$name"
    fi
done
cmp -s "$out/valid-seed2.canon" "$out/bad-padding-seed2.canon" || {
    status=1
    echo "DIFFERS: bad-padding and valid under server seed 2"
}
for name in valid-seed2 valid-seed3 above-modulus; do
    cmp -s "$out/valid.canon" "$out/$name.canon" || {
        echo "(informational) $name: $(($(cat "$out/$name.ir") - reference)) instructions; self Ir per function ($name - valid):"
        $profile functions "$out/valid.out" "$out/$name.out" | head -n 8
    }
done
echo "callgrind files in $out; $(($(date +%s) - start)) s"
if [ "$status" = 0 ]; then
    echo "OK: every class has the valid run's profile: $reference instructions, each instruction and jump counted alike"
else
    echo "FAIL: the profiles differ between input classes"
fi
exit "$status"

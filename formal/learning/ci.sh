#!/usr/bin/env bash
# The CI learning check: learns `rsatls serve` over loopback with the reduced
# alphabet (ClientHelloEMS, ClientKeyExchange, ChangeCipherSpec, Finished,
# FinishedWrong, ApplicationData), and compares the learned machine with the
# one derived from src/state_table.rs (formal/learning/expected/server.dot,
# restricted to those inputs). Exits 1 on any difference, printing the
# shortest input word that tells them apart.
#
# Needs python3 with aalpy (PYTHON, default python3) and the release build of
# rsatls and of the wire mapper: `cargo build --release --bin rsatls --example wire_mapper`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
# The pipeline first, without a network (seconds): simulated learning gives
# each expected machine back, and compare.py catches a broken one.
"$PYTHON" formal/learning/selftest.py
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$PYTHON" formal/learning/learn.py --target rsatls-server --alphabet ci \
  --out "$out" --name server-ci "$@"
"$PYTHON" formal/learning/compare.py "$out/server-ci.dot" formal/learning/expected/server.dot

#!/usr/bin/env bash
# rsatls side by side with OpenSSL, on this machine, in one run.
#
#   scripts/bench-vs-openssl.sh     # prints Markdown, also saved to target/bench-vs-openssl/report.md
#
# 1. `openssl speed` (RSA 2048/3072, AES-128-GCM) against the matching criterion
#    benchmarks of both providers, run right after it (results kept apart from
#    `cargo bench`'s, in target/bench-vs-openssl/criterion).
# 2. Handshakes per second: `openssl s_time -new` against `rsatls serve` (both
#    builds) and against `openssl s_server`, same key, TLS 1.2, AES128-GCM-SHA256.
# 3. Bulk echo: `openssl s_client` pushes data through each server, which sends it
#    back (`rsatls serve` echoes; `s_server` is made to echo by looping its stdout
#    into its stdin through a FIFO, which adds two pipe copies per chunk to its work).
#
# For 2 and 3 the servers take turns, round by round, so machine load hits them
# alike, and each server's CPU time is read from /proc: on a shared machine the
# CPU per handshake and per GB are steadier than wall-clock rates.
#
# Needs: openssl, python3, cargo; libssl-dev and pkg-config for the fast build.
# Knobs: SPEED_SECONDS (3), STIME_SECONDS (5), BULK_MB (128), ROUNDS (3), PORT_BASE (44400),
# SKIP_PRIMITIVES=1 (servers only).
set -euo pipefail
cd "$(dirname "$0")/.."

SPEED_SECONDS=${SPEED_SECONDS:-3}
STIME_SECONDS=${STIME_SECONDS:-5}
BULK_MB=${BULK_MB:-128}
ROUNDS=${ROUNDS:-3}
PORT_BASE=${PORT_BASE:-44400}
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
OUT=$TARGET/bench-vs-openssl
CERT=tests/data/rsa2048.cert.pem
KEY=tests/data/rsa2048.key.pem
CIPHER=AES128-GCM-SHA256
mkdir -p "$OUT"
REPORT="$OUT/report.md"
: >"$REPORT"
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
log() { printf '%s\n' "$*" >&2; }

SPIDS=() # the servers this script started
cleanup() {
  for pid in "${SPIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# ---- builds --------------------------------------------------------------------
log "== building rsatls (RustCrypto, then fast)"
cargo build --release --quiet --bin rsatls
cp "$TARGET/release/rsatls" "$OUT/rsatls-rustcrypto"
cargo build --release --quiet --bin rsatls --features fast
cp "$TARGET/release/rsatls" "$OUT/rsatls-fast"
# The CLI takes crypto::default_provider(); this guards against a regression:
# `--features fast` does not change what `rsatls serve` runs.
if grep -q 'rustcrypto::default_provider' src/cli/serve.rs; then
  FAST_SERVE_NOTE=" (CLI still on RustCrypto, see below)"
else
  FAST_SERVE_NOTE=""
fi

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }
CLK_TCK=$(getconf CLK_TCK)

say "# rsatls vs OpenSSL, $(date -u '+%Y-%m-%d %H:%M UTC')"
say ""
say "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(openssl version); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
say ""

# ---- 1. primitives ---------------------------------------------------------------
if [ -z "${SKIP_PRIMITIVES:-}" ]; then
log "== openssl speed"
speed_rsa=$(openssl speed -seconds "$SPEED_SECONDS" rsa2048 rsa3072 2>/dev/null)
speed_gcm=$(openssl speed -seconds "$SPEED_SECONDS" -evp aes-128-gcm 2>/dev/null)
rsa_sign() { echo "$speed_rsa" | awk -v b="$1" '$1 == "rsa" && $2 == b {sub(/s$/, "", $4); print $4}'; } # s per op
gcm_kbs() { echo "$speed_gcm" | awk '/^AES-128-GCM/ {print $NF}' | tr -d k; }            # 16384-byte column, 1000 B/s

log "== criterion, both providers (short runs)"
export CRITERION_HOME="$OUT/criterion"
FILTER='rsa/raw_private_op/(2048|3072)$|aead/raw_seal/aes128/16384|record/(seal|open)/aes128/16384'
BENCH_ARGS=(--warm-up-time 0.5 --measurement-time 2 --sample-size 20 --noplot "$FILTER")
cargo bench --quiet --bench crypto -- "${BENCH_ARGS[@]}" >"$OUT/criterion-rustcrypto.log" 2>&1
cargo bench --quiet --bench crypto --features fast -- "${BENCH_ARGS[@]}" >"$OUT/criterion-fast.log" 2>&1
crit=$(python3 scripts/criterion-summary.py json "$CRITERION_HOME")
median() { echo "$crit" | python3 -c "import json,sys; r=json.load(sys.stdin).get('$1'); print(r['median_ns'] if r else 'nan')"; }

say "## Primitives (CPU time: \`openssl speed\` reports user CPU time, the benches thread CPU time)"
say ""
say "| operation | OpenSSL \`speed\` | rsatls RustCrypto | rsatls fast |"
say "|---|---:|---:|---:|"
for bits in 2048 3072; do
  o=$(rsa_sign "$bits")
  r=$(median "rsa/raw_private_op/$bits")
  f=$(median "fast/rsa/raw_private_op/$bits")
  say "$(python3 -c "
o, r, f = float('$o') * 1e3, float('$r') / 1e6, float('$f') / 1e6
print(f'| RSA {$bits} private op (OpenSSL: sign incl. padding) | {o:.3f} ms | {r:.3f} ms | {f:.3f} ms |')")"
done
g=$(gcm_kbs)
for id in "aead/raw_seal/aes128/16384" "record/seal/aes128/16384" "record/open/aes128/16384"; do
  r=$(median "$id")
  f=$(median "fast/$id")
  say "$(python3 -c "
g, r, f = float('$g') * 1e3 / 2**20, 16384 / (float('$r') / 1e9) / 2**20, 16384 / (float('$f') / 1e9) / 2**20
print(f'| AES-128-GCM 16 KiB, \`$id\` (OpenSSL: EVP update loop) | {g:,.0f} MiB/s | {r:,.0f} MiB/s | {f:,.0f} MiB/s |')")"
done
say ""
fi

# ---- servers ----------------------------------------------------------------------
start_rsatls() { # binary port -> pid
  "$1" serve --listen "127.0.0.1:$2" --cert "$CERT" --key "$KEY" >"$OUT/serve-$2.out" 2>"$OUT/serve-$2.err" &
  local pid=$!
  for _ in $(seq 100); do grep -q '^listening on' "$OUT/serve-$2.out" 2>/dev/null && break; sleep 0.1; done
  echo "$pid"
}
start_s_server() { # port -> pid; echoes through a FIFO (stdout -> stdin)
  local fifo="$OUT/s_server-$1.fifo"
  rm -f "$fifo"
  mkfifo "$fifo"
  openssl s_server -accept "127.0.0.1:$1" -cert "$CERT" -key "$KEY" -tls1_2 -cipher "$CIPHER" \
    -quiet -no_ticket 0<>"$fifo" 1>"$fifo" 2>"$OUT/s_server-$1.err" &
  local pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && break; sleep 0.1; done
  echo "$pid"
}

NAMES=("rsatls serve, RustCrypto" "rsatls serve, fast$FAST_SERVE_NOTE" "openssl s_server")
PORTS=($((PORT_BASE)) $((PORT_BASE + 1)) $((PORT_BASE + 2)))
SPIDS+=("$(start_rsatls "$OUT/rsatls-rustcrypto" "${PORTS[0]}")")
SPIDS+=("$(start_rsatls "$OUT/rsatls-fast" "${PORTS[1]}")")
SPIDS+=("$(start_s_server "${PORTS[2]}")")

# ---- 2. handshakes ------------------------------------------------------------------
log "== handshakes: openssl s_time -new, ${ROUNDS} rounds of ${STIME_SECONDS}s per server"
declare -A HS_N HS_T HS_CPU
for i in 0 1 2; do HS_N[$i]=0; HS_T[$i]=0; HS_CPU[$i]=0; done
for round in $(seq "$ROUNDS"); do
  for i in 0 1 2; do
    pid=${SPIDS[$i]}
    c0=$(ticks "$pid"); t0=$(now)
    n=$(openssl s_time -connect "127.0.0.1:${PORTS[$i]}" -new -time "$STIME_SECONDS" -tls1_2 -cipher "$CIPHER" 2>/dev/null |
      awk '/connections in .* real seconds/ {print $1; exit}')
    t1=$(now); c1=$(ticks "$pid")
    HS_N[$i]=$((HS_N[$i] + ${n:-0}))
    HS_T[$i]=$(python3 -c "print(${HS_T[$i]} + $t1 - $t0)")
    HS_CPU[$i]=$((HS_CPU[$i] + c1 - c0))
    log "   round $round ${NAMES[$i]}: ${n:-0} handshakes"
  done
done

say "## Handshakes: \`openssl s_time -new -tls1_2 -cipher $CIPHER\`, RSA 2048, ${ROUNDS}×${STIME_SECONDS} s each, servers taking turns"
say ""
say "| server | handshakes | handshakes/s (wall) | server CPU per handshake |"
say "|---|---:|---:|---:|"
for i in 0 1 2; do
  say "$(python3 -c "
n, t, cpu = ${HS_N[$i]}, ${HS_T[$i]}, ${HS_CPU[$i]} / $CLK_TCK
print(f'| ${NAMES[$i]} | {n} | {n / t:.1f} | {cpu / n * 1e3:.3f} ms |' if n else '| ${NAMES[$i]} | 0 | 0 | – |')")"
done
say ""

# ---- 3. bulk ------------------------------------------------------------------------
log "== bulk: ${BULK_MB} MB echoed through each server, ${ROUNDS} rounds"
declare -A BK_B BK_T BK_CPU
for i in 0 1 2; do BK_B[$i]=0; BK_T[$i]=0; BK_CPU[$i]=0; done
for round in $(seq "$ROUNDS"); do
  for i in 0 1 2; do
    pid=${SPIDS[$i]}
    c0=$(ticks "$pid"); t0=$(now)
    # -no_ign_eof: at the end of stdin the client closes, so the last few records
    # in flight may not come back; only bytes echoed are counted.
    got=$(head -c $((BULK_MB * 1048576)) /dev/zero |
      openssl s_client -connect "127.0.0.1:${PORTS[$i]}" -tls1_2 -cipher "$CIPHER" -quiet -no_ign_eof 2>/dev/null | wc -c)
    t1=$(now); c1=$(ticks "$pid")
    BK_B[$i]=$((BK_B[$i] + got))
    BK_T[$i]=$(python3 -c "print(${BK_T[$i]} + $t1 - $t0)")
    BK_CPU[$i]=$((BK_CPU[$i] + c1 - c0))
    log "   round $round ${NAMES[$i]}: $got bytes echoed"
  done
done

say "## Bulk echo: \`openssl s_client\` sends ${BULK_MB} MiB per round, the server returns it; ${ROUNDS} rounds, servers taking turns"
say ""
say "| server | MiB echoed | MB/s echoed (wall) | server CPU per GiB each way |"
say "|---|---:|---:|---:|"
for i in 0 1 2; do
  say "$(python3 -c "
b, t, cpu = ${BK_B[$i]}, ${BK_T[$i]}, ${BK_CPU[$i]} / $CLK_TCK
print(f'| ${NAMES[$i]} | {b / 2**20:,.0f} | {b / t / 1e6:.1f} | {cpu / (b / 2**30):.2f} s |' if b else '| ${NAMES[$i]} | 0 | 0 | – |')")"
done
say ""
if [ -n "$FAST_SERVE_NOTE" ]; then
  say "\"CLI still on RustCrypto\": src/cli/serve.rs builds its configuration with"
  say "\`rsatls::crypto::rustcrypto::default_provider()\`, so \`--features fast\` does not change the"
  say "provider \`rsatls serve\` uses; with \`rsatls::crypto::default_provider()\` it would."
  say ""
fi
say "Load average at end: $(cut -d' ' -f1-3 /proc/loadavg). Raw logs: $OUT/."
log "report: $REPORT"

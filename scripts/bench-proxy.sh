#!/usr/bin/env bash
# rsatls as a TLS front, side by side with stunnel4 and nginx (stream module), in one run.
#
#   scripts/bench-proxy.sh     # Markdown on stdout, also saved to target/bench-proxy/report.md
#
# Every server terminates TLS 1.2 AES128-GCM-SHA256 (RSA key exchange) with the same
# RSA-2048 key (tests/data/rsa2048.*) in front of the same upstream: the TCP echo of
# examples/tls_load.rs on loopback. rsatls runs as `rsatls proxy` (built with
# `--features fast`) when the binary has that subcommand, else as `rsatls serve`
# (echo, no upstream hop; the report says which).
#
# Fair setup: every server is pinned to core $SERVER_CORE and runs one worker
# (rsatls: TOKIO_WORKER_THREADS=1, plus the thread its accept loop runs on; nginx:
# worker_processes 1; stunnel4: its thread per connection, all on that one core);
# the load client (examples/tls_load.rs, one thread) and the echo upstream are
# pinned to core $CLIENT_CORE. Servers take turns, round by round; the tables give
# the median over rounds and the spread (min–max). Server CPU is utime+stime from
# /proc/PID/stat of the server and its children (nginx's worker), read before and
# after each measurement.
#
# Measured for each server:
#  - handshakes: at 1, 64 and 512 concurrent clients for $HS_SECONDS s each; every
#    connection is TCP connect, a full handshake (no tickets, no session IDs
#    offered), close_notify, close. Rate, p50/p99 latency (TCP connect + handshake,
#    seen by the client), server CPU per handshake.
#  - bulk: one connection sends $BULK_BYTES bytes and reads them back through the
#    echo (so that many bytes each way through the proxy); MB/s and server CPU per
#    GiB each way.
#  - idle: $IDLE_CONNS connections established (each checked with a 1-byte round
#    trip), then server RSS (VmRSS, summed over the server and its children)
#    after minus before, divided by the count.
#  - raw RSA: one RSA-2048 private-key operation of the fast provider
#    (`tls_load raw-op`, thread CPU time) on the server core, every round.
#
# Needs: cargo (libssl-dev, pkg-config for `fast`), python3, taskset, and
#   apt-get install -y stunnel4 nginx libnginx-mod-stream
# (a server whose binary is missing is left out). Runs outside CI.
# Knobs: ROUNDS (3), HS_SECONDS (5), BULK_BYTES (1 GiB), IDLE_CONNS (10000),
# IDLE_ROUNDS (1), PORT_BASE (24100; below the ephemeral port range), SERVER_CORE (0), CLIENT_CORE (1),
# SERVERS ("rsatls stunnel nginx"), RSATLS_MODE (proxy; serve to force the echo server),
# NO_BUILD=1 (use the binaries in target/release).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
HS_SECONDS=${HS_SECONDS:-5}
BULK_BYTES=${BULK_BYTES:-1073741824}
IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_ROUNDS=${IDLE_ROUNDS:-1}
PORT_BASE=${PORT_BASE:-24100}
SERVERS=${SERVERS:-"rsatls stunnel nginx"}
OUT=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/bench-proxy
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
RESULTS=$OUT/results.tsv
REPORT=$OUT/report.md
: >"$RESULTS"

# A proxy holds two descriptors per idle connection (client, upstream): raise the
# limit as far as allowed. Where the hard limit cannot be raised (a container
# without CAP_SYS_RESOURCE), fewer connections are opened: stunnel refuses
# clients beyond limit*125/256 ("too many clients"), so the count is capped there.
ulimit -Hn 200000 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
FD_LIMIT=$(ulimit -n)
IDLE_CAP=$((FD_LIMIT * 125 / 256 - 200))
if [ "$IDLE_CONNS" -gt "$IDLE_CAP" ]; then
  log "open-file limit $FD_LIMIT: idle connections capped at $IDLE_CAP (asked $IDLE_CONNS)"
  IDLE_CONNS=$IDLE_CAP
fi

bench_build
start_upstream

ACTIVE=()
for s in $SERVERS; do
  case $s in
    rsatls) start=(start_rsatls rsatls $((PORT_BASE + 1))) ;;
    stunnel) start=(start_stunnel $((PORT_BASE + 2))) ;;
    nginx) start=(start_nginx $((PORT_BASE + 3))) ;;
    *) log "unknown server $s"; exit 2 ;;
  esac
  if "${start[@]}"; then ACTIVE+=("$s"); PIDS+=("${PID[$s]}"); fi
done
log "== servers: ${ACTIVE[*]} (rsatls as $RSATLS_MODE)"


# ---- rounds ---------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
  raw=$("${ON_SERVER[@]}" "$OUT/tls_load" raw-op --key "$KEY_DER" --seconds 2)
  record raw "$round" rawop "$(kv "$raw" cpu_ms_per_op)"
  log "round $round: raw op $raw"
  for s in "${ACTIVE[@]}"; do
    for c in 1 64 512; do
      c0=$(ticks "${PID[$s]}")
      line=$(timeout $((HS_SECONDS + 60)) "${LOAD[@]}" handshakes --connect "127.0.0.1:${PORT[$s]}" --pin "$PIN" \
        --concurrency "$c" --seconds "$HS_SECONDS" 2>>"$OUT/load.err") || line="handshakes=0 errors=-1"
      c1=$(ticks "${PID[$s]}")
      n=$(kv "$line" handshakes)
      record hs "$round" "$s" "$c" "$n" "$(kv "$line" errors)" "$(kv "$line" rate)" \
        "$(kv "$line" p50_ms)" "$(kv "$line" p99_ms)" "$((c1 - c0))"
      log "round $round $s c=$c: $line cpu_ticks=$((c1 - c0))"
    done
    c0=$(ticks "${PID[$s]}")
    line=$(timeout 600 "${LOAD[@]}" bulk --connect "127.0.0.1:${PORT[$s]}" --pin "$PIN" --bytes "$BULK_BYTES" \
      2>>"$OUT/load.err") || line="bytes=0"
    c1=$(ticks "${PID[$s]}")
    record bulk "$round" "$s" "$(kv "$line" bytes)" "$(kv "$line" seconds)" "$((c1 - c0))"
    log "round $round $s bulk: $line cpu_ticks=$((c1 - c0))"
  done
done

for round in $(seq "$IDLE_ROUNDS"); do
  for s in "${ACTIVE[@]}"; do
    r0=$(rss_kb "${PID[$s]}")
    "${LOAD[@]}" idle --connect "127.0.0.1:${PORT[$s]}" --pin "$PIN" --count "$IDLE_CONNS" --hold 600 \
      >"$OUT/idle.out" 2>>"$OUT/load.err" &
    ipid=$!
    PIDS+=($ipid)
    got=0
    for _ in $(seq 1200); do
      grep -q '^established' "$OUT/idle.out" 2>/dev/null && { got=1; break; }
      kill -0 $ipid 2>/dev/null || break
      sleep 0.1
    done
    sleep 1
    r1=$(rss_kb "${PID[$s]}")
    kill $ipid 2>/dev/null || true
    wait $ipid 2>/dev/null || true
    if [ $got = 1 ]; then
      record idle "$round" "$s" "$IDLE_CONNS" "$r0" "$r1"
      log "idle $s: RSS $r0 -> $r1 kB for $IDLE_CONNS connections"
    else
      record idle "$round" "$s" 0 "$r0" "$r1"
      log "idle $s: failed to establish $IDLE_CONNS connections (see $OUT/load.err)"
    fi
    sleep 2 # let the server close them before the next one
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------
LABELS=""
for s in "${ACTIVE[@]}"; do LABELS+="$s=${LABEL[$s]}|"; done
python3 - "$RESULTS" "$CLK_TCK" "$LABELS" "$BULK_BYTES" >"$REPORT" <<EOF
import statistics as st, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
tck = float(sys.argv[2])
labels = dict(x.split("=", 1) for x in sys.argv[3].split("|") if x)
bulk_bytes = int(sys.argv[4])
order = list(labels)
def med(xs):
    xs = [x for x in xs if x == x]
    if not xs: return "–"
    m = st.median(xs)
    return (m, min(xs), max(xs))
def fmt(t, f="{:.1f}"):
    if t == "–": return t
    m, lo, hi = t
    return f"{f.format(m)} ({f.format(lo)}–{f.format(hi)})"
print("# rsatls proxy vs stunnel4 vs nginx, $(date -u '+%Y-%m-%d %H:%M UTC')")
print()
print("Machine: $(machine)."
      " Load average at start $LOAD_START, at end $LOAD_END. Servers on core $SERVER_CORE, load client and echo"
      " upstream on core $CLIENT_CORE; $ROUNDS rounds, servers taking turns; median (min–max) over rounds.")
print()
raw = [float(r[3]) for r in rows if r[0] == "raw"]
rawm = st.median(raw)
print(f"Raw RSA-2048 private-key operation, fast provider (OpenSSL libcrypto), thread CPU: "
      f"{rawm:.3f} ms median ({min(raw):.3f}–{max(raw):.3f}).")
print()
print(f"## Handshakes (TCP connect + full handshake + close_notify, ${HS_SECONDS} s per cell)")
print()
print("| server | clients | handshakes/s | p50 ms | p99 ms | server CPU per handshake, ms | ÷ raw op | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for s in order:
    for c in ("1", "64", "512"):
        hs = [r for r in rows if r[0] == "hs" and r[2] == s and r[3] == c]
        rate = med([float(r[6] or "nan") for r in hs])
        p50 = med([float(r[7] or "nan") for r in hs])
        p99 = med([float(r[8] or "nan") for r in hs])
        cpu = med([int(r[9]) / tck / int(r[4]) * 1e3 for r in hs if r[4] not in ("", "0")])
        ratio = "–" if cpu == "–" else f"{cpu[0] / rawm:.2f}×"
        err = sum(int(r[5] or 0) for r in hs)
        print(f"| {labels[s]} | {c} | {fmt(rate)} | {fmt(p50, '{:.2f}')} | {fmt(p99, '{:.2f}')} | {fmt(cpu, '{:.3f}')} | {ratio} | {err} |")
print()
print(f"## Bulk: {bulk_bytes / 2**30:g} GiB each way through the proxy, one connection")
print()
print("| server | MB/s each way | server CPU per GiB each way, s |")
print("|---|---:|---:|")
for s in order:
    b = [r for r in rows if r[0] == "bulk" and r[2] == s and r[3] not in ("", "0")]
    mbs = med([int(r[3]) / float(r[4]) / 1e6 for r in b])
    cpu = med([int(r[5]) / tck / (int(r[3]) / 2**30) for r in b])
    print(f"| {labels[s]} | {fmt(mbs)} | {fmt(cpu, '{:.2f}')} |")
print()
print("## Idle established connections (open-file limit $FD_LIMIT per process)")
print()
print("| server | connections | RSS before, MiB | RSS after, MiB | RSS per connection, KiB |")
print("|---|---:|---:|---:|---:|")
for s in order:
    for r in [r for r in rows if r[0] == "idle" and r[2] == s]:
        n, a, b = int(r[3]), int(r[4]), int(r[5])
        per = f"{(b - a) / n:.1f}" if n else "failed"
        print(f"| {labels[s]} | {n} | {a / 1024:.1f} | {b / 1024:.1f} | {per} |")
EOF
cat "$REPORT"
log "report: $REPORT; raw results: $RESULTS; logs: $OUT/"

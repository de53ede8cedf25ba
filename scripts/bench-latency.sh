#!/usr/bin/env bash
# Requests on established connections while new handshakes arrive: rsatls with the
# private-key operation inline, on a key pool, and on a PKCS#11 token, side by side
# with stunnel4 and nginx, in one run.
#
#   scripts/bench-latency.sh   # Markdown on stdout, also saved to target/bench-latency/report.md
#
# Servers and setup as in scripts/bench-proxy.sh (shared: scripts/bench-lib.sh):
# TLS 1.2 AES128-GCM-SHA256 with RSA key exchange in front of the TCP echo of
# examples/tls_load.rs; every server pinned to core $SERVER_CORE with one worker
# (rsatls: TOKIO_WORKER_THREADS=1; nginx: worker_processes 1; stunnel4: a thread
# per connection); the load client (one thread) and the echo on core $CLIENT_CORE.
# The rsatls variants:
#  - rsatls:        --private-key-ops inline (the RSA operation on the tokio worker)
#  - rsatls_pool:   --private-key-ops pool --key-threads $KEY_THREADS
#  - rsatls_pkcs11: the key in a SoftHSM2 token (--pkcs11-module, generated in the
#                   token, not extractable; the certificate issued by a throwaway CA
#                   for its public key), on the pool as above (the default for
#                   serve/proxy); left out when the binary has no PKCS#11.
# The pool threads are pinned with the rest of the server, to its one core. The
# servers and the client each run in a cpu cgroup with cpu.shares $CPU_SHARES (see
# bench-lib.sh; root only, else left out and said so): on a shared machine the
# pool server's second busy thread would otherwise win it a larger share of the
# core than the inline server gets, which is not the effect under test.
#
# Phase 1, maximum handshakes/s: `tls_load handshakes` with $HS_CLIENTS clients for
#   $HS_SECONDS s against each rsatls variant, in turns, $MAX_ROUNDS rounds. R = the
#   median of the inline variant's rates.
# Phase 2, latency: for each load in LOADS (percent of R; 0 = no handshakes) and each
#   server, in turns, $ROUNDS rounds: `tls_load latency` with $CLIENTS established
#   clients each sending a $REQUEST_BYTES-byte request $REQUEST_RATE times a second
#   (open loop, timed from the slot when the server is behind) while new handshakes
#   start at LOAD% of R per second by the clock (open loop), for $LAT_SECONDS s after
#   a 1 s warm-up. Every server gets the same absolute handshake rate.
# The report gives medians (min–max) over rounds, the server CPU used (utime+stime
# from /proc, server and children, over the whole cell: connection setup, warm-up,
# window and drain), the 1-minute load average at each cell's start, and the
# servers' thread counts.
#
# Needs what bench-proxy.sh needs (cargo, python3, taskset, stunnel4, nginx,
# libnginx-mod-stream), plus softhsm2 and opensc (pkcs11-tool) for the PKCS#11 row.
# Runs outside CI. Knobs: ROUNDS (3), MAX_ROUNDS (phase 1's rounds; 5), HS_SECONDS (5), HS_CLIENTS (64), LOADS ("0 50 90"),
# CLIENTS (64), REQUEST_RATE (10 per client), REQUEST_BYTES (64), LAT_SECONDS (10),
# KEY_THREADS (1), CPU_SHARES (65536; 0 = no cgroups), PORT_BASE (24200), SERVER_CORE (0), CLIENT_CORE (1),
# SERVERS ("rsatls rsatls_pool rsatls_pkcs11 stunnel nginx"), RATE (skip phase 1's
# choice of R and use this one), NO_BUILD=1, RSATLS_MODE (proxy).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
MAX_ROUNDS=${MAX_ROUNDS:-5}
HS_SECONDS=${HS_SECONDS:-5}
HS_CLIENTS=${HS_CLIENTS:-64}
LOADS=${LOADS:-"0 50 90"}
CLIENTS=${CLIENTS:-64}
REQUEST_RATE=${REQUEST_RATE:-10}
REQUEST_BYTES=${REQUEST_BYTES:-64}
LAT_SECONDS=${LAT_SECONDS:-10}
KEY_THREADS=${KEY_THREADS:-1}
PORT_BASE=${PORT_BASE:-24200}
SERVERS=${SERVERS:-"rsatls rsatls_pool rsatls_pkcs11 stunnel nginx"}
OUT=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/bench-latency
CPU_SHARES=${CPU_SHARES:-65536}
if grep -q '^pkcs11 *=' Cargo.toml; then CARGO_FEATURES=${CARGO_FEATURES:-fast,pkcs11}; fi
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
RESULTS=$OUT/results.tsv
REPORT=$OUT/report.md
: >"$RESULTS"
ulimit -n "$(ulimit -Hn)"

bench_build
start_upstream
HELP=$("$OUT/rsatls" serve --help 2>&1 || true)
has_flag() { grep -q -- "$1" <<<"$HELP"; }

# ---- a PKCS#11 token holding a key generated in it, and a certificate for it ----
P11_MODULE=${P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
P11_PIN=1234
setup_pkcs11() {
  has_flag --pkcs11-module || { log "rsatls has no --pkcs11-module: rsatls_pkcs11 left out"; return 1; }
  [ -f "$P11_MODULE" ] && command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null ||
    { log "softhsm2 or pkcs11-tool missing: rsatls_pkcs11 left out"; return 1; }
  local d=$OUT/pkcs11
  rm -rf "$d"
  mkdir -p "$d/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$d/tokens" >"$d/softhsm2.conf"
  export SOFTHSM2_CONF=$d/softhsm2.conf
  softhsm2-util --init-token --free --label bench --so-pin 87654321 --pin "$P11_PIN" >"$d/setup.log"
  # Sensitive and not extractable (pkcs11-tool's defaults for a generated private key).
  pkcs11-tool --module "$P11_MODULE" --token-label bench --login --pin "$P11_PIN" \
    --keypairgen --key-type rsa:2048 --label tls --id 01 >>"$d/setup.log" 2>&1
  pkcs11-tool --module "$P11_MODULE" --token-label bench --read-object --type pubkey --label tls \
    -o "$d/pub.der" >>"$d/setup.log" 2>&1
  # SubjectPublicKeyInfo (newer OpenSC) or PKCS#1 RSAPublicKey (older).
  openssl pkey -pubin -inform der -in "$d/pub.der" -out "$d/pub.pem" 2>/dev/null ||
    openssl rsa -RSAPublicKey_in -inform der -in "$d/pub.der" -pubout -out "$d/pub.pem"
  # A throwaway CA issues the leaf for the token's public key (the CSR's own key is discarded).
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -subj /CN=bench-ca -days 2 \
    2>>"$d/setup.log"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$d/throwaway.key" -out "$d/leaf.csr" -subj /CN=localhost \
    2>>"$d/setup.log"
  printf 'subjectAltName = DNS:localhost\nkeyUsage = critical, keyEncipherment\nextendedKeyUsage = serverAuth\n' \
    >"$d/leaf.ext"
  openssl x509 -req -in "$d/leaf.csr" -force_pubkey "$d/pub.pem" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -days 2 -extfile "$d/leaf.ext" -out "$d/leaf.pem" 2>>"$d/setup.log"
  rm -f "$d/throwaway.key" "$d/ca.key"
  P11_PINS="sha256//$(openssl pkey -pubin -in "$d/pub.pem" -outform der | openssl dgst -sha256 -binary | base64)"
  printf '%s\n' "$P11_PIN" >"$d/pin"
}

# ---- servers ---------------------------------------------------------------------------
INLINE=()
has_flag --private-key-ops && INLINE=(--private-key-ops inline)
declare -A CLIENT_PIN
ACTIVE=()
for s in $SERVERS; do
  CLIENT_PIN[$s]=$PIN
  case $s in
    rsatls) start=(start_rsatls rsatls $((PORT_BASE + 1)) "${INLINE[@]}") ;;
    stunnel) start=(start_stunnel $((PORT_BASE + 2))) ;;
    nginx) start=(start_nginx $((PORT_BASE + 3))) ;;
    rsatls_pool)
      has_flag --private-key-ops || { log "rsatls has no --private-key-ops: rsatls_pool left out"; continue; }
      start=(start_rsatls rsatls_pool $((PORT_BASE + 4)) --private-key-ops pool --key-threads "$KEY_THREADS") ;;
    rsatls_pkcs11)
      setup_pkcs11 || continue
      CLIENT_PIN[$s]=$P11_PINS
      start=(start_rsatls rsatls_pkcs11 $((PORT_BASE + 5)) --cert "$OUT/pkcs11/leaf.pem"
        --pkcs11-module "$P11_MODULE" --pkcs11-key 'pkcs11:token=bench;object=tls;type=private'
        --pkcs11-pin-file "$OUT/pkcs11/pin" --private-key-ops pool --key-threads "$KEY_THREADS") ;;
    *) log "unknown server $s"; exit 2 ;;
  esac
  if "${start[@]}"; then ACTIVE+=("$s"); PIDS+=("${PID[$s]}"); fi
done
LABEL[rsatls]+=", key inline"
[ -n "${PID[rsatls_pool]:-}" ] && LABEL[rsatls_pool]+=", key pool ($KEY_THREADS thread)"
[ -n "${PID[rsatls_pkcs11]:-}" ] && LABEL[rsatls_pkcs11]+=", key in SoftHSM2, pool ($KEY_THREADS thread)"
log "== servers: ${ACTIVE[*]}"
RSATLS_ACTIVE=()
for s in "${ACTIVE[@]}"; do case $s in rsatls*) RSATLS_ACTIVE+=("$s") ;; esac; done

load1() { cut -d' ' -f1 /proc/loadavg; }

# ---- phase 1: maximum handshakes/s -------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$MAX_ROUNDS"); do
  for s in "${RSATLS_ACTIVE[@]}"; do
    la=$(load1)
    c0=$(ticks "${PID[$s]}")
    line=$(timeout $((HS_SECONDS + 60)) "${LOAD[@]}" handshakes --connect "127.0.0.1:${PORT[$s]}" \
      --pin "${CLIENT_PIN[$s]}" --concurrency "$HS_CLIENTS" --seconds "$HS_SECONDS" 2>>"$OUT/load.err") ||
      line="handshakes=0 errors=-1"
    c1=$(ticks "${PID[$s]}")
    record max "$round" "$s" "$(kv "$line" handshakes)" "$(kv "$line" errors)" "$(kv "$line" rate)" \
      "$(kv "$line" p99_ms)" "$((c1 - c0))" "$la"
    log "round $round $s max: $line cpu_ticks=$((c1 - c0)) load=$la"
  done
done
if [ -z "${RATE:-}" ]; then
  RATE=$(awk -F'\t' '$1 == "max" && $3 == "rsatls" {print $6}' "$RESULTS" | sort -g |
    awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
fi
log "== R = $RATE handshakes/s"

# ---- phase 2: latency under handshakes at LOAD% of R ---------------------------------------
for round in $(seq "$ROUNDS"); do
  for load in $LOADS; do
    rate=$(awk -v r="$RATE" -v l="$load" 'BEGIN {printf "%.1f", r * l / 100}')
    for s in "${ACTIVE[@]}"; do
      la=$(load1)
      t0=$(date +%s.%N)
      c0=$(ticks "${PID[$s]}")
      line=$(timeout $((LAT_SECONDS + 120)) "${LOAD[@]}" latency --connect "127.0.0.1:${PORT[$s]}" \
        --pin "${CLIENT_PIN[$s]}" --clients "$CLIENTS" --request-rate "$REQUEST_RATE" \
        --request-bytes "$REQUEST_BYTES" --handshake-rate "$rate" --seconds "$LAT_SECONDS" \
        2>>"$OUT/load.err") || line="requests=0"
      c1=$(ticks "${PID[$s]}")
      wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
      # The tool's line keeps its spaces: it is the last field.
      printf 'lat\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$s" "$load" "$rate" "$((c1 - c0))" "$wall" "$la" \
        "$line" >>"$RESULTS"
      log "round $round $s load=$load% ($rate/s): $line cpu_ticks=$((c1 - c0)) load=$la"
      sleep 1 # the server closes the clients before the next cell
    done
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
THREADS=""
for s in "${ACTIVE[@]}"; do THREADS+="${LABEL[$s]}: $(threads "${PID[$s]}"); "; done
# Where each rsatls server's CPU went, by thread name, over the whole run.
PER_THREAD=""
for s in "${RSATLS_ACTIVE[@]}"; do
  PER_THREAD+="${LABEL[$s]}: $(for t in /proc/"${PID[$s]}"/task/*; do
    awk -v c="$(cat "$t/comm")" -v hz="$CLK_TCK" '{printf "%s %.1f s, ", c, ($14 + $15) / hz}' "$t/stat"
  done)"
  PER_THREAD="${PER_THREAD%, }; "
done

# ---- report -------------------------------------------------------------------------------
LABELS=""
for s in "${ACTIVE[@]}"; do LABELS+="$s=${LABEL[$s]}|"; done
python3 - "$RESULTS" "$CLK_TCK" "$LABELS" >"$REPORT" <<EOF
import statistics as st, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
tck = float(sys.argv[2])
labels = dict(x.split("=", 1) for x in sys.argv[3].split("|") if x)
def med(xs):
    xs = [x for x in xs if x == x]
    return (st.median(xs), min(xs), max(xs)) if xs else None
def fmt(t, f="{:.1f}"):
    if t is None: return "–"
    m, lo, hi = t
    return f"{f.format(m)} ({f.format(lo)}–{f.format(hi)})"
def kv(line):
    return dict(x.split("=", 1) for x in line.split() if "=" in x)
def num(d, k):
    try: return float(d[k])
    except (KeyError, ValueError): return float("nan")
print("# Private-key operations off the reactor, $(date -u '+%Y-%m-%d %H:%M UTC')")
print()
print("Machine: $(machine). Load average at start $LOAD_START, at end $LOAD_END."
      " Servers pinned to core $SERVER_CORE (rsatls: TOKIO_WORKER_THREADS=1, key pool $KEY_THREADS thread(s) on the same core;"
      " nginx: worker_processes 1; stunnel4: thread per connection), load client (one thread) and echo upstream on"
      " core $CLIENT_CORE; cpu cgroups with cpu.shares $CPU_SHARES for the servers and for the client (0: none)."
      " CPU by thread over the whole run: ${PER_THREAD%; }."
      " Threads per server at the end: ${THREADS%; }. $ROUNDS rounds, servers taking turns;"
      " median (min–max) over rounds.")
print()
print(f"## Maximum handshakes/s ($HS_CLIENTS clients, ${HS_SECONDS} s per cell, $MAX_ROUNDS rounds)")
print()
print("| server | handshakes/s | p99 ms | server CPU per handshake, ms | errors | load avg (1 min) |")
print("|---|---:|---:|---:|---:|---:|")
maxrate = {}
for s in labels:
    r = [x for x in rows if x[0] == "max" and x[2] == s]
    if not r: continue
    rate = med([float(x[5] or "nan") for x in r])
    maxrate[s] = rate
    cpu = med([int(x[7]) / tck / int(x[3]) * 1e3 for x in r if x[3] not in ("", "0")])
    la = med([float(x[8]) for x in r])
    print(f"| {labels[s]} | {fmt(rate)} | {fmt(med([float(x[6] or 'nan') for x in r]), '{:.1f}')} | "
          f"{fmt(cpu, '{:.3f}')} | {sum(int(x[4] or 0) for x in r)} | {fmt(la, '{:.2f}')} |")
print()
print(f"R = **$RATE handshakes/s** (median of the inline server's rates above).")
lat = {}
for load in "$LOADS".split():
    rs = [x for x in rows if x[0] == "lat" and x[3] == load]
    if not rs: continue
    print()
    print(f"## Requests ($CLIENTS clients × $REQUEST_RATE/s, $REQUEST_BYTES bytes, ${LAT_SECONDS} s) with new handshakes at {load} % of R ({rs[0][4]}/s)")
    print()
    print("| server | p50 ms | p99 ms | p99.9 ms | max ms | requests | handshakes/s done | hs failed / late / skipped | hs p99 ms | server CPU % | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in labels:
        r = [x for x in rs if x[2] == s]
        if not r: continue
        d = [kv(x[8]) for x in r]
        p = {k: med([num(v, k) for v in d]) for k in ("req_p50_ms", "req_p99_ms", "req_p999_ms", "req_max_ms", "requests", "hs_rate", "hs_p99_ms")}
        lat[(s, load)] = p
        bad = "/".join(str(sum(int(num(v, k)) if num(v, k) == num(v, k) else 0 for v in d)) for k in ("hs_failed", "hs_late", "hs_skipped"))
        cpu = med([int(x[5]) / tck / float(x[6]) * 100 for x in r])
        la = med([float(x[7]) for x in r])
        print(f"| {labels[s]} | {fmt(p['req_p50_ms'], '{:.2f}')} | {fmt(p['req_p99_ms'], '{:.2f}')} | "
              f"{fmt(p['req_p999_ms'], '{:.2f}')} | {fmt(p['req_max_ms'], '{:.1f}')} | {fmt(p['requests'], '{:.0f}')} | "
              f"{fmt(p['hs_rate'])} | {bad} | {fmt(p['hs_p99_ms'], '{:.1f}')} | {fmt(cpu, '{:.0f}')} | {fmt(la, '{:.2f}')} |")
print()
print("## Goals")
print()
def goal(name, ok, text):
    print(f"| {name} | {'**met**' if ok else '**missed**'}: {text} |")
print("| goal | result |")
print("|---|---|")
top = max("$LOADS".split(), key=float)
a, b = lat.get(("rsatls_pool", top)), lat.get(("rsatls", top))
if a and b:
    x, y = a["req_p99_ms"][0], b["req_p99_ms"][0]
    goal(f"at {top} %, pool p99 ≤ ½ inline p99", x <= y / 2, f"{x:.2f} vs {y:.2f} ms ({x / y:.2f}×)")
a, b = maxrate.get("rsatls_pool"), maxrate.get("rsatls")
if a and b:
    goal("pool max handshakes/s within 5 % of inline", a[0] >= 0.95 * b[0], f"{a[0]:.0f} vs {b[0]:.0f}/s ({a[0] / b[0] - 1:+.1%})")
a = maxrate.get("rsatls_pkcs11")
if a and b:
    print(f"| PKCS#11 (SoftHSM2) vs in-process key, max handshakes/s | {a[0]:.0f} vs {b[0]:.0f}/s ({a[0] / b[0]:.2f}×) |")
EOF
cat "$REPORT"
log "report: $REPORT; raw results: $RESULTS; logs: $OUT/"

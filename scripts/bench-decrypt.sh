#!/usr/bin/env bash
# `rsatls decrypt` against tshark on the same large captures, same key, same run.
#
#   scripts/bench-decrypt.sh captures   # make the captures under $DATA (once; minutes)
#   scripts/bench-decrypt.sh measure    # time tshark and rsatls on them; Markdown on stdout
#   scripts/bench-decrypt.sh            # both
#
# The captures: one TLS 1.2 session each (RSA key exchange, EMS, as OpenSSL 3.0
# negotiates by default), `openssl s_client` sending $SIZE MiB from /dev/urandom
# to `openssl s_server` (tests/data/rsa2048.*), recorded by tcpdump with the full
# snaplen and a 64 MiB kernel buffer; a capture whose tcpdump reports dropped
# packets is an error. Two link set-ups:
#  - lo: the loopback interface, MTU 65536, so segments of up to 64 KiB;
#  - veth: a veth pair between two network namespaces of this script's own,
#    MTU 1500 with TSO/GSO/GRO off, so every segment is one 1448-byte MSS, as on
#    Ethernet. The machine's own loopback MTU is left alone.
# Each capture's name says its set-up, suite and size (lo-aes128-1024M.pcap);
# next to it, NAME.sha256 is the SHA-256 of the bytes the client sent.
#
# The measurement, $RUNS runs of each tool on each capture (interleaved), median:
#  - tshark: `tshark -r CAP -o 'uat:rsa_keys:"KEY",""' -T fields -e tls.app_data`
#    (every decrypted application data record, as hex, one line per packet) to
#    /dev/null;
#  - rsatls: `rsatls decrypt CAP --key KEY --data-only` (raw plaintext) and
#    `rsatls decrypt CAP --key KEY` (the human output), to /dev/null.
# Each under /usr/bin/time -v: wall, user+sys CPU, peak RSS. Before the timings,
# both tools' output is checked once on every capture: rsatls --data-only's
# bytes must hash to NAME.sha256, and tshark's hex must decode to the same bytes
# (so both really decrypt, and all of it).
#
# Knobs: DATA (/work/bench-data), SIZES ("100 1024", MiB), SUITES ("aes128
# aes256"), LINKS ("lo veth"), RUNS (3), TSHARK_MAX_MB (largest capture tshark is
# timed on; default: all), NO_BUILD=1 (use target/release/rsatls as is),
# CARGO_FEATURES (default features; e.g. fast), PORT (24900).
# Needs: tcpdump, tshark, openssl, ethtool, iproute2, /usr/bin/time (GNU time),
# python3; root (tcpdump, network namespaces). Runs outside CI.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-/work/bench-data}
SIZES=${SIZES:-100 1024}
SUITES=${SUITES:-aes128 aes256}
LINKS=${LINKS:-lo veth}
RUNS=${RUNS:-3}
TSHARK_MAX_MB=${TSHARK_MAX_MB:-999999}
PORT=${PORT:-24900}
BUFFER_KIB=${BUFFER_KIB:-524288}
CERT=$PWD/tests/data/rsa2048.cert.pem
KEY=$PWD/tests/data/rsa2048.key.pem
NS_SERVER=rsatls-bench-srv
NS_CLIENT=rsatls-bench-cli
mkdir -p "$DATA"
log() { printf '%s\n' "$*" >&2; }

cipher_of() {
  case $1 in
    aes128) echo AES128-GCM-SHA256 ;;
    aes256) echo AES256-GCM-SHA384 ;;
    *) log "unknown suite $1"; exit 2 ;;
  esac
}

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$NS_SERVER" 2>/dev/null || true
  ip netns del "$NS_CLIENT" 2>/dev/null || true
}
trap cleanup EXIT

wait_line() { # file pattern
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  log "timed out waiting for '$2' in $1"; return 1
}

# ---- captures -------------------------------------------------------------------------

# Two namespaces joined by a veth pair at MTU 1500, offloads off: the server at
# 10.99.0.1 in $NS_SERVER, the client at 10.99.0.2 in $NS_CLIENT.
veth_up() {
  ip netns del "$NS_SERVER" 2>/dev/null || true
  ip netns del "$NS_CLIENT" 2>/dev/null || true
  ip netns add "$NS_SERVER"
  ip netns add "$NS_CLIENT"
  ip link add rsb-srv netns "$NS_SERVER" type veth peer name rsb-cli netns "$NS_CLIENT"
  ip -n "$NS_SERVER" addr add 10.99.0.1/24 dev rsb-srv
  ip -n "$NS_CLIENT" addr add 10.99.0.2/24 dev rsb-cli
  for side in "$NS_SERVER rsb-srv" "$NS_CLIENT rsb-cli"; do
    set -- $side
    ip -n "$1" link set "$2" mtu 1500 up
    ip -n "$1" link set lo up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  done
}

# capture LINK SUITE MIB
capture() {
  local link=$1 suite=$2 mib=$3
  local name="$link-$suite-${mib}M"
  local cap="$DATA/$name.pcap" err="$DATA/$name.tcpdump.err"
  local on_server=() on_client=() iface=lo host=127.0.0.1
  if [ "$link" = veth ]; then
    veth_up
    on_server=(ip netns exec "$NS_SERVER")
    on_client=(ip netns exec "$NS_CLIENT")
    iface=rsb-srv
    host=10.99.0.1
  fi
  log "== capture $name"
  "${on_server[@]}" tcpdump -i "$iface" -s 0 -B "$BUFFER_KIB" -w "$cap" "tcp port $PORT" 2>"$err" &
  local dump=$!
  PIDS+=($dump)
  wait_line "$err" 'listening on'
  # s_server stops at the end of its stdin: give it one that never ends (a fifo
  # this shell holds open for writing).
  rm -f "$DATA/.stdin"
  mkfifo "$DATA/.stdin"
  exec 7<>"$DATA/.stdin"
  "${on_server[@]}" openssl s_server -accept "$host:$PORT" -cert "$CERT" -key "$KEY" \
    -cipher "$(cipher_of "$suite")" -no_tls1_3 -naccept 1 -quiet <&7 >/dev/null 2>"$DATA/$name.server.err" &
  local server=$!
  PIDS+=($server)
  # Listening? (ss, not a probe connection: that would be one more connection in the capture.)
  for _ in $(seq 100); do
    [ -n "$("${on_server[@]}" ss -Hltn "sport = :$PORT")" ] && break
    sleep 0.05
  done
  # -quiet implies -ign_eof; -no_ign_eof after it makes s_client close at the end
  # of its input; -nocommands keeps it from reading a line that starts with Q or R
  # (random data does) as "quit" or "renegotiate".
  head -c "${mib}M" /dev/urandom | tee >(sha256sum | cut -d' ' -f1 >"$DATA/$name.sha256") |
    "${on_client[@]}" openssl s_client -connect "$host:$PORT" -cipher "$(cipher_of "$suite")" \
      -no_tls1_3 -quiet -no_ign_eof -nocommands >/dev/null 2>"$DATA/$name.client.err"
  wait "$server" 2>/dev/null || true
  exec 7>&-
  rm -f "$DATA/.stdin"
  # tcpdump hands over what the kernel filled at most a second ago: let it.
  sleep 2
  kill -INT "$dump"
  wait "$dump" 2>/dev/null || true
  if [ "$link" = veth ]; then
    ip netns del "$NS_SERVER"
    ip netns del "$NS_CLIENT"
  fi
  local dropped
  dropped=$(awk '/dropped by kernel/ {print $1}' "$err")
  log "$(grep -E 'captured|dropped' "$err" | tr '\n' ';')"
  if [ "$dropped" != 0 ]; then
    log "tcpdump dropped $dropped packets: $cap is incomplete"
    mv "$cap" "$cap.dropped"
    return 1
  fi
}

captures() {
  for link in $LINKS; do
    for suite in $SUITES; do
      for mib in $SIZES; do
        capture "$link" "$suite" "$mib"
      done
    done
  done
}

# ---- measurement ----------------------------------------------------------------------

OUT=target/bench-decrypt
RESULTS=${RESULTS:-$OUT/results.tsv}
RSATLS=$OUT/rsatls

# The command of each tool on a capture. tshark's decrypted application data is
# the `data.data` field (the TLS payload of an unknown protocol, dissected as
# "data"): `tls.app_data` is the record's *encrypted* payload, printed whether or
# not tshark decrypts. `follow,tls,raw` prints the decrypted stream as hex.
# `-d tls.port==PORT,data` hands every decrypted record to the "data" dissector:
# without it, tshark's heuristic dissectors try each record first, and on random
# bytes one of them (CredSSP) sometimes claims a record and throws, and that
# record's plaintext is missing from both outputs (1 record of 12 800 in a 100 MiB
# capture here). `tcp.reassemble_out_of_order:TRUE` (off by default in 4.0):
# the loopback captures hold segments out of order and retransmitted (tcpdump
# sees a segment before the one it follows), and without it tshark decrypts
# nothing past the first such place (74 MB of the 1 GiB loopback capture).
tool_cmd() { # TOOL CAP
  case $1 in
    tshark-fields) echo tshark -n -r "$2" -o "uat:rsa_keys:\"$KEY\",\"\"" -o tcp.reassemble_out_of_order:TRUE -d "tls.port==$PORT,data" -T fields -e data.data ;;
    tshark-follow) echo tshark -n -r "$2" -o "uat:rsa_keys:\"$KEY\",\"\"" -o tcp.reassemble_out_of_order:TRUE -d "tls.port==$PORT,data" -q -z follow,tls,raw,0 ;;
    rsatls-data) echo "$RSATLS" decrypt "$2" --key "$KEY" --data-only ;;
    rsatls-human) echo "$RSATLS" decrypt "$2" --key "$KEY" ;;
    *) log "unknown tool $1"; exit 2 ;;
  esac
}
run_tool() { # TOOL CAP: the command, its stdout on stdout
  local cmd
  cmd=$(tool_cmd "$1" "$2")
  # shellcheck disable=SC2086 # the command's words (no spaces in the paths)
  $cmd 2>/dev/null
}

# The SHA-256 of the plaintext a tool printed (the client's bytes: the server
# sends none), or "-" for the human output.
plaintext_sha256() { # TOOL CAP
  case $1 in
    rsatls-data) run_tool "$@" | sha256sum | cut -d' ' -f1 ;;
    # One line per frame, the records completed in that frame comma-separated.
    tshark-fields) run_tool "$@" | python3 -c '
import sys, hashlib
h = hashlib.sha256()
for line in sys.stdin:
    for rec in line.strip().split(","):
        if rec:
            h.update(bytes.fromhex(rec))
print(h.hexdigest())' ;;
    # The client's chunks are the unindented hex lines after the "Node 1:" header.
    tshark-follow) run_tool "$@" | python3 -c '
import sys, hashlib, string
h = hashlib.sha256()
body = False
for line in sys.stdin:
    if line.startswith("Node 1:"):
        body = True
    elif line.startswith("===="):
        body = False
    elif body and line.strip() and not line.startswith("\t"):
        h.update(bytes.fromhex(line.strip()))
print(h.hexdigest())' ;;
    *) run_tool "$@" >/dev/null && echo - ;;
  esac
}

# timed TOOL NAME CAP: one run under GNU time, a line appended to $RESULTS:
# date, capture, tool, wall s, CPU s (user+sys), peak RSS MiB, load average (1 min) before.
timed() {
  local tool=$1 name=$2 cap=$3 t load
  t=$(mktemp)
  load=$(cut -d' ' -f1 /proc/loadavg)
  local cmd
  cmd=$(tool_cmd "$tool" "$cap")
  # shellcheck disable=SC2086 # the command's words (no spaces in the paths)
  /usr/bin/time -v -o "$t" $cmd >/dev/null 2>"$OUT/last.err" || {
    log "$tool on $name failed: $(tail -3 "$OUT/last.err")"
    return 1
  }
  python3 - "$t" "$name" "$tool" "$load" >>"$RESULTS" <<'EOF'
import sys, datetime
f = dict(l.strip().rsplit(": ", 1) for l in open(sys.argv[1]) if ": " in l)
wall = f["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")
secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
cpu = float(f["User time (seconds)"]) + float(f["System time (seconds)"])
rss = int(f["Maximum resident set size (kbytes)"]) / 1024
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(now, sys.argv[2], sys.argv[3], f"{secs:.2f}", f"{cpu:.2f}", f"{rss:.1f}", sys.argv[4], sep="\t")
EOF
  rm -f "$t"
  tail -1 "$RESULTS" >&2
}

# The captures to measure: $CAPTURES (names), else every NAME.pcap under $DATA.
capture_names() {
  if [ -n "${CAPTURES:-}" ]; then
    echo "$CAPTURES"
  else
    for f in "$DATA"/*.pcap; do basename "$f" .pcap; done
  fi
}

measure() {
  mkdir -p "$OUT"
  local tools=${TOOLS:-tshark-fields tshark-follow rsatls-data rsatls-human}
  case $tools in
    *rsatls*)
      if [ -z "${NO_BUILD:-}" ]; then
        log "== building rsatls (${CARGO_FEATURES:-default features})"
        # shellcheck disable=SC2086 # optional words
        cargo build --release --quiet ${CARGO_FEATURES:+--features "$CARGO_FEATURES"} --bin rsatls
      fi
      cp target/release/rsatls "$RSATLS"
      ;;
  esac
  {
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC') measure: $tools; $RUNS runs"
    echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uname -r)"
    echo "# $(tshark --version 2>/dev/null | head -1)"
    echo "# rsatls $(git rev-parse --short HEAD) (${CARGO_FEATURES:-default features}); load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
  } >>"$RESULTS"
  local names=() name tool
  read -r -a names <<<"$(capture_names | tr '\n' ' ')"
  # tshark's limit: skip captures bigger than TSHARK_MAX_MB for tshark-*.
  skip() { [[ $1 == tshark-* ]] && [ "$(du -m "$DATA/$2.pcap" | cut -f1)" -gt "$TSHARK_MAX_MB" ]; }
  if [ "${VERIFY:-1}" = 1 ]; then
    for name in "${names[@]}"; do
      for tool in $tools; do
        skip "$tool" "$name" && continue
        local got want
        want=$(cat "$DATA/$name.sha256")
        got=$(plaintext_sha256 "$tool" "$DATA/$name.pcap")
        if [ "$got" != - ] && [ "$got" != "$want" ]; then
          log "$tool on $name: plaintext sha256 $got, the client sent $want"
          return 1
        fi
        log "$tool on $name: ${got/#-/runs} (sent $want)"
      done
    done
  fi
  for run in $(seq "$RUNS"); do
    for name in "${names[@]}"; do
      for tool in $tools; do
        skip "$tool" "$name" && continue
        timed "$tool" "$name" "$DATA/$name.pcap"
      done
    done
  done
  echo "# load average at end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"
}

# The table of every result in $RESULTS (medians per capture and tool), and each
# rsatls line's ratio to the faster tshark on the same capture.
report() {
  python3 - "$RESULTS" "$DATA" <<'EOF'
import os, subprocess, sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if not l.startswith("#")]
by = {}
for when, cap, tool, wall, cpu, rss, load in rows:
    by.setdefault(cap, {}).setdefault(tool, []).append((float(wall), float(cpu), float(rss), when))
print("| capture | tool | runs | wall s | MB/s | CPU s | peak RSS MiB | vs tshark (wall) |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for cap in sorted(by):
    size = os.path.getsize(os.path.join(sys.argv[2], cap + ".pcap"))
    med = {t: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs), max(r[2] for r in rs), len(rs))
           for t, rs in by[cap].items()}
    tsharks = [m[0] for t, m in med.items() if t.startswith("tshark")]
    best = min(tsharks) if tsharks else None
    for tool in sorted(med):
        wall, cpu, rss, n = med[tool]
        ratio = f"{best / wall:.1f}x" if best and tool.startswith("rsatls") else ""
        print(f"| {cap} ({size / 1e6:.0f} MB) | {tool} | {n} | {wall:.2f} | {size / 1e6 / wall:.0f} | {cpu:.2f} | {rss:.1f} | {ratio} |")
EOF
  echo
  echo "Medians over the runs (wall, CPU); peak RSS: the largest of the runs. MB/s: capture file bytes / wall s."
}

case ${1:-all} in
  captures) captures ;;
  measure) measure ;;
  report) report ;;
  all) captures; measure; report ;;
  *) log "usage: $0 [captures|measure|report|all]"; exit 2 ;;
esac

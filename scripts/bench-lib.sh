# Shared by scripts/bench-proxy.sh and scripts/bench-latency.sh (sourced, not run):
# the build, the pinning, the echo upstream, and how each server under test is
# started with the same key, certificate and suite.
#
# The sourcing script sets OUT (its output directory, under target/) and may set
# the knobs: PORT_BASE, SERVER_CORE (0), CLIENT_CORE (1), NO_BUILD=1,
# RSATLS_MODE (proxy; serve to force the echo server), CARGO_FEATURES (fast),
# CPU_SHARES (0: off; see below).
# It gets: log, PIDS (killed on exit), LOAD and ON_SERVER (command prefixes
# pinned to the client and the server core), wait_line, wait_port, ticks,
# rss_kb, threads, CLK_TCK, record/kv for the results file ($RESULTS),
# start_upstream, start_rsatls, start_stunnel, start_nginx, and the arrays
# PORT, PID, LABEL indexed by server name.

SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}
CARGO_FEATURES=${CARGO_FEATURES:-fast}
RSATLS_MODE=${RSATLS_MODE:-proxy}
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
CERT=$PWD/tests/data/rsa2048.cert.pem
KEY=$PWD/tests/data/rsa2048.key.pem
KEY_DER=$PWD/tests/data/rsa2048.key.der
PIN=$(cat tests/data/rsa2048.pin)
CIPHER=AES128-GCM-SHA256
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$OUT"
log() { printf '%s\n' "$*" >&2; }

# CPU_SHARES=N (cgroup v1 `cpu` controller, root only): the servers and the load
# client each run in a cgroup of their own with cpu.shares N (1024 is one ordinary
# thread's weight). On a machine shared with other work this gives each side its
# core when it wants it, and it makes a server's share of that core independent of
# how many threads it runs: without it, a server with a second busy thread (the key
# pool) gets two threads' worth of a contended core where an inline server gets one.
CPU_SHARES=${CPU_SHARES:-0}
cgroup() { # NAME: prints the directory of a new cpu cgroup, or nothing
  local dir=/sys/fs/cgroup/cpu/rsatls-bench-$1
  [ "$CPU_SHARES" != 0 ] || return 0
  if mkdir -p "$dir" 2>/dev/null && echo "$CPU_SHARES" >"$dir/cpu.shares" 2>/dev/null; then
    echo "$dir"
  else
    log "cannot create cgroup $dir: CPU_SHARES ignored"
  fi
}

PIDS=() # everything the script started
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$CPU_SHARES" = 0 ] || rmdir /sys/fs/cgroup/cpu/rsatls-bench-{client,server} 2>/dev/null || true
}
trap cleanup EXIT

# ---- builds ----------------------------------------------------------------------
bench_build() {
  if [ -z "${NO_BUILD:-}" ]; then
    log "== building rsatls ($CARGO_FEATURES) and the load client"
    # Separate invocations: the example pulls in dev-dependency features the binary must not have.
    cargo build --release --quiet --features "$CARGO_FEATURES" --bin rsatls
    cp "$TARGET/release/rsatls" "$OUT/rsatls"
    cargo build --release --quiet --features fast --example tls_load
    cp "$TARGET/release/examples/tls_load" "$OUT/tls_load"
  else
    cp "$TARGET/release/rsatls" "$OUT/rsatls"
    cp "$TARGET/release/examples/tls_load" "$OUT/tls_load"
  fi
  # A process enters its cgroup (if any) before it execs, so its children are in it too.
  printf '#!/bin/sh\n[ -z "$1" ] || echo $$ >"$1/cgroup.procs"\nshift\nexec "$@"\n' >"$OUT/in-cgroup"
  chmod +x "$OUT/in-cgroup"
  LOAD=("$OUT/in-cgroup" "$(cgroup client)" taskset -c "$CLIENT_CORE" "$OUT/tls_load")
  ON_SERVER=("$OUT/in-cgroup" "$(cgroup server)" taskset -c "$SERVER_CORE")
}

wait_line() { # file pattern [pid: give up as soon as it has exited]
  for _ in $(seq 400); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  log "timed out waiting for '$2' in $1"; return 1
}
wait_port() {
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  log "timed out waiting for port $1"; return 1
}
# CPU ticks, RSS (kB) and threads of a process and its direct children (nginx's worker).
family() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }
ticks() { local t=0; for p in $(family "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
rss_kb() { local t=0; for p in $(family "$1"); do t=$((t + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status"))); done; echo $t; }
threads() { local t=0; for p in $(family "$1"); do t=$((t + $(awk '/^Threads/ {print $2}' "/proc/$p/status"))); done; echo $t; }

record() { printf '%s\n' "$*" | tr ' ' '\t' >>"$RESULTS"; }
kv() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }

machine() { # one line: cores, CPU model, kernel, OpenSSL
  echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uname -r); $(openssl version)"
}

# ---- upstream ------------------------------------------------------------------------
start_upstream() { # the TCP echo every proxy forwards to, on PORT_BASE, on the client core
  UP_PORT=$PORT_BASE
  "${LOAD[@]}" echo --listen "127.0.0.1:$UP_PORT" >"$OUT/echo.out" 2>"$OUT/echo.err" &
  PIDS+=($!)
  wait_line "$OUT/echo.out" '^listening on'
}

# ---- servers -------------------------------------------------------------------------
declare -A PORT PID LABEL

# start_rsatls NAME PORT [ARGS...]: `rsatls proxy` (or `serve`, see RSATLS_MODE)
# on PORT with one tokio worker, pinned to the server core; ARGS are added to its
# command line. Without a --cert among them, it serves tests/data's RSA-2048 PEM
# certificate and key.
# Env RSATLS_ENV: extra VAR=VALUE words for its environment.
start_rsatls() {
  local name=$1 port=$2
  shift 2
  local keys=(--cert "$CERT" --key "$KEY")
  case " $* " in *" --cert "*) keys=() ;; esac
  local args=(--listen "127.0.0.1:$port" "${keys[@]}" --max-connections 50000 "$@")
  local mode=$RSATLS_MODE
  if [ "$mode" = proxy ]; then
    args=(proxy --upstream "127.0.0.1:$UP_PORT" "${args[@]}")
    LABEL[$name]="rsatls proxy (fast)"
  else
    args=(serve "${args[@]}")
    LABEL[$name]="rsatls serve (fast; echo, no upstream hop)"
  fi
  : >"$OUT/$name.out"
  # shellcheck disable=SC2086 # RSATLS_ENV is a list of words
  env TOKIO_WORKER_THREADS=1 ${RSATLS_ENV:-} "${ON_SERVER[@]}" "$OUT/rsatls" "${args[@]}" \
    >"$OUT/$name.out" 2>"$OUT/$name.err" &
  PID[$name]=$!
  PORT[$name]=$port
  if ! wait_line "$OUT/$name.out" '^listening on' "${PID[$name]}"; then
    kill "${PID[$name]}" 2>/dev/null || true
    # A binary whose `proxy` is not there yet: fall back to `serve`, and say so.
    if [ "$mode" = proxy ] && grep -q "unrecognized subcommand 'proxy'" "$OUT/$name.err"; then
      log "rsatls proxy did not start ($(tail -1 "$OUT/$name.err")): using rsatls serve"
      RSATLS_MODE=serve
      start_rsatls "$name" "$port" "$@"
    else
      log "$name did not start: $(tail -1 "$OUT/$name.err")"
      return 1
    fi
  fi
}

start_stunnel() { # PORT
  command -v stunnel4 >/dev/null || { log "stunnel4 missing: left out"; return 1; }
  local port=$1
  cat >"$OUT/stunnel.conf" <<EOF
foreground = yes
pid =
syslog = no
output = $OUT/stunnel.log
debug = warning
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
[bench]
accept = 127.0.0.1:$port
connect = 127.0.0.1:$UP_PORT
cert = $CERT
key = $KEY
sslVersionMin = TLSv1.2
sslVersionMax = TLSv1.2
ciphers = $CIPHER
options = NO_TICKET
EOF
  "${ON_SERVER[@]}" stunnel4 "$OUT/stunnel.conf" >"$OUT/stunnel.out" 2>&1 &
  PID[stunnel]=$!
  PORT[stunnel]=$port
  LABEL[stunnel]="stunnel4 $(stunnel4 -version 2>&1 | awk '/^stunnel/ {print $2; exit}')"
  wait_port "$port"
}

start_nginx() { # PORT
  command -v nginx >/dev/null || { log "nginx missing: left out"; return 1; }
  local mod=/usr/lib/nginx/modules/ngx_stream_module.so
  [ -f "$mod" ] || { log "libnginx-mod-stream missing: nginx left out"; return 1; }
  local port=$1
  mkdir -p "$OUT/nginx"
  cat >"$OUT/nginx/nginx.conf" <<EOF
load_module $mod;
worker_processes 1;
worker_rlimit_nofile 200000;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log warn;
events { worker_connections 60000; }
stream {
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2;
    ssl_ciphers $CIPHER;
    ssl_session_cache off;
    ssl_session_tickets off;
    proxy_pass 127.0.0.1:$UP_PORT;
  }
}
EOF
  "${ON_SERVER[@]}" nginx -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" -e "$OUT/nginx/error.log" -g 'daemon off;' \
    >"$OUT/nginx.out" 2>&1 &
  PID[nginx]=$!
  PORT[nginx]=$port
  LABEL[nginx]="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') (stream)"
  wait_port "$port"
}

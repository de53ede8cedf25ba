#!/usr/bin/env bash
# Model-checks the handshake state machines with spin (Debian package `spin`).
#
# The models are generated from rsatls::state_table by tests/promela.rs (which
# fails if they are stale). Each is checked in three configurations:
#   attack     client, server and an active attacker on the network (drops,
#              duplicates, reorders, injects: MAX_TAMPER of those in all, 2 by
#              default, MAX_TAMPER=3 for the long run, 26M states); checks
#              the assertions. Invalid end states are not errors here (-E): the
#              attacker can always starve a side.
#   honest     the network forwards faithfully; spin's deadlock check plus the
#              assertion that both sides complete.
#   no-oracle  two server copies in lockstep, one given a valid and one an
#              invalid ClientKeyExchange or a failed private-key operation;
#              their answers must agree until Finished.
# The server is the offloading one: after ClientKeyExchange it reads nothing
# until a nondeterministic completion of its private-key operation, while the
# attacker goes on (broken_decide_while_pending.pml reads on).
# Each mode runs twice: with the plain server, and with -DCLIENT_AUTH (modes
# named *+ca), where the server asks for a client certificate and the client
# sends one with its CertificateVerify.
# handshake.pml must pass all six; every broken_*.pml must fail at least one.
# Exit status 0 only if both hold.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# run MODEL MODE: checks one model in one mode, reports on stderr, prints the
# error count on stdout.
# gcc -O1: the generated pan.c (three machines' step functions) takes twice as
# long to compile at -O2, for no gain in the search's own run time here.
run() {
  local model="$1" mode="$2" defs="-DMAX_TAMPER=${MAX_TAMPER:-2}" panflags="-m1000000"
  case "$mode" in
    *+ca) defs="$defs -DCLIENT_AUTH" ;;
  esac
  case "${mode%+ca}" in
    attack) panflags="$panflags -E" ;;
    honest) defs="$defs -DHONEST" ;;
    no-oracle) defs="$defs -DNO_ORACLE" ;;
  esac
  (cd "$work" && cp "$here/$model" m.pml && spin $defs -a m.pml >/dev/null \
    && gcc -O1 -DSAFETY -DCOLLAPSE -DMEMLIM=4000 -o pan pan.c && ./pan $panflags > out.txt 2>&1) || true
  local errors
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$work/out.txt" | head -n 1)
  local states
  states=$(sed -n 's/^ *\([0-9]*\) states, stored.*/\1/p' "$work/out.txt" | head -n 1)
  local why
  why=$(grep -m1 -E "^pan:1:" "$work/out.txt" || true)
  printf '%-40s %-10s errors=%s states=%s %s\n' "$model" "$mode" "${errors:-?}" "${states:-?}" "$why" >&2
  echo "${errors:-1}"
}

status=0
modes="attack honest no-oracle attack+ca honest+ca no-oracle+ca"
for mode in $modes; do
  if [ "$(run handshake.pml "$mode")" != "0" ]; then
    echo "FAIL: handshake.pml violates a property in mode $mode" >&2
    status=1
  fi
done
for broken in "$here"/broken_*.pml; do
  name="$(basename "$broken")"
  caught=0
  for mode in $modes; do
    # One violation is enough to show the check sees the break; the remaining
    # modes are skipped to keep CI short.
    if [ "$(run "$name" "$mode")" != "0" ]; then caught=1; break; fi
  done
  if [ "$caught" = 0 ]; then
    echo "FAIL: $name (a deliberately broken model) passed every check" >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "spin: handshake.pml holds in every mode; every broken variant is caught" >&2
exit "$status"

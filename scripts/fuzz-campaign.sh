#!/usr/bin/env bash
# The long fuzzing campaign: nightly libFuzzer with
# AddressSanitizer, one target after another at nice 19, so that it takes only the
# CPU nobody else wants. One invocation gives every chosen target the same wall
# time; the CPU it really got is appended to fuzz/campaign/ledger.csv, so runs in
# later sessions add up until every target has had --until-cpu CPU-seconds (the
# issue asks for 1 CPU-hour each). After each target its committed corpus is
# minimized against what the run found (see cmin_target). See fuzz/README.md,
# "Long campaigns".
#
#   scripts/fuzz-campaign.sh [-t SECS] [-j JOBS] [--until-cpu SECS] [--no-cmin] [TARGET...]
#   scripts/fuzz-campaign.sh --totals
#
# -t SECS         wall seconds per target (default 180)
# -j JOBS         targets fuzzed at the same time (default 1; each at nice 19)
# --until-cpu S   skip targets whose ledger total reaches S CPU-seconds (default 3600)
# --no-cmin       leave fuzz/corpus alone
# --cmin-only     fuzz nothing: only merge the scratch corpora of earlier runs into fuzz/corpus
# --sanitizer S   address (default; falls back to none per target when it does not build) or none
# --totals        print the ledger's per-target totals and what remains, then exit
# --report STAMP  print a markdown table of campaign STAMP (a fuzz/campaign/ directory)
#                 with the ledger's totals, for formal/README.md, then exit
# TARGET...       default: every target of `cargo fuzz list`, least ledger CPU first
#
# Output: fuzz/target/campaign/<target>.log (the libFuzzer log, every line prefixed
# with the seconds since the start), fuzz/campaign/<stamp>/ (series/<target>.csv:
# coverage over time; growth.csv and growth.md: coverage at start, 1, 5, 15, 60 min
# and at the end, runs, CPU seconds, corpus sizes), fuzz/campaign/ledger.csv.
set -euo pipefail

# The body is one brace group, parsed whole before it runs, so that editing this
# file while a campaign runs cannot change what the running campaign does.
{
cd "$(git rev-parse --show-toplevel)"

per_target=180
jobs=1
until_cpu=3600
cmin=1
sanitizer=address
totals_only=0
cmin_only=0
report=
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -t) per_target=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --until-cpu) until_cpu=$2; shift 2 ;;
    --no-cmin) cmin=0; shift ;;
    --cmin-only) cmin_only=1; shift ;;
    --sanitizer) sanitizer=$2; shift 2 ;;
    --totals) totals_only=1; shift ;;
    --report) report=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$sanitizer" in address|none) ;; *) echo "--sanitizer: address or none" >&2; exit 2 ;; esac

ledger=fuzz/campaign/ledger.csv
ledger_header=date,commit,target,sanitizer,wall_s,cpu_s,runs,cov_start,cov_end,crashes
mkdir -p fuzz/campaign
[ -s "$ledger" ] || echo "$ledger_header" >"$ledger"

# CPU-seconds per target in the ledger, "target cpu_s" lines.
ledger_cpu() {
  awk -F, 'NR > 1 { cpu[$3] += $6 } END { for (t in cpu) printf "%s %.0f\n", t, cpu[t] }' "$ledger"
}

print_totals() {
  echo "target,runs,cpu_s,remaining_to_${until_cpu}_s,cov_first,cov_last,crashes"
  awk -F, -v goal="$until_cpu" 'NR > 1 {
      if (!($3 in cpu)) { first[$3] = $8; order[++n] = $3 }
      cpu[$3] += $6; runs[$3] += $7; last[$3] = $9; crashes[$3] += $10
    } END {
      for (i = 1; i <= n; i++) { t = order[i]; left = goal - cpu[t]; if (left < 0) left = 0
        printf "%s,%d,%.0f,%.0f,%s,%s,%d\n", t, runs[t], cpu[t], left, first[t], last[t], crashes[t] }
    }' "$ledger" | sort
}

if [ "$totals_only" = 1 ]; then
  print_totals
  exit 0
fi

# This campaign's growth.csv joined with the ledger's totals (the corpus size
# after a later --cmin-only, column 16, when someone added it).
if [ -n "$report" ]; then
  growth=fuzz/campaign/$report/growth.csv
  [ -f "$growth" ] || { echo "no $growth" >&2; exit 2; }
  echo "| target | sanitizer | CPU s (wall s) | CPU s in the ledger | left to $until_cpu | runs | cov start → end | 1 min | 5 min | 15 min | corpus files before → after cmin | crashes |"
  echo "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|"
  print_totals | awk -F, -v OFS=, 'NR > 1 { print $1, $3, $4 }' | sort >"${TMPDIR:-/tmp}/fuzz-totals.$$"
  awk -F, 'FNR == NR { total[$1] = $2; left[$1] = $3; next }
    FNR > 1 { d = "–"
      printf "| `%s` | %s | %.0f (%s) | %s | %s | %s | %s → %s | %s | %s | %s | %s → %s | %s |\n",
        $1, $2, $4, $3, total[$1], left[$1], $5, $6, $7, ($9 == "" ? d : $9), ($10 == "" ? d : $10),
        ($11 == "" ? d : $11), $14, ($16 == "" ? $15 : $16), $8 }' "${TMPDIR:-/tmp}/fuzz-totals.$$" "$growth"
  rm -f "${TMPDIR:-/tmp}/fuzz-totals.$$"
  exit 0
fi

all_targets=$(cargo fuzz list)
if [ ${#targets[@]} -eq 0 ]; then
  # Least fuzzed first, so an interrupted campaign evens the ledger out.
  mapfile -t targets < <(
    for t in $all_targets; do
      echo "$t $(ledger_cpu | awk -v t="$t" '$1 == t { print $2 }')"
    done | awk '{ print ($2 == "" ? 0 : $2), $1 }' | sort -n -s -k1,1 | awk '{ print $2 }'
  )
fi
chosen=()
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$all_targets" || { echo "no fuzz target $t" >&2; exit 2; }
  done_s=$(ledger_cpu | awk -v t="$t" '$1 == t { print $2 }')
  if [ "$cmin_only" = 0 ] && [ "${done_s:-0}" -ge "$until_cpu" ]; then
    echo "$t: ${done_s} CPU-s in the ledger, skipped (--until-cpu $until_cpu)"
  else
    chosen+=("$t")
  fi
done
[ ${#chosen[@]} -gt 0 ] || { echo "nothing left to fuzz"; exit 0; }

stamp=$(date -u +%Y%m%dT%H%MZ)
commit=$(git rev-parse --short HEAD)
[ -z "$(git status --porcelain -- src fuzz/fuzz_targets fuzz/Cargo.toml)" ] || commit="$commit+dirty"
out=fuzz/campaign/$stamp
work=fuzz/target/campaign
mkdir -p "$work/rows"
[ "$cmin_only" = 1 ] || mkdir -p "$out/series"
rm -f "$work"/rows/*
host=$(rustc +nightly -vV | sed -n 's/^host: //p')

echo "campaign $stamp at $commit: ${#chosen[@]} targets x ${per_target}s, $jobs at a time, sanitizer $sanitizer"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"

# Builds first, all in one go (the lanes below would only wait on cargo's lock).
# A target whose ASan build fails falls back to no sanitizer, and says so.
declare -A san bin
build() { # sanitizer target...
  local dir=fuzz/target/nightly-$1
  nice -n 19 cargo +nightly fuzz build -O --sanitizer "$1" --target-dir "$dir" "${@:2}" >>"$work/build.log" 2>&1
}
: >"$work/build.log"
if [ "$sanitizer" = address ] && ! build address; then
  echo "the ASan build of all targets failed (see $work/build.log); trying each"
fi
for t in "${chosen[@]}"; do
  if [ "$sanitizer" = address ] && build address "$t"; then
    san[$t]=address
  elif build none "$t"; then
    [ "$sanitizer" = none ] || echo "note: $t does not build with AddressSanitizer; fuzzing it with --sanitizer none"
    san[$t]=none
  else
    echo "$t does not build (see $work/build.log)" >&2
    exit 1
  fi
  bin[$t]=fuzz/target/nightly-${san[$t]}/$host/release/$t
done

# Prefixes each line with the seconds since the start, read without a fork per line.
stamp_lines() {
  local t0=${EPOCHREALTIME//[!0-9]/} line us
  while IFS= read -r line; do
    us=$((${EPOCHREALTIME//[!0-9]/} - t0))
    printf '[%6d.%d] %s\n' $((us / 1000000)) $((us / 100000 % 10)) "$line"
  done
}

# libFuzzer's status lines ("#N INITED|NEW|REDUCE|pulse|DONE cov: X ft: Y corp: Z/..")
# as CSV: elapsed_s,runs,event,cov,ft,corp.
series() {
  echo "elapsed_s,runs,event,cov,ft,corp"
  sed -nE 's/^\[ *([0-9.]+)\] #([0-9]+)[[:space:]]+([A-Za-z]+)[[:space:]]+cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1,\2,\3,\4,\5,\6/p' "$1"
}

# Merges what the run found into the committed corpus, keeping it minimal. The
# seed files (seed-*, generated and checked by tests/fuzz_corpus.rs) stay as
# they are and are loaded into the merge's output first, so the merge adds only
# inputs that reach features the seeds do not (`cargo fuzz cmin` runs -merge=1
# over all files alike). -set_cover_merge=1 rather than -merge=1: the same
# features from fewer files (339 rather than 411 for the certificate target after
# 5 minutes). Added inputs are named by their SHA-1, as libFuzzer names them;
# committed non-seed files that the merge no longer needs are dropped.
cmin_target() { # target scratch
  local t=$1 scratch=$2 dir=fuzz/corpus/$1 m=$work/cmin/$1 f h
  rm -rf "$m"
  mkdir -p "$m/out" "$m/old"
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    case ${f##*/} in seed-*) cp "$f" "$m/out/" ;; *) cp "$f" "$m/old/" ;; esac
  done
  if ! nice -n 19 "${bin[$t]}" -set_cover_merge=1 -max_len=20000 -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="$m/" "$m/out" "$m/old" "$scratch" >"$m.log" 2>&1; then
    echo "$t: merge failed, corpus left alone (see $m.log)"
    return 0
  fi
  declare -A keep=()
  for f in "$m"/out/*; do
    case ${f##*/} in seed-*) ;; *) keep[${f##*/}]=1 ;; esac
  done
  for f in "$dir"/*; do
    case ${f##*/} in seed-*) continue ;; esac
    h=$(sha1sum <"$f" | cut -d' ' -f1)
    if [ -n "${keep[$h]:-}" ]; then unset "keep[$h]"; else rm "$f"; fi
  done
  for h in "${!keep[@]}"; do cp "$m/out/$h" "$dir/$h"; done
}

run_target() {
  local t=$1 log=$work/$1.log scratch=$work/corpus/$1 artifacts=fuzz/artifacts/$1
  local inputs=("fuzz/corpus/$t") extra=() rc before after
  [ -d "fuzz/regressions/$t" ] && inputs+=("fuzz/regressions/$t")
  [ "${san[$t]}" = address ] && extra=(-malloc_limit_mb=512)
  mkdir -p "$scratch" "$artifacts"
  touch "$work/$t.start"
  before=$(find "fuzz/corpus/$t" -type f | wc -l)
  # The scratch directory comes first: libFuzzer writes new inputs there only.
  # It is kept between campaigns, so each one starts where the last stopped.
  set +e
  nice -n 19 /usr/bin/time -f '%U %S %e' -o "$work/$t.time" "${bin[$t]}" \
    -max_total_time="$per_target" -max_len=20000 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 "${extra[@]}" -artifact_prefix="$artifacts/" \
    "$scratch" "${inputs[@]}" 2>&1 | stamp_lines >"$log"
  rc=${PIPESTATUS[0]}
  set -e
  series "$log" >"$out/series/$t.csv"
  local crashes
  crashes=$(find "$artifacts" -newer "$work/$t.start" -type f \
    \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  if [ "$rc" != 0 ]; then
    echo "$t: libFuzzer exited with $rc ($crashes new artifacts in $artifacts/); see $log" >&2
    [ "$crashes" -gt 0 ] || crashes=1
  fi
  if [ "$cmin" = 1 ]; then cmin_target "$t" "$scratch"; fi
  after=$(find "fuzz/corpus/$t" -type f | wc -l)
  # One row: the ledger's fields, then the checkpoints.
  awk -F, -v t="$t" -v san="${san[$t]}" -v crashes="$crashes" -v before="$before" -v after="$after" \
      -v time="$(cat "$work/$t.time" 2>/dev/null | tail -n 1)" \
      -v units="$(sed -nE 's/.*stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)" '
    NR == 1 { next }
    { e = $1 + 0; if (start == "" && $3 == "INITED") start = $4
      for (i = 1; i <= 4; i++) if (e <= cp[i]) at[i] = $4
      last = $4; ft = $5; runs = $2; end = e }
    BEGIN { cp[1] = 60; cp[2] = 300; cp[3] = 900; cp[4] = 3600 }
    END { split(time, tm, " ")
      if (units != "") runs = units
      line = sprintf("%s,%s,%.0f,%.1f,%d,%s,%s,%d", t, san, tm[3], tm[1] + tm[2], runs, start, last, crashes)
      for (i = 1; i <= 4; i++) line = line "," (tm[3] >= cp[i] ? at[i] : "")
      print line "," ft "," before "," after }' "$out/series/$t.csv" >"$work/rows/$t"
  IFS=, read -r _ _ wall cpu runs cov0 cov1 _ <"$work/rows/$t"
  (
    flock 9
    echo "$(date -u +%Y-%m-%d),$commit,$t,${san[$t]},$wall,$cpu,$runs,$cov0,$cov1,$crashes" >>"$ledger"
  ) 9>"$work/ledger.lock"
  echo "$t: ${san[$t]}, ${wall}s wall, ${cpu} CPU-s, $runs runs, cov $cov0 -> $cov1, corpus $before -> $after files, $crashes crashes"
}

if [ "$cmin_only" = 1 ]; then
  for t in "${chosen[@]}"; do
    before=$(find "fuzz/corpus/$t" -type f | wc -l)
    cmin_target "$t" "$work/corpus/$t"
    echo "$t: corpus $before -> $(find "fuzz/corpus/$t" -type f | wc -l) files, $(cat "fuzz/corpus/$t"/* | wc -c) bytes"
  done
  exit 0
fi

# Lanes: lane i takes the i-th, (i+jobs)-th, ... target.
for ((lane = 0; lane < jobs; lane++)); do
  (
    for ((i = lane; i < ${#chosen[@]}; i += jobs)); do
      run_target "${chosen[$i]}"
    done
  ) &
done
wait

# Tables of this campaign.
{
  echo "target,sanitizer,wall_s,cpu_s,runs,cov_start,cov_end,crashes,cov_1min,cov_5min,cov_15min,cov_60min,ft_end,corpus_before,corpus_after"
  for t in "${chosen[@]}"; do cat "$work/rows/$t"; done
} >"$out/growth.csv"
{
  echo "Campaign $stamp at $commit: ${per_target} s wall per target, $jobs at a time, nice 19."
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| target | sanitizer | wall s | CPU s | runs | cov start | 1 min | 5 min | 15 min | 60 min | cov end | corpus files before → after cmin | crashes |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
  awk -F, 'NR > 1 { d = "–"
    printf "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s → %s | %s |\n",
      $1, $2, $3, $4, $5, $6, ($9 == "" ? d : $9), ($10 == "" ? d : $10), ($11 == "" ? d : $11),
      ($12 == "" ? d : $12), $7, $14, $15, $8 }' "$out/growth.csv"
  echo
  echo "Coverage is libFuzzer's \`cov:\` (covered edges); a checkpoint is empty when the run was shorter."
} >"$out/growth.md"
echo "tables: $out/growth.md, $out/growth.csv; ledger: $ledger"
print_totals
exit 0
}

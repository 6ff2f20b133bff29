#!/usr/bin/env bash
# The kernel matrix: run the kernel suite (guest-suite.sh) in each cell and
# print a table of cell, kernel, layout, result, tests passed/failed and time.
#   test/kernel/matrix.sh [--tap FILE] [CELL...]     (npm run test:kernels)
# Cells: host (this machine's kernel, no VM), and KERNEL-LAYOUT for KERNEL in
# 5.10 6.1 6.12 and LAYOUT in v2 hybrid, plus 5.10-v1 and 6.1-v1 (no v2 tree
# mounted: vigil mounts its own) and 6.12-v2-nobtf (BTF masked: runs
# btf-hidden-check.js instead of the suite). No CELL: every cell.
# --tap FILE: also write every cell's TAP lines to FILE, test names prefixed
# with the cell, and a "not ok" line for a cell that failed without a failing
# test (guest died, timed out), so scripts/tap-summary.mjs counts them.
# Each cell's TAP and console output stay in .cache/kernels/results/.
# Exit status: 0 when every cell passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VIGIL_KERNEL_CACHE:-$repo/.cache/kernels}
cd "$repo" || exit 2
ALL_CELLS="host 5.10-v2 5.10-hybrid 5.10-v1 6.1-v2 6.1-hybrid 6.1-v1 6.12-v2 6.12-hybrid 6.12-v2-nobtf"
tap_out=
while [ $# -gt 0 ]; do
  case "$1" in
    --tap) tap_out=$2; shift 2 ;;
    --list) echo "$ALL_CELLS"; exit 0 ;;
    -*) echo "matrix: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
cells=${*:-$ALL_CELLS}
results=$cache/results
mkdir -p "$results"
[ -n "$tap_out" ] && : > "$tap_out"
# Seconds a cell may take before it counts as timed out (software emulation).
cell_timeout=${VIGIL_CELL_TIMEOUT:-2400}

rows=()
all_ok=0
for cell in $cells; do
  tap=$results/$cell.tap
  log=$results/$cell.log
  start=$(date +%s)
  case "$cell" in
    host)
      kernel=$(uname -r)
      if [ -f /sys/fs/cgroup/cgroup.controllers ]; then layout=v2
      elif awk '$3 == "cgroup2" && $2 != "/run/vigil/cgroup2" { found = 1 } END { exit !found }' /proc/mounts; then layout=hybrid
      else layout=v1; fi
      echo "matrix: cell host ($kernel, $layout)" >&2
      bash "$here/guest-suite.sh" > "$tap" 2> "$log"
      status=$? ;;
    *-*)
      IFS=- read -r kernel layout variant <<< "$cell"
      case "$kernel $layout ${variant:-}" in
        "5.10 v2 "|"5.10 hybrid "|"5.10 v1 "|"6.1 v2 "|"6.1 hybrid "|"6.1 v1 "|"6.12 v2 "|"6.12 hybrid ") cmd=(test/kernel/guest-suite.sh); opts=() ;;
        "6.12 v2 nobtf") cmd=(node dist/test/kernel/btf-hidden-check.js); opts=(--btf-hidden) ;;
        *) echo "matrix: unknown cell '$cell' (cells: $ALL_CELLS)" >&2; exit 2 ;;
      esac
      echo "matrix: cell $cell (Debian $kernel, $layout${variant:+, $variant})" >&2
      bash "$here/run-cell.sh" --quiet --timeout "$cell_timeout" "${opts[@]}" "$kernel" "$layout" -- "${cmd[@]}" > "$tap" 2> "$log"
      status=$?
      [ -s "$cache/$kernel/release" ] && kernel="$kernel ($(cat "$cache/$kernel/release"))" ;;
    *) echo "matrix: unknown cell '$cell' (cells: $ALL_CELLS)" >&2; exit 2 ;;
  esac
  secs=$(( $(date +%s) - start ))
  counts=$(node scripts/tap-summary.mjs "$tap" 2>/dev/null | tail -1)
  passed=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<< "$counts"); passed=${passed:-0}
  failed=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<< "$counts"); failed=${failed:-0}
  why=
  case "$status" in
    0) [ "$failed" = 0 ] && [ "$passed" -gt 0 ] || why="no test passed" ;;
    124) why="timed out" ;;
    125) why="guest died: see $log" ;;
    *) [ "$failed" -gt 0 ] || why="exit status $status" ;;
  esac
  if [ "$status" = 0 ] && [ -z "$why" ]; then result=pass; else result=FAIL; all_ok=1; fi
  if [ -n "$tap_out" ]; then
    sed -n -E "s/^(ok|not ok)( [0-9]+)? - /\\1\\2 - [$cell] /p" "$tap" >> "$tap_out"
    [ -n "$why" ] && echo "not ok - [$cell] the cell failed: $why" >> "$tap_out"
  fi
  [ "$result" = FAIL ] && { grep -E '^not ok' "$tap" | head -20 >&2; [ -n "$why" ] && echo "matrix: $cell: $why" >&2; tail -5 "$log" >&2; }
  printf -v time '%dm%02ds' $((secs / 60)) $((secs % 60))
  rows+=("$cell|$kernel|$layout${variant:+ ($variant)}|$result${why:+ ($why)}|$passed|$failed|$time")
  variant=
done

printf '\n| cell | kernel | layout | result | passed | failed | time |\n|---|---|---|---|---|---|---|\n'
for r in "${rows[@]}"; do printf '| %s |\n' "${r//|/ | }"; done
exit $all_ok

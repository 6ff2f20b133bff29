#!/usr/bin/env bash
# Run the whole ava suite and close with "N passed, N failed, N skipped",
# counted from ava's TAP output, so a run that executed nothing shows as such.
set -uo pipefail
cd "$(dirname "$0")/.."
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
npx ava --tap "$@" | tee "$tap"
ava_status=${PIPESTATUS[0]}
node scripts/tap-summary.mjs "$tap"
summary_status=$?
[ "$ava_status" -eq 0 ] && [ "$summary_status" -eq 0 ]

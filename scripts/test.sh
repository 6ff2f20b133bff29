#!/usr/bin/env bash
# Run the whole ava suite and close with "N passed, N failed, N skipped",
# counted from ava's TAP output, so a run that executed nothing shows as such.
set -uo pipefail
cd "$(dirname "$0")/.."
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
npx ava --tap "$@" | tee "$tap"
ava_status=${PIPESTATUS[0]}
# The whole suite (no file named) also runs the kernel suite on a kernel other
# than this host's, under pure cgroup v2, in QEMU (test/kernel/): its tests are
# counted in the same summary line. VIGIL_KERNEL_CELLS picks other cells
# ("" for none); `npm run test:kernels` runs the full matrix.
if [ $# -eq 0 ] && [ -n "${VIGIL_KERNEL_CELLS-6.1-v2}" ]; then
  cells_tap=$(mktemp)
  trap 'rm -f "$tap" "$cells_tap"' EXIT
  # shellcheck disable=SC2086 # a list of cell names
  bash test/kernel/matrix.sh --tap "$cells_tap" ${VIGIL_KERNEL_CELLS-6.1-v2}
  cat "$cells_tap" >> "$tap"
fi
node scripts/tap-summary.mjs "$tap"
summary_status=$?
[ "$ava_status" -eq 0 ] && [ "$summary_status" -eq 0 ]

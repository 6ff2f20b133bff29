#!/bin/sh
# The kernel suite, as run inside a matrix cell (or on the host for the "host"
# cell): the tests whose promises depend on the kernel and the cgroup layout —
# the tracer's exactness (one exit per process, codes, signals and senders, OOM
# attribution), the launcher's cgroups and namespaces, the restart path, and the
# layout adaptations (vigil's own v2 tree on a v1-only host included), and
# last (it fills the guest's memory) the OOM scope. Files run one at a time
# (serially) with a long timeout: under software emulation Node is about 15x
# slower than on the host.
# CI=true: a kernel test that would skip for lack of a feature fails instead.
# Prints ava's TAP; extra arguments are passed to ava (e.g. --match).
cd "$(dirname "$0")/../.." || exit 125
export CI=true
# v1-layout first: on a v1-only cell it needs the host as booted (no cgroup v2
# tree mounted yet); elsewhere it does nothing. cgroup-v2 next: it needs this
# process's cgroup still to hold processes (the first container with limits
# moves them into vigil's leaf for good).
exec node node_modules/ava/entrypoints/cli.mjs --tap --serial --concurrency=1 --timeout=3m \
  dist/test/integration/v1-layout.test.js \
  dist/test/integration/cgroup-v2.test.js \
  dist/test/integration/tracer.test.js \
  dist/test/integration/launcher.test.js \
  dist/test/integration/monitor.test.js \
  dist/test/integration/cgroup-layouts.test.js \
  dist/test/integration/oom-scope.test.js \
  "$@"

#!/bin/bash
# bench/peers/cgroups.sh apply|restore: take hugetlb off cgroup v2 for crun 1.8 (hybrid hosts
# only) by holding a v1 hierarchy in a private mount namespace, and give it back (see common.sh).
set -uo pipefail
source "$(dirname "$0")/common.sh"
mkdir -p "$P"
case "${1:-}" in
  apply) hugetlb_fix ;;
  restore) hugetlb_restore ;;
  *) echo "usage: $0 apply|restore" >&2; exit 2 ;;
esac

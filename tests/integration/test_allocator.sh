#!/usr/bin/env bash
# A faceage built with jemalloc really allocates with it (linked is not enough: glibc's malloc
# would win if the link dropped the library); memory of long predict runs depends on it
# (docs/decisions/allocator.md).
set -euo pipefail
bin=${FACEAGE_BIN:?}
if ! grep -q 'allocator: jemalloc' <<< "$("$bin" version)"; then
  echo "faceage was built without jemalloc (libjemalloc-dev missing): skipped"
  exit 77
fi
stats=$(MALLOC_CONF=stats_print:true "$bin" version 2>&1)
grep -q 'Begin jemalloc statistics' <<< "$stats" ||
  { echo "faceage says jemalloc but jemalloc's malloc is not the one in use"; exit 1; }
# The program's built-in options (apps/faceage/allocator.cpp) are in force: freed pages are kept,
# without which training spends a third of its CPU re-faulting activation memory.
grep -qE 'opt.dirty_decay_ms: -1' <<< "$stats" ||
  { echo "jemalloc runs without faceage's built-in malloc_conf (dirty_decay_ms should be -1)"; grep 'decay_ms' <<< "$stats"; exit 1; }
echo "jemalloc is faceage's allocator, with its built-in options"

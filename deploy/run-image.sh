#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `podman run` (or `docker run`) with what a restricted sandbox needs, found out on the spot:
#
#   deploy/run-image.sh [RUN OPTIONS] IMAGE [COMMAND...]      e.g. --network host faceage:latest serve
#
# On a normal host this is exactly `podman run "$@"`. Debian 12's podman 4.3 with crun fails in
# sandboxes like this project's build machines (docs/scaling.md, "Running containers in a
# restricted sandbox"), so, with podman:
#   - cgroups v1 controllers mounted beside a v2 "unified" tree ("hybrid" mode): crun says
#     "cgroups in hybrid mode not supported"; Debian's runc copes, so `--runtime runc` is added
#     (when runc is installed: apt-get install runc).
#   - a hard RLIMIT_NOFILE below podman's default 1048576 that cannot be raised: crun/runc fail
#     with "setrlimit RLIMIT_NOFILE: Operation not permitted", so `--ulimit nofile=1024:HARD` is
#     added; likewise `--ulimit nproc=4096:8192` for RLIMIT_NPROC (its hard value itself was
#     refused there).
# FACEAGE_ENGINE picks the engine (default: podman, else docker); FACEAGE_RUN_DRY=1 prints the
# command instead of running it.
set -euo pipefail
engine=${FACEAGE_ENGINE:-$(command -v podman >/dev/null && echo podman || echo docker)}
global=() opts=()
if [[ $(basename "$engine") == podman ]]; then
  if [[ -d /sys/fs/cgroup/unified ]] && [[ $(stat -f -c %T /sys/fs/cgroup) != cgroup2fs ]]; then
    if command -v runc >/dev/null; then
      global+=(--runtime runc)
    else
      echo "run-image: cgroups are in hybrid mode (v1 + v2), which crun refuses; apt-get install runc" >&2
    fi
  fi
  # podman asks for 1048576 open files and processes; where even root may not raise the hard
  # limits that far (no CAP_SYS_RESOURCE), ask for explicit limits under them instead.
  if ! (ulimit -Hn 1048576) 2>/dev/null; then
    nofile=$(ulimit -Hn)
    opts+=(--ulimit "nofile=$((nofile < 1024 ? nofile : 1024)):$nofile")
  fi
  if ! (ulimit -Hu 1048576) 2>/dev/null; then opts+=(--ulimit nproc=4096:8192); fi
fi
cmd=("$engine" "${global[@]}" run "${opts[@]}" "$@")
if [[ ${FACEAGE_RUN_DRY:-0} == 1 ]]; then echo "${cmd[*]}"; exit 0; fi
exec "${cmd[@]}"

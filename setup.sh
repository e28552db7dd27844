#!/usr/bin/env bash
# Installs faceage's Debian 12 dependencies and builds it (Release) into ./build.
# Usage: ./setup.sh            install + configure + build
#        SKIP_APT=1 ./setup.sh only configure + build
set -euo pipefail
cd "$(dirname "$0")"
if [ "${SKIP_APT:-0}" != 1 ]; then
  pkgs=$(grep -vE '^\s*(#|$)' scripts/apt-packages.txt | tr '\n' ' ')
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  missing=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $pkgs 2>/dev/null | awk '$1!="ii"{print $2}' || true)
  if ! dpkg-query -W $pkgs >/dev/null 2>&1 || [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends $pkgs
  fi
fi
jobs=${FACEAGE_JOBS:-$(nproc)}
# Benchmarks are not part of the default build (bench/README.md: FACEAGE_CMAKE_ARGS=-DFACEAGE_BUILD_BENCH=ON).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFACEAGE_BUILD_BENCH=OFF ${FACEAGE_CMAKE_ARGS:-}
cmake --build build -j "$jobs"

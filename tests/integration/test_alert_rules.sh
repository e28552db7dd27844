#!/usr/bin/env bash
# The shipped Prometheus alert rules load (promtool check rules) and fire when they should
# (promtool test rules: drift, error rate, latency, prediction-log drops). Skips without promtool
# (Debian package prometheus, in scripts/apt-packages.txt).
set -euo pipefail
src=${FACEAGE_SOURCE_DIR:?}
command -v promtool > /dev/null || { echo "promtool not installed: skipped"; exit 77; }
cd "$src/deploy/prometheus"
promtool check rules faceage-alerts.yml
promtool test rules faceage-alerts.test.yml

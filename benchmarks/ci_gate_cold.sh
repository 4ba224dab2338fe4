#!/usr/bin/env bash
# The CI gate job of .github/workflows/quality-gate.yml, cold, timed (benchmarks/RESULTS.md, "What the install costs"):
# a fresh venv, the core install (no pip cache), the baseline, then `qk gate` on the built-in corpus with an
# empty qk cache, then again warm. Each step under /usr/bin/time: wall seconds and CPU (user + sys).
# Usage: benchmarks/ci_gate_cold.sh [WORKDIR]   (default /tmp/qk-ci-gate-cold; removed and recreated)
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
W="${1:-/tmp/qk-ci-gate-cold}"
rm -rf "$W" && mkdir -p "$W/src" && cd "$W"
git -C "$SRC" archive HEAD | tar -x -C "$W/src"   # what is committed, as CI checks it out
export QK_CACHE="$W/cache/cache.sqlite" PIP_NO_CACHE_DIR=1
T='%e s wall, %U s user, %S s sys'
/usr/bin/time -f "venv: $T" python3 -m venv venv
/usr/bin/time -f "pip install (core): $T" venv/bin/pip install -q ./src
venv/bin/python -c "import importlib.util as u; print('torch installed:', u.find_spec('torch') is not None)"
du -sh venv
/usr/bin/time -f "qk bench (baseline): $T" venv/bin/qk bench --dataset sample --codecs jpeg,webp,avif \
  --metrics psnr,ms-ssim,ssim-y --out reports/baseline --quiet --no-report
venv/bin/qk baseline save reports/baseline --to quality/baseline.json
rm -rf "$W/cache"
/usr/bin/time -f "qk gate, cold cache: $T" venv/bin/qk gate --baseline quality/baseline.json --dataset sample \
  --out reports/gate --junit gate-junit.xml --markdown summary.md > gate.log
/usr/bin/time -f "qk gate, warm cache: $T" venv/bin/qk gate --baseline quality/baseline.json --dataset sample \
  --out reports/gate2 --markdown summary2.md > gate2.log
cat summary.md
uptime

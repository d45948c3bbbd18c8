#!/usr/bin/env bash
# The GPU check of issue 14 (item 6), for a session lent a GPU machine (the `device` tool):
# ~20,000 synthetic JPEGs through the real Lightning predict loop with ResNet50 and a CLIP
# ViT-B/32-sized model (random weights, bf16, decode workers = cores), the CPU-decode bound of the
# machine's cores measured in the same run, and JPEG decoding on the GPU as an option.
# Budget: <= 8 minutes on one H200 (the run is cut at DEVICE_CHECK_TIMEOUT seconds, default 480).
#   bash benchmarks/device_check.sh                 # the measurement
#   bash benchmarks/device_check.sh --dry-run       # 48 images on CPU: checks the script itself
#   bash benchmarks/device_check.sh --images 5000 --gpu-decode off
# Extra arguments go to benchmarks/device_check.py. Ends with a `RESULT ...` line.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
export VISFRAME_CACHE_DIR="${VISFRAME_CACHE_DIR:-${TMPDIR:-/tmp}/visframe-device-cache}"
if [ "${1:-}" != "--dry-run" ] && command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
exec timeout --signal=INT "${DEVICE_CHECK_TIMEOUT:-480}" "$PY" benchmarks/device_check.py "$@"

#!/usr/bin/env bash
# A virtual environment for GPU serving: the package with onnxruntime-gpu INSTEAD of onnxruntime (both wheels install
# the same 'onnxruntime' module, so they must never sit side by side). Usage: bash scripts/setup_gpu.sh [VENV]
# (default .venv-gpu). Then VENV/bin/rhythmicnet-live runs the models on the CUDA execution provider when a GPU
# and its CUDA/cuDNN libraries are present, and on the CPU (with a one-line notice) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-gpu}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# The runtime dependencies of pyproject.toml, with the gpu extra's onnxruntime-gpu in place of onnxruntime.
mapfile -t deps < <("$VENV/bin/python" - <<'PYEOF'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for dep in project["dependencies"] + project["optional-dependencies"]["gpu"]:
    if re.match(r"onnxruntime\b(?!-)", dep) is None:
        print(dep)
PYEOF
)
grep -v '^onnxruntime==' constraints.txt > "$VENV/constraints-gpu.txt"
"$VENV/bin/python" -m pip install -q -c "$VENV/constraints-gpu.txt" "${deps[@]}"
"$VENV/bin/python" -m pip install -q --no-deps -e .
if "$VENV/bin/python" -m pip show -q onnxruntime 2>/dev/null; then
  echo "error: onnxruntime (CPU) got installed beside onnxruntime-gpu in $VENV" >&2
  exit 1
fi
"$VENV/bin/python" -c "import onnxruntime as ort; print('onnxruntime-gpu', ort.__version__, 'providers:', ort.get_available_providers())"

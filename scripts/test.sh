#!/usr/bin/env bash
# The test suite: set up (with the test extras and the system packages: jackd2, fluidsynth, ffmpeg), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
exec .venv/bin/python -m pytest "$@"

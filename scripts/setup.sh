#!/usr/bin/env bash
# Set up everything rhythmicnet_live needs, idempotently: a Python 3.11 virtual environment in .venv with the
# package installed (editable), and with --dev the PyTorch/export/test extras plus the system packages the tests
# use (jackd2 for a real MIDI port, fluidsynth for audio, ffmpeg). Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1

if [ "$DEV" = 1 ]; then
  need=()
  command -v jackd >/dev/null || need+=(jackd2)
  command -v fluidsynth >/dev/null || need+=(fluidsynth)
  command -v ffmpeg >/dev/null || need+=(ffmpeg)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "installing system packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
stamp=".venv/.installed-$( (cat pyproject.toml; echo "$DEV") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  if [ "$DEV" = 1 ]; then
    .venv/bin/python -m pip install -q -e ".[export,test]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  touch "$stamp"
fi

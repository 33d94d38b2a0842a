#!/usr/bin/env bash
# Set up everything rhythmicnet_live needs, idempotently: FluidSynth (apt-get; it renders take.wav), a Python 3.11
# virtual environment in .venv with the package installed (editable), and with --dev the PyTorch/export/test
# extras plus jackd2 (a real MIDI port for the tests), Pure Data, jack-capture and Xvfb (real clients and the
# preview window in the tests). Versions come from constraints.txt. Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1

need=()
command -v fluidsynth >/dev/null || need+=(fluidsynth)
if [ "$DEV" = 1 ]; then
  command -v jackd >/dev/null || need+=(jackd2)
  # Real clients and the preview window in the tests: Pure Data, jack_capture (FluidSynth's audio), a virtual X
  # server, and unshare/ip for the Ableton Link test's private network namespace.
  command -v pd >/dev/null || need+=(puredata-core)
  command -v jack_capture >/dev/null || need+=(jack-capture)
  command -v Xvfb >/dev/null || need+=(xvfb)
  command -v ip >/dev/null || need+=(iproute2)
fi
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "installing system packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "please install: ${need[*]} (e.g. brew install fluid-synth jack)" >&2
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
stamp=".venv/.installed-$( (cat pyproject.toml constraints.txt; echo "$DEV") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  if [ "$DEV" = 1 ]; then
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
  else
    .venv/bin/python -m pip install -q -c constraints.txt -e .
  fi
  touch "$stamp"
fi

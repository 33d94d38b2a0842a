#!/usr/bin/env bash
# The main job on the bundled sample clip: set up, then make an offline take of examples/tiktokgestdance.mp4 in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/rhythmicnet-live take examples/tiktokgestdance.mp4 -o out/
echo "done: see out/ (take.mid, take.wav, take.mp4, take.png, take.json)"

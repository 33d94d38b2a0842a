#!/usr/bin/env bash
# The main job on the bundled sample clip: set up, then analyse examples/tiktokgestdance.mp4 into out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/rhythmicnet-live beats examples/tiktokgestdance.mp4 -o out/
echo "done: see out/ (beats.json, rhythm.mid, beats.png)"

"""The PyTorch side of rhythmicnet_live, one subpackage per model (beats, drums, piano): data, models,
training, ONNX export with parity checks, evaluation tables. ``manifest`` registers exported models."""

from pathlib import Path

#: The repository root; training outputs go to ``RUNS`` and the shared data sit beside the repository.
REPO = Path(__file__).resolve().parent.parent
RUNS = REPO / "runs"
SHARED_DATA = REPO.parent / "shared" / "data"

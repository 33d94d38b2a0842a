"""Writing entries of ``models_onnx/manifest.json`` after an ONNX export (read by rhythmicnet_live.models)."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import onnx

from rhythmicnet_live.models import MANIFEST_NAME, MODELS_DIR, sha256_of


def _io(values) -> list[dict]:
    out = []
    for v in values:
        dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        out.append({"name": v.name, "shape": dims, "dtype": onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()})
    return out


def register_model(
    name: str,
    onnx_file: Path,
    *,
    version: str,
    training_data: list[dict],
    metrics: dict,
    description: str,
    extra: dict | None = None,
    models_dir: Path = MODELS_DIR,
) -> dict:
    """Add or replace manifest entry ``name`` for ``onnx_file`` (which must sit in ``models_dir``).

    training_data: one dict per dataset: {"name", "license", "source"}; every license used must appear.
    metrics: measured figures with readable keys (e.g. "online_f_measure").
    The manifest is locked while it is rewritten, so several exports may run at once.
    """
    onnx_file = Path(onnx_file)
    model = onnx.load(str(onnx_file), load_external_data=False)
    entry = {
        "file": onnx_file.name,
        "version": version,
        "description": description,
        "sha256": sha256_of(onnx_file),
        "inputs": _io(model.graph.input),
        "outputs": _io(model.graph.output),
        "training_data": training_data,
        "licenses": sorted({d["license"] for d in training_data}),
        "metrics": metrics,
    }
    if extra:
        entry.update(extra)
    path = Path(models_dir) / MANIFEST_NAME
    lock_path = Path(models_dir) / ".manifest.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = json.loads(path.read_text()) if path.exists() else {"models": {}}
        manifest["models"][name] = entry
        manifest["models"] = dict(sorted(manifest["models"].items()))
        path.write_text(json.dumps(manifest, indent=2) + "\n")
    return entry

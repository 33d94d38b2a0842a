"""Loading shipped ONNX models through their manifest (``models_onnx/manifest.json``).

The runtime refuses a model whose file is missing, whose sha256 differs from the manifest, or whose
inputs/outputs differ from the ones the manifest promises. Sessions use the CUDA execution provider
when onnxruntime-gpu is installed and a GPU is present, the CPU otherwise.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import onnxruntime as ort

from .errors import ModelManifestError

log = logging.getLogger(__name__)

#: Where the shipped models live: the package ``rhythmicnet_live.models_onnx`` (the repository's top-level
#: ``models_onnx/``, mapped into the package by ``pyproject.toml``), in a checkout, an editable install and a
#: wheel alike; ``RHYTHMICNET_MODELS`` points elsewhere.
MODELS_DIR = Path(os.environ.get("RHYTHMICNET_MODELS") or str(files("rhythmicnet_live.models_onnx")))
MANIFEST_NAME = "manifest.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(models_dir: Path = MODELS_DIR) -> dict:
    path = Path(models_dir) / MANIFEST_NAME
    if not path.exists():
        return {"models": {}}
    return json.loads(path.read_text())


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    entry: dict


def find_model(name: str, models_dir: Path = MODELS_DIR) -> ModelEntry:
    """The manifest entry of model ``name``; raises ModelManifestError if there is none or its file is wrong."""
    models = read_manifest(models_dir)["models"]
    if name not in models:
        raise ModelManifestError(f"model '{name}' is not in {Path(models_dir) / MANIFEST_NAME}")
    entry = models[name]
    path = Path(models_dir) / entry["file"]
    if not path.exists():
        raise ModelManifestError(f"model file {path} named by the manifest is missing")
    if sha256_of(path) != entry["sha256"]:
        raise ModelManifestError(f"model file {path} does not match its manifest sha256")
    return ModelEntry(name, path, entry)


def has_model(name: str, models_dir: Path = MODELS_DIR) -> bool:
    return name in read_manifest(models_dir)["models"]


def providers() -> list[str]:
    """CUDA first when onnxruntime-gpu can use it, CPU always as the fallback; ``RHYTHMICNET_PROVIDER=cpu`` keeps
    the models on the CPU (benchmarks compare both)."""
    available = ort.get_available_providers()
    wanted = ("CPUExecutionProvider",) if os.environ.get("RHYTHMICNET_PROVIDER", "").lower() == "cpu" else \
        ("CUDAExecutionProvider", "CPUExecutionProvider")
    return [p for p in wanted if p in available]


#: The execution provider each loaded model runs on (model name -> e.g. "CPUExecutionProvider").
PROVIDER_OF: dict[str, str] = {}


def execution_providers() -> dict[str, str]:
    """The execution provider of every model loaded so far in this process (for start-up lines and metadata)."""
    return dict(PROVIDER_OF)


def providers_line() -> str:
    """One line naming where each loaded model runs, e.g. "models on CPU: beat_model, drums_encoder" (start-up lines)."""
    by_provider: dict[str, list[str]] = {}
    for name, provider in sorted(PROVIDER_OF.items()):
        by_provider.setdefault(provider.removesuffix("ExecutionProvider"), []).append(name)
    if not by_provider:
        return "models: none loaded"
    return "; ".join(f"models on {provider}: {', '.join(names)}" for provider, names in by_provider.items())


def _note_provider(name: str, session: ort.InferenceSession) -> None:
    """Remember where ``name`` runs; say once, in one line, when onnxruntime-gpu could not use the GPU."""
    global _cpu_fallback_said
    used = session.get_providers()[0]
    PROVIDER_OF[name] = used
    if used != "CUDAExecutionProvider" and "CUDAExecutionProvider" in providers() and not _cpu_fallback_said:
        _cpu_fallback_said = True
        log.warning("onnxruntime-gpu is installed but CUDA is not usable here: the models run on the CPU")


_cpu_fallback_said = False


def load_session(name: str, models_dir: Path = MODELS_DIR, threads: int = 1, arena: bool = False
                 ) -> ort.InferenceSession:
    """An onnxruntime session for manifest model ``name``, checked against the manifest's I/O names.

    arena: onnxruntime's CPU memory arena and memory pattern, for a model run on inputs of one shape (a streaming
    step). Off, memory is returned after each run: the generators' inputs change length every bar, and with the
    arena their memory grew with each new longest input (about 4 MB over 1200 bars), no faster.
    """
    model = find_model(name, models_dir)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = options.enable_mem_pattern = arena
    wanted = providers()
    if "CUDAExecutionProvider" in wanted:  # a CUDA that cannot load is said once, in one line (_note_provider)
        ort.set_default_logger_severity(4)  # onnxruntime's own multi-line report of it: fatal errors only, from now on
    session = ort.InferenceSession(str(model.path), sess_options=options, providers=wanted)
    _note_provider(name, session)
    want_in = [i["name"] for i in model.entry["inputs"]]
    want_out = [o["name"] for o in model.entry["outputs"]]
    got_in = [i.name for i in session.get_inputs()]
    got_out = [o.name for o in session.get_outputs()]
    if got_in != want_in or got_out != want_out:
        raise ModelManifestError(
            f"model '{name}' has inputs {got_in} / outputs {got_out}, manifest promises {want_in} / {want_out}"
        )
    return session

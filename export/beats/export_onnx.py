"""ONNX export of the beat model's streaming form, parity check and manifest entry.

Graph ``beat_model.onnx`` (one file, dynamic time axis ``frames``):

    inputs   feats (1, frames, 17, 5)        new frames' features (rhythmicnet_live.analysis.beat_model.beat_features)
             cache (1, C, kernel - 1, 17)    temporal-convolution caches of the ST-GCN blocks
             hist (1, H, D)                  encoder features of the last H frames (H = layers (W - 1) + L)
             hist_valid (1, H)               1 where hist holds a real frame, 0 before the clip start
    outputs  activation (1, H + frames)      beat activation of the history frames and the new ones
             tempo (1, H + frames, K)        with a tempo head only: tempo distribution over the manifest's
                                             ``tempo_bins_bpm`` per frame (the decoder's tempo prior)
             cache_out, hist_out, hist_valid_out   the state for the next call

    python -m export.beats.export_onnx runs/beats/beat_model_final.pt   # re-export a saved checkpoint
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.beat_model import MODEL_NAME
from rhythmicnet_live.models import MODELS_DIR

from .model import BeatNet, BeatNetConfig, tempo_bins
from ..manifest import register_model

INPUTS = ("feats", "cache", "hist", "hist_valid")
OUTPUTS = ("activation", "cache_out", "hist_out", "hist_valid_out")
TEMPO_OUTPUTS = ("activation", "tempo", "cache_out", "hist_out", "hist_valid_out")

TRAINING_DATA = [
    {"name": "AIST++ keypoints3d (76 basic dances) and 6 advanced 2D dances, music beat annotations",
     "license": "CC BY 4.0",
     "source": "Li et al., AI Choreographer: Music Conditioned 3D Dance Generation with AIST++, ICCV 2021; "
               "https://google.github.io/aistplusplus_dataset/"},
    {"name": "AIST Dance Video Database (the dances and music AIST++ is built on)",
     "license": "AIST Dance DB terms of use (research use)",
     "source": "Tsuchida et al., AIST Dance Video Database: Multi-genre, Multi-dancer, and Multi-camera Database "
               "for Dance Information Processing, ISMIR 2019; https://aistdancedb.ongaaccel.jp/"},
]


class Streaming(nn.Module):
    """``BeatNet.step`` as a plain forward for export."""

    def __init__(self, model: BeatNet):
        super().__init__()
        self.model = model

    def forward(self, feats, cache, hist, hist_valid):
        return self.model.step(feats, cache, hist, hist_valid)


def example_inputs(model: BeatNet, frames: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random features for ``frames`` frames after a random (but valid-shaped) state."""
    g = torch.Generator().manual_seed(seed)
    cache, hist, valid = model.empty_state(1)
    feats = torch.randn(1, frames, 17, 5, generator=g)
    cache = torch.rand(cache.shape, generator=g)
    hist = torch.randn(hist.shape, generator=g)
    valid = (torch.rand(valid.shape, generator=g) > 0.3).float()
    return feats, cache, hist, valid


def export_onnx(model: BeatNet, path: Path) -> Path:
    """Write the streaming graph of ``model`` to ``path`` (one file, dynamic ``frames`` axis)."""
    model.eval()
    frames = torch.export.Dim("frames", min=1, max=4096)
    program = torch.onnx.export(
        Streaming(model).eval(), example_inputs(model, 16), dynamo=True, external_data=False,
        input_names=list(INPUTS), output_names=list(TEMPO_OUTPUTS if model.cfg.tempo_classes else OUTPUTS),
        dynamic_shapes={"feats": {1: frames}, "cache": None, "hist": None, "hist_valid": None},
    )
    program.save(str(path), external_data=False)
    return path


def parity(model: BeatNet, path: Path, lengths: tuple[int, ...] = (1, 37, 300)) -> float:
    """Largest |ONNX - PyTorch| / max(1, max |PyTorch|) over all outputs for random inputs of each length."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    with torch.no_grad():
        for i, n in enumerate(lengths):
            inputs = example_inputs(model, n, seed=i)
            want = model.step(*inputs)
            got = session.run(None, {k: v.numpy() for k, v in zip(INPUTS, inputs)})
            worst = max(worst, *(float(np.abs(g - w.numpy()).max() / max(1.0, np.abs(w.numpy()).max()))
                                 for g, w in zip(got, want)))
    return worst


def cv_metrics(cv_json: Path, row: str) -> dict:
    """Readable cross-validated figures of ``row`` (and the baselines) from ``export.beats.train``'s summary."""
    summary = json.loads(Path(cv_json).read_text())
    rows = summary["rows"]
    out = {}
    for mode in ("offline", "online", "known tempo offline", "known tempo online"):
        m = rows[f"{row} | HMM {mode}"]
        key = mode.replace(" ", "_")
        out.update({f"{key}_f_measure": round(m["F"], 4), f"{key}_cemgil": round(m["Cemgil"], 4),
                    f"{key}_cmlc": round(m["CMLc"], 4), f"{key}_cmlt": round(m["CMLt"], 4),
                    f"{key}_amlt": round(m["AMLt"], 4), f"{key}_tempo_accuracy": round(m["tempo_acc"], 4),
                    f"{key}_median_offset_ms": round(m["offset_ms"], 1)})
    out["baseline_online_f_measure_kinematic"] = round(rows["no-learning (kinematic) | HMM online"]["F"], 4)
    out["chance_f_measure"] = round(rows["chance (true tempo, random phase)"]["F"], 4)
    if "decoder_settings" in summary:  # from ``export.beats.evaluate --tune``: the settings each test fold got
        out["decoder_settings_per_fold"] = summary["decoder_settings"].get(row, {})
    return out


def export_and_register(model: BeatNet, cv_json: Path, row: str, models_dir: Path = MODELS_DIR) -> dict:
    """Export to ``models_dir/beat_model.onnx``, check parity, register with the cross-validated metrics."""
    metrics = cv_metrics(cv_json, row)
    metrics["evaluation"] = json.loads(Path(cv_json).read_text())["title"]
    return export_model(model, metrics, models_dir)


def load_checkpoint(path: Path) -> tuple[BeatNet, dict]:
    """A model saved by ``export.beats.train`` (final or one cross-validation fold) and the whole saved dict."""
    saved = torch.load(path, weights_only=False)
    cfg = BeatNetConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in saved["config"].items()})
    model = BeatNet(cfg)
    model.load_state_dict(saved["state"])
    return model.eval(), saved


def export_model(model: BeatNet, metrics: dict, models_dir: Path = MODELS_DIR) -> dict:
    """Export to ``models_dir/beat_model.onnx``, check parity, register in that folder's manifest with ``metrics``."""
    path = export_onnx(model, Path(models_dir) / f"{MODEL_NAME}.onnx")
    err = parity(model, path)
    if err > 1e-4:
        raise RuntimeError(f"ONNX export differs from PyTorch by {err:.2e}")
    cfg = model.cfg
    entry = register_model(
        MODEL_NAME, path, version="2.0.0" if cfg.tempo_classes else "1.0.0",
        description=(f"Video2Rhythm beat activation from COCO-17 keypoints at 30 fps: ST-GCN ({len(cfg.channels)} blocks, "
                     f"{'/'.join(map(str, cfg.channels))} ch, kernel {cfg.kernel}, learnable edge importance) + "
                     f"{cfg.layers}-layer relative-attention transformer (width {cfg.width}) with SSM logits, "
                     f"causal with {cfg.lookahead} frames lookahead; streaming graph with state inputs. "
                     + (f"Multi-task: a tempo head ({cfg.tempo_classes} log-spaced classes, 60-180 BPM; output 'tempo', "
                        "the decoder's tempo prior) and auxiliary beat-phase and music-onset regressions in training. "
                        if cfg.tempo_classes else "") +
                     "Metrics: mir_eval on held-out dancers, k-fold cross-validation by dancer; the shipped "
                     "model is retrained on all dancers with the same settings."),
        training_data=TRAINING_DATA, metrics=metrics,
        extra={"lookahead_frames": cfg.lookahead, "lookahead_s": round(cfg.lookahead / FPS, 4),
               "attention_window_frames": cfg.window, "history_frames": cfg.history, "fps": FPS,
               "parity_max_abs_error": err, "config": {k: (list(v) if isinstance(v, tuple) else v)
                                                       for k, v in cfg.to_dict().items()},
               **({"tempo_bins_bpm": [round(float(b), 3) for b in tempo_bins(cfg.tempo_classes)]}
                  if cfg.tempo_classes else {})},
        models_dir=models_dir,
    )
    print(f"exported {path} (parity {err:.1e}); metrics {metrics}")
    return entry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--cv-json", type=Path, default=None, help="CV summary of export.beats.train (default: beside the checkpoint)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR,
                        help="where to write the ONNX file and manifest entry (default: the shipped models_onnx/)")
    args = parser.parse_args(argv)
    model, saved = load_checkpoint(args.checkpoint)
    cv_json = args.cv_json or args.checkpoint.parent / f"cv_L{model.cfg.lookahead}.json"
    export_and_register(model, cv_json, saved["row"], args.models_dir)


if __name__ == "__main__":
    main()

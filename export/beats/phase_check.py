"""Is the dancers' motion phase-locked to the ground-truth beats? A data check behind the beat model's results.

For every AIST++ sequence (seen through the evaluation's virtual camera), the mean joint speed is projected on
the beat frequency (and on half of it, the two-beat movement cycle) with the ground-truth beat grid as phase 0.
If motion were locked to the beats the same way across dancers, those phases would cluster; the phase
concentration R (length of the mean unit phasor) is 1 for identical phases and about 1/sqrt(n) for random ones.

    python -m export.beats.phase_check [--data PATH]
"""

from __future__ import annotations

import argparse
import re
import warnings
from collections import defaultdict

import numpy as np

from rhythmicnet_live import FPS

from .aistpp import SHARED_AISTPP, load_aistpp
from .evaluate import prepare_items

HARMONICS = {"beat": 1.0, "2-beat cycle": 0.5}


def concentration(phases: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Length of the (weighted) mean unit phasor of ``phases`` (in cycles)."""
    weights = np.ones(len(phases)) if weights is None else weights
    return float(np.abs(np.sum(weights * np.exp(2j * np.pi * phases))) / weights.sum())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_AISTPP))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    items = prepare_items(load_aistpp(args.data), args.seed)
    rows = {name: [] for name in HARMONICS}
    for item in items:
        velocity = np.diff(item.xy, axis=0, prepend=item.xy[:1])
        with warnings.catch_warnings():  # frames without any joint have no speed: counted as 0
            warnings.simplefilter("ignore", RuntimeWarning)
            speed = np.nan_to_num(np.nanmean(np.linalg.norm(velocity, axis=-1), axis=1))
        speed = speed - speed.mean()
        t = np.arange(len(speed)) / FPS
        period = 60.0 / item.seq.bpm
        choreography = (item.seq.genre, re.search(r"_ch(\d+)", item.seq.name).group(1))
        for name, harmonic in HARMONICS.items():
            z = np.sum(speed * np.exp(-2j * np.pi * harmonic * (t - item.beats[0]) / period))
            strength = np.abs(z) / (np.sqrt(np.sum(speed ** 2) * len(t)) + 1e-9)
            rows[name].append((choreography, np.angle(z) / (2 * np.pi), strength))
    print(f"{len(items)} sequences; R = 1: motion locked to the beats alike everywhere, R ~ 1/sqrt(n): random phases")
    print(f"{'frequency':<14}{'R all':>8}{'R weighted':>12}{'random R':>10}{'R within choreography':>24}{'random R':>10}")
    for name, values in rows.items():
        phases = np.array([p for _, p, _ in values])
        strengths = np.array([s for _, _, s in values])
        groups = defaultdict(list)
        for key, phase, _ in values:
            groups[key].append(phase)
        within = [(concentration(np.array(g)), len(g)) for g in groups.values() if len(g) >= 2]
        r_within = np.mean([r for r, _ in within])
        random_within = np.mean([1 / np.sqrt(n) for _, n in within])
        print(f"{name:<14}{concentration(phases):8.3f}{concentration(phases, strengths):12.3f}{1 / np.sqrt(len(phases)):10.3f}"
              f"{r_within:17.3f} ({len(within)} groups){random_within:7.3f}")


if __name__ == "__main__":
    main()

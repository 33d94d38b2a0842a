"""Files written by ``rhythmicnet-live beats``: beats.json, rhythm.mid (a click track) and beats.png
(also the plot of a take, with its drum and piano rolls)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..files import atomic_path
from ..models import execution_providers
from .midi_file import seconds_to_steps, steps_to_seconds, write_take_midi
from ..notes import DRUM_CLASSES, DRUM_PITCHES, STEPS_PER_BEAT, Note
from ..analysis.rhythm import RhythmAnalysis

#: GM percussion used by the click track: beats on the high wood block (accented on bar starts),
#: style hits (sudden moves) as hand claps.
CLICK_BEAT, CLICK_DOWNBEAT, CLICK_STYLE = 77, 76, 39
CLICK_STEPS = 0.5  # click length, 16th steps


def _finite(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else round(float(v), 5) for v in values]


def write_beats_json(analysis: RhythmAnalysis, path: Path, source: str, activation_name: str,
                     profile: str | None = None) -> None:
    """beats.json: beat times (s), tempo per frame (BPM), style hits (s), the activation with its rate, the profile."""
    doc = {
        "source": source,
        "activation_model": activation_name,
        "profile": profile,
        "fps": analysis.fps,
        "start_s": analysis.start,
        "beats_s": [round(float(b), 5) for b in analysis.beats],
        "bpm_median": round(float(60.0 / np.median(np.diff(analysis.beats))), 3) if len(analysis.beats) > 2 else None,
        "tempo_bpm": _finite(analysis.tempo),
        "style_hits_s": [round(float(h), 5) for h in analysis.style_hits],
        "activation": _finite(analysis.activation),
        "steps_s": [round(float(s), 5) for s in analysis.step_times],
        "taps": [int(t) for t in analysis.taps],
        "execution_providers": execution_providers(),
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n")


def write_rhythm_midi(analysis: RhythmAnalysis, path: Path) -> None:
    """rhythm.mid: a click on every beat (bar starts accented) and a clap on every style hit, channel 10, with the
    beats as the tempo map (120 BPM from 0 s when fewer than two beats were found)."""
    beats = analysis.beats if len(analysis.beats) >= 2 else np.arange(max(2, len(analysis.beats) + 2)) * 0.5
    clicks = [Note("drums", *((CLICK_DOWNBEAT, 110) if i % 4 == 0 else (CLICK_BEAT, 85)), STEPS_PER_BEAT * i, CLICK_STEPS)
              for i in range(len(analysis.beats))]
    claps = [Note("drums", CLICK_STYLE, 100, float(step), CLICK_STEPS)
             for step in seconds_to_steps(np.asarray(analysis.style_hits, float), beats)]
    with atomic_path(path) as tmp:
        write_take_midi(sorted(clicks + claps, key=lambda n: n.step), beats, tmp)


def plot_rhythm(analysis: RhythmAnalysis, path: Path, title: str, notes: list[Note] | None = None) -> None:
    """A PNG of the activation with decoded beats, style energy with hits, and tempo, on one time axis;
    with ``notes`` (steps from the first beat) also a drum roll and a piano roll on the same axis."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure list, a faster import

    rolls = [] if notes is None else [track for track in ("drums", "piano") if any(n.track == track for n in notes)]
    t = analysis.start + np.arange(len(analysis.activation)) / analysis.fps
    fig = Figure(figsize=(12, 6.5 + 2.2 * len(rolls)))
    axes = fig.subplots(3 + len(rolls), 1, sharex=True, squeeze=False)
    axes = axes[:, 0]
    axes[0].plot(t, analysis.activation, color="tab:blue", lw=1, label="beat activation")
    for b in analysis.beats:
        axes[0].axvline(b, color="tab:red", lw=0.8, alpha=0.7)
    axes[0].set_ylabel("activation")
    axes[0].set_title(f"{title}: {len(analysis.beats)} beats (red)")
    axes[1].plot(t, analysis.style_energy, color="tab:green", lw=1)
    for h in analysis.style_hits:
        axes[1].axvline(h, color="tab:orange", lw=0.8)
    axes[1].set_ylabel("style energy\n(hits orange)")
    axes[2].plot(t, analysis.tempo, color="tab:purple")
    axes[2].set_ylabel("tempo (BPM)")
    for ax, track in zip(axes[3:], rolls):
        chosen = [n for n in notes if n.track == track]
        starts = steps_to_seconds([n.step for n in chosen], analysis.step_times[::STEPS_PER_BEAT])
        ends = steps_to_seconds([n.step + n.duration for n in chosen], analysis.step_times[::STEPS_PER_BEAT])
        pitches = [DRUM_PITCHES.index(n.pitch) if track == "drums" and n.pitch in DRUM_PITCHES else n.pitch for n in chosen]
        ax.hlines(pitches, starts, ends, colors=[colormaps["viridis"](n.velocity / 127) for n in chosen], lw=4)
        for b in analysis.beats:
            ax.axvline(b, color="tab:red", lw=0.5, alpha=0.4)
        if track == "drums":
            ax.set_yticks(range(len(DRUM_CLASSES)), DRUM_CLASSES, fontsize=7)
        ax.set_ylabel(f"{track}\n(pitch)" if track == "piano" else track)
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")

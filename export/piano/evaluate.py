"""Drum2Music evaluation in the manner of the paper's Table 3, on held-out songs, all rows in one run.

Rows: the held-out piano itself ("Dataset"), the shipped ONNX model with memory, the same model without memory
(every bar forgets), and the unconditional baseline (drums masked). Columns:

* PC/bar: distinct pitches per (non-empty) bar; PI: mean |interval| between consecutive notes (semitones);
  IOI: mean inter-onset interval (seconds at 120 BPM, a 16th step = 0.125 s). Closer to the Dataset row is better.
* PCH / NLH: overlap area (sum of minima) between each sample's normalised pitch-class / note-length histogram
  and the histogram of the whole held-out set, averaged over samples (the Dataset row scores real segments the
  same way). Larger is better.
  "in-scale": fraction of a sample's notes inside its best-fitting diatonic scale (tonal consistency; the
  per-sample PCH overlap rewards a sample that wanders through keys, since the held-out set mixes all keys).
  "on drum steps": fraction of piano onsets on a 16th step where the drums hit (rhythmic coupling).
  "PCH set" / "NLH set": the overlap of the whole row's histogram with the held-out set's (set level).
* NLL: teacher-forced validation NLL per piano token (nats), PyTorch checkpoint, on every held-out segment.

    python -m export.piano.evaluate [--segments 80 --bars 8 --temperature 1.0 --top-k 20]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from export.piano.export_onnx import EVAL_JSON, checkpoint_data, load_model
from export.piano.data import build_dataset, segments, split_songs
from export.piano.train import CHECKPOINT, nll, segment_items
from rhythmicnet_live.models import MODELS_DIR
from rhythmicnet_live.notes import STEPS_PER_BAR, Note
from rhythmicnet_live.generation.piano import PianoGenerator, Vocab, decode_piano_bar

SECONDS_PER_STEP = 0.125  # at 120 BPM
LENGTH_BINS = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32])  # note-length classes in 16th steps
PAPER = {"Dataset (Piano)": (5.48, 6.16, 0.31, None, None, None),
         "Drum2Piano w.o. memory": (7.17, 4.63, 0.12, 0.63, 0.52, 0.77),
         "Drum2Piano": (6.82, 5.86, 0.14, 0.63, 0.54, 0.53)}


def bar_notes(ids: list[int], vocab: Vocab, track: str) -> list[Note]:
    return [Note(track, n.pitch, n.velocity, n.step, n.duration) for n in decode_piano_bar(ids, vocab)]


def pch(notes: list[Note]) -> np.ndarray:
    h = np.bincount([n.pitch % 12 for n in notes], minlength=12).astype(float)
    return h / max(h.sum(), 1.0)


def nlh(notes: list[Note]) -> np.ndarray:
    idx = [int(np.argmin(np.abs(np.log(LENGTH_BINS) - np.log(max(n.duration, 1.0))))) for n in notes]
    h = np.bincount(idx, minlength=len(LENGTH_BINS)).astype(float)
    return h / max(h.sum(), 1.0)


MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def in_scale(notes: list[Note]) -> float:
    """Fraction of notes inside the best-fitting diatonic (major / natural minor) scale: tonal consistency."""
    h = np.bincount([n.pitch % 12 for n in notes], minlength=12)
    return float(max(h[(MAJOR + r) % 12].sum() for r in range(12)) / max(h.sum(), 1))


def sample_stats(bars: list[list[Note]]) -> dict:
    """PC/bar, PI, IOI of one sample (a list of bars of notes with bar-relative steps)."""
    counts = [len({n.pitch for n in b}) for b in bars if b]
    notes = sorted((Note(n.track, n.pitch, n.velocity, n.step + STEPS_PER_BAR * i, n.duration)
                    for i, b in enumerate(bars) for n in b), key=lambda n: (n.step, n.pitch))
    pitches = np.array([n.pitch for n in notes])
    onsets = np.unique([n.step for n in notes])
    return {
        "pc_bar": float(np.mean(counts)) if counts else np.nan,
        "pi": float(np.mean(np.abs(np.diff(pitches)))) if len(pitches) > 1 else np.nan,
        "ioi": float(np.mean(np.diff(onsets)) * SECONDS_PER_STEP) if len(onsets) > 1 else np.nan,
        "notes": notes,
    }


def on_drums(piano: list[list[Note]], drums: list[list[Note]]) -> float:
    """Fraction of a sample's piano onsets (16th steps) that fall on a step with a drum hit."""
    hits = {(i, int(round(n.step))) for i, b in enumerate(drums) for n in b}
    onsets = {(i, int(n.step)) for i, b in enumerate(piano) for n in b}
    return len(onsets & hits) / max(len(onsets), 1)


def score_rows(samples: dict[str, list[list[list[Note]]]], reference: list[list[list[Note]]],
               drums: list[list[list[Note]]]) -> dict:
    all_ref = [n for s in reference for b in s for n in b]
    ref_pch, ref_nlh = pch(all_ref), nlh(all_ref)
    rows = {}
    for name, sample_list in samples.items():
        stats = [sample_stats(s) for s in sample_list]
        played = [s for s in stats if s["notes"]]
        rows[name] = {
            "pc_bar": float(np.nanmean([s["pc_bar"] for s in stats])),
            "pi": float(np.nanmean([s["pi"] for s in stats])),
            "ioi": float(np.nanmean([s["ioi"] for s in stats])),
            "pch": float(np.mean([np.minimum(pch(s["notes"]), ref_pch).sum() for s in played])) if played else 0.0,
            "nlh": float(np.mean([np.minimum(nlh(s["notes"]), ref_nlh).sum() for s in played])) if played else 0.0,
            "on_drums": float(np.mean([on_drums(p, d) for p, d in zip(sample_list, drums)])),
            "in_scale": float(np.mean([in_scale(s["notes"]) for s in played])) if played else 0.0,
            "pch_set": float(np.minimum(pch([n for st in stats for n in st["notes"]]), ref_pch).sum()),
            "nlh_set": float(np.minimum(nlh([n for st in stats for n in st["notes"]]), ref_nlh).sum()),
            "notes_per_bar": float(np.mean([len(s["notes"]) for s in stats]) / len(sample_list[0])),
            "silent_samples": len(stats) - len(played),
        }
    return rows


def generate(gen: PianoGenerator, drum_bars: list[list[Note]], bpm: list[float], temperature: float,
             top_k: int, seed: int) -> tuple[list[list[Note]], list[float]]:
    gen.reset(seed)
    bars, times = [], []
    for drums, tempo in zip(drum_bars, bpm):
        t0 = time.perf_counter()
        bars.append(gen.generate_bar(drums, temperature=temperature, top_k=top_k, bpm=tempo))
        times.append(time.perf_counter() - t0)
    return bars, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--segments", type=int, default=80, help="held-out samples per row")
    parser.add_argument("--bars", type=int, default=8, help="bars per sample")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=EVAL_JSON)
    args = parser.parse_args()

    if args.checkpoint.is_file():
        import torch

        torch.set_num_threads(1)
        model, _, ckpt = load_model(args.checkpoint)
        songs, vocab = build_dataset(checkpoint_data(ckpt))
    else:  # a fresh clone: every row from the shipped ONNX model; only the teacher-forced NLL needs PyTorch weights
        print(f"note: no PyTorch checkpoint at {args.checkpoint}, so the NLL column is left out; "
              "'python -m export.piano.train' makes it (see docs). The other columns come from the shipped models.")
        model = None
        songs, vocab = build_dataset()
    _, held = split_songs(songs)
    # spread the samples over all held-out songs: round-robin over each song's segments
    per_song = [[(s, a, b) for a, b in segments(s, args.bars)] for s in held]
    items = [lst[i] for i in range(max(map(len, per_song))) for lst in per_song if i < len(lst)][: args.segments]

    reference = [[bar_notes(p, vocab, "piano") for p in s.piano[a:b]] for s, a, b in items]
    drums = [[bar_notes(d, vocab, "drums") for d in s.drums[a:b]] for s, a, b in items]
    bpms = [[float(vocab.tokens[d[1]][6:]) for d in s.drums[a:b]] for s, a, b in items]
    modes = {"Drum2Piano (memory)": dict(use_memory=True, condition=True),
             "Drum2Piano w/o memory": dict(use_memory=False, condition=True),
             "Unconditional (drums masked)": dict(use_memory=True, condition=False)}
    samples: dict[str, list] = {"Dataset (held-out piano)": reference}
    latency = []
    for name, kw in modes.items():
        gen = PianoGenerator(args.models_dir, **kw)
        out = []
        for i, (d, bpm) in enumerate(zip(drums, bpms)):
            bars, times = generate(gen, d, bpm, args.temperature, args.top_k, args.seed + i)
            out.append(bars)
            latency += times
        samples[name] = out
    rows = score_rows(samples, reference, drums)

    val_items = segment_items(held, 6)
    if model is not None:
        for name, kw in modes.items():
            rows[name]["nll"] = nll(model, val_items, vocab, use_mem=kw["use_memory"], drums=kw["condition"])

    lat = np.array(latency) * 1000
    print(f"held-out: {len(held)} songs, {len(items)} samples x {args.bars} bars per row; NLL on {len(val_items)} "
          f"6-bar segments; temperature {args.temperature}, top-k {args.top_k}, seed {args.seed}")
    print(f"generation time per bar (ms, onnxruntime, 1 thread): p50 {np.percentile(lat, 50):.1f}, "
          f"p95 {np.percentile(lat, 95):.1f} over {len(lat)} bars\n")
    print("| row | PC/bar | PI | IOI (s) | PCH ↑ | NLH ↑ | NLL ↓ | notes/bar | PCH set | NLH set | in-scale | on drum steps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        nll_s = f"{r['nll']:.3f}" if "nll" in r else "-"
        print(f"| {name} | {r['pc_bar']:.2f} | {r['pi']:.2f} | {r['ioi']:.3f} | {r['pch']:.3f} | {r['nlh']:.3f} "
              f"| {nll_s} | {r['notes_per_bar']:.1f} | {r['pch_set']:.3f} | {r['nlh_set']:.3f} | {r['in_scale']:.3f} | {r['on_drums']:.3f} |")
    print("\npaper (Lakh MIDI, 50M-parameter model): " + "; ".join(
        f"{k}: PC/bar {v[0]}, PI {v[1]}, IOI {v[2]}" + (f", PCH {v[3]}, NLH {v[4]}, NLL {v[5]}" if v[3] else "")
        for k, v in PAPER.items()))
    mem = rows["Drum2Piano (memory)"]
    summary = {"pch_overlap": round(mem["pch"], 3), "nlh_overlap": round(mem["nlh"], 3),
               **({"held_out_nll_with_memory": round(mem["nll"], 4),
                   "held_out_nll_without_memory": round(rows["Drum2Piano w/o memory"]["nll"], 4),
                   "held_out_nll_drums_masked": round(rows["Unconditional (drums masked)"]["nll"], 4)}
                  if model is not None else {}),
               "bar_generation_ms_p50": round(float(np.percentile(lat, 50)), 1),
               "bar_generation_ms_p95": round(float(np.percentile(lat, 95)), 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows,
                                    "summary": summary}, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

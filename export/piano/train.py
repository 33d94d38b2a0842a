"""Train the Drum2Music model (drums -> piano, REMI tokens) on CPU, one thread, for a fixed time budget.

Each step takes random segments of ``--bars`` consecutive bars, transposes the piano by a random interval in
[-5, +6] semitones, drops the memory for a fraction of segments (so the same weights serve the "w/o memory"
ablation) and masks the drums of a fraction of bars (so they also serve the unconditional baseline).
Checkpoints (runs/piano/piano.pt) keep the best held-out NLL.

    python -m export.piano.train --minutes 27 [--midi-dir DIR ...]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from export.piano.data import CACHE_DIR, Song, build_dataset, segments, split_songs, transpose_bar
from export.piano.model import PianoConfig, PianoTransformer
from rhythmicnet_live.generation.piano import Vocab, metrical_positions

CHECKPOINT = CACHE_DIR / "piano.pt"


def collate(items: list[tuple[list[list[int]], list[list[int]]]], use_mem: list[bool], vocab: Vocab) -> dict:
    """Segments (drum bars, piano bars) -> padded model inputs and targets (next piano token, -100 = ignored).

    The target of a bar's last token is the next bar's Bar token (end of bar); the segment's last bar ends on Bar.
    """

    def flat(bars: list[list[int]]) -> tuple[list[int], list[int], list[int]]:
        ids, bar_of, start = [], [], []
        for b, toks in enumerate(bars):
            s = len(ids)
            ids += toks
            bar_of += [b] * len(toks)
            start += [s] * len(toks)
        return ids, bar_of, start

    enc = [flat(d) for d, _ in items]
    dec = [flat(p) for _, p in items]
    s_max = max(len(e[0]) for e in enc)
    t_max = max(len(d[0]) for d in dec)

    def pad(rows, n, fill):
        return torch.tensor([r + [fill] * (n - len(r)) for r in rows], dtype=torch.long)

    targets = [d[0][1:] + [vocab.bar] for d in dec]
    return {
        "enc_ids": pad([e[0] for e in enc], s_max, 0),
        "enc_pos": pad([list(metrical_positions(e[0], vocab)) for e in enc], s_max, 0),
        "enc_bar": pad([e[1] for e in enc], s_max, -1),
        "enc_start": pad([e[2] for e in enc], s_max, 0),
        "dec_ids": pad([d[0] for d in dec], t_max, 0),
        "dec_pos": pad([list(metrical_positions(d[0], vocab)) for d in dec], t_max, 0),
        "dec_bar": pad([d[1] for d in dec], t_max, -1),
        "dec_start": pad([d[2] for d in dec], t_max, 0),
        "use_mem": torch.tensor(use_mem),
        "targets": pad(targets, t_max, -100),
    }


def mask_drums(drums: list[list[int]], vocab: Vocab, p: float, rng: random.Random) -> list[list[int]]:
    return [[vocab.bar, vocab.mask] if rng.random() < p else b for b in drums]


def segment_items(songs: list[Song], n_bars: int) -> list[tuple[Song, int, int]]:
    return [(s, a, b) for s in songs for a, b in segments(s, n_bars)]


def nll(model: PianoTransformer, items: list[tuple], vocab: Vocab, *, use_mem: bool, drums: bool,
        batch: int = 8) -> float:
    """Mean per-token NLL (nats) of the piano of ``items`` (song, start, end), teacher-forced."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(items), batch):
            chunk = [(s.drums[a:b] if drums else [[vocab.bar, vocab.mask]] * (b - a), s.piano[a:b]) for s, a, b in items[i : i + batch]]
            x = collate(chunk, [use_mem] * len(chunk), vocab)
            targets = x.pop("targets")
            logits = model(**x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="sum")
            total += float(loss)
            count += int((targets != -100).sum())
    model.train()
    return total / max(count, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--midi-dir", action="append", type=Path)
    parser.add_argument("--minutes", type=float, default=27.0)
    parser.add_argument("--bars", type=int, default=6, help="bars per training segment")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=50, help="linear warm-up steps")
    parser.add_argument("--mem-dropout", type=float, default=0.2)
    parser.add_argument("--drum-dropout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=CHECKPOINT)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    songs, vocab = build_dataset(args.midi_dir)
    train, held = split_songs(songs)
    train_items = segment_items(train, args.bars)
    val_items = segment_items(held, args.bars)[:48]
    config = PianoConfig(vocab_size=len(vocab.tokens), mem_enc=vocab.mem_enc, mem_dec=vocab.mem_dec)
    model = PianoTransformer(config)
    print(f"{len(train)} train songs ({len(train_items)} segments), {len(held)} held-out songs; "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    budget = args.minutes * 60
    start = time.monotonic()
    last_eval = start
    best = math.inf
    step = 0
    log = []
    while time.monotonic() - start < budget:
        frac = (time.monotonic() - start) / budget
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        chunk, use_mem = [], []
        for song, a, b in rng.sample(train_items, args.batch):
            shift = rng.randint(-5, 6)
            piano = [transpose_bar(bar, shift, vocab) for bar in song.piano[a:b]]
            if any(p is None for p in piano):
                piano = song.piano[a:b]
            chunk.append((mask_drums(song.drums[a:b], vocab, args.drum_dropout, rng), piano))
            use_mem.append(rng.random() >= args.mem_dropout)
        x = collate(chunk, use_mem, vocab)
        targets = x.pop("targets")
        logits = model(**x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        now = time.monotonic()
        if now - last_eval > 180 or now - start >= budget:
            last_eval = now
            val = nll(model, val_items, vocab, use_mem=True, drums=True)
            log.append({"step": step, "minutes": (now - start) / 60, "train_loss": float(loss.detach()), "val_nll": val})
            print(json.dumps(log[-1]), flush=True)
            if val < best:
                best = val
                args.out.parent.mkdir(parents=True, exist_ok=True)
                torch.save({"config": config.to_dict(), "state": model.state_dict(), "vocab": vocab.to_json(),
                            "step": step, "val_nll": val, "log": log,
                            "midi_dirs": [str(d) for d in args.midi_dir or []], "args": {k: str(v) for k, v in vars(args).items()}},
                           args.out)
    print(f"done: {step} steps, best held-out NLL {best:.3f} -> {args.out}", flush=True)


if __name__ == "__main__":
    main()

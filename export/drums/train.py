"""Train Rhythm2Drum on the Groove MIDI Dataset (CPU, one thread, checkpointed, resumable).

    python -m export.drums.train [--gmd /path/to/groove] [--out runs/drums] [--tf-steps 1300] [--unet-steps 3000]

1. Hit transformer: random windows of up to 5 bars (4 context bars + 1) from the train split; input taps
   (derived from the drums, see export/groove_data.taps_from_drums, lightly perturbed: off-beat taps dropped
   or added at random, as a video's sudden-move hits would be), teacher-forced hit tokens, cross-entropy.
2. U-Net: random (previous bar, current bar) pairs of hits -> velocities and offsets of the current bar,
   MSE on the hit cells.
Both keep the checkpoint with the lowest validation loss (validation split). The test split is not touched.
Outputs in --out: drums_vocab.json, transformer_{last,best}.pt, unet_{last,best}.pt, train_info.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from export.drums.models import HitTransformer, VelocityOffsetUNet, count_parameters
from export.drums.data import DEFAULT_CACHE, DEFAULT_ROOT, Performance, build_vocabulary, by_split, load_cached
from rhythmicnet_live.generation.drums import BOS, VOCAB_FILE, WINDOW_STEPS, HitVocabulary
from rhythmicnet_live.notes import STEPS_PER_BAR, STEPS_PER_BEAT
from export import RUNS as EXPORT_RUNS

RUNS = EXPORT_RUNS / "drums"
TAP_DROP, TAP_ADD = 0.1, 0.02  # probability of dropping an off-beat tap / adding one at a non-tap step


class Sequences:
    """Per-performance arrays of one split: taps (T,), tokens (T,), hits (T, 9), velocities, offsets."""

    def __init__(self, perfs: list[Performance], vocab: HitVocabulary):
        self.taps = [p.taps.astype(np.int64) for p in perfs]
        self.tokens = [vocab.encode(p.hits) for p in perfs]
        self.hits = [p.hits.astype(np.float32) for p in perfs]
        self.velocities = [p.velocities for p in perfs]
        self.offsets = [p.offsets for p in perfs]
        bars = np.array([len(t) // STEPS_PER_BAR for t in self.taps])
        self.bar_index = [(i, b) for i, n in enumerate(bars) for b in range(n)]  # every (performance, bar)

    def windows(self, rng: np.random.Generator, batch: int, augment: bool):
        """(taps (B, S), tokens_in (B, S), targets (B, S)) of windows that end at random bars; pad target = -100."""
        picks = [self.bar_index[i] for i in rng.integers(len(self.bar_index), size=batch)]
        return self._stack(picks, rng if augment else None)

    def all_windows(self):
        """Deterministic validation windows: each bar once as the last bar of its window (batches of 64)."""
        for start in range(0, len(self.bar_index), 64):
            yield self._stack(self.bar_index[start:start + 64], None)

    def _stack(self, picks, rng):
        taps = np.zeros((len(picks), WINDOW_STEPS), np.int64)
        tokens_in = np.full((len(picks), WINDOW_STEPS), BOS, np.int64)
        targets = np.full((len(picks), WINDOW_STEPS), -100, np.int64)
        for row, (i, last_bar) in enumerate(picks):
            stop = (last_bar + 1) * STEPS_PER_BAR
            start = max(0, stop - WINDOW_STEPS)
            n = stop - start
            t = self.taps[i][start:stop].copy()
            if rng is not None:
                offbeat = np.arange(n) % STEPS_PER_BEAT != 0
                t[offbeat & (t == 1) & (rng.random(n) < TAP_DROP)] = 0
                t[offbeat & (t == 0) & (rng.random(n) < TAP_ADD)] = 1
            taps[row, :n] = t
            y = self.tokens[i][start:stop]
            tokens_in[row, 1:n] = y[:-1]
            targets[row, :n] = y
        return torch.from_numpy(taps), torch.from_numpy(tokens_in), torch.from_numpy(targets)

    def bar_pairs(self, picks):
        """U-Net input hits (B, 9, 32) of (previous, current) bar and targets (B, 9, 16) for the current bar."""
        hits = np.zeros((len(picks), 2 * STEPS_PER_BAR, 9), np.float32)
        vel = np.zeros((len(picks), STEPS_PER_BAR, 9), np.float32)
        off = np.zeros((len(picks), STEPS_PER_BAR, 9), np.float32)
        for row, (i, b) in enumerate(picks):
            cur = slice(b * STEPS_PER_BAR, (b + 1) * STEPS_PER_BAR)
            hits[row, STEPS_PER_BAR:] = self.hits[i][cur]
            if b > 0:
                hits[row, :STEPS_PER_BAR] = self.hits[i][(b - 1) * STEPS_PER_BAR:b * STEPS_PER_BAR]
            vel[row], off[row] = self.velocities[i][cur], self.offsets[i][cur]
        t = lambda a: torch.from_numpy(a).transpose(1, 2).contiguous()  # noqa: E731
        return t(hits), t(vel), t(off)


def cosine_lr(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def _resume(path: Path, model, opt) -> tuple[int, float]:
    if not path.exists():
        return 0, float("inf")
    ckpt = torch.load(path, map_location="cpu")
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    return ckpt["step"], ckpt["best_val"]


def _save(path: Path, model, opt, step: int, best_val: float, config: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "best_val": best_val,
                "config": config}, tmp)
    tmp.replace(path)


def train_transformer(train: Sequences, val: Sequences, vocab: HitVocabulary, out: Path, steps: int,
                      batch: int = 32, lr: float = 1e-3, eval_every: int = 100, seed: int = 0) -> dict:
    config = {"width": 128, "layers": 3, "heads": 4, "hidden": 256, "dropout": 0.1}
    torch.manual_seed(seed)
    model = HitTransformer(vocab.size, **config)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    start, best = _resume(out / "transformer_last.pt", model, opt)
    rng = np.random.default_rng(seed + start)
    t0 = time.time()
    for step in range(start, steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, lr, warmup=100)
        model.train()
        taps, tokens_in, targets = train.windows(rng, batch, augment=True)
        loss = F.cross_entropy(model(taps, tokens_in).reshape(-1, vocab.size), targets.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            val_loss, val_acc = evaluate_transformer(model, val)
            if val_loss < best:
                best = val_loss
                _save(out / "transformer_best.pt", model, opt, step + 1, best, config)
            _save(out / "transformer_last.pt", model, opt, step + 1, best, config)
            print(f"[transformer] step {step + 1}/{steps} train {loss.item():.3f} val nll {val_loss:.4f} "
                  f"acc {val_acc:.3f} best {best:.4f} ({time.time() - t0:.0f} s)", flush=True)
    return {"parameters": count_parameters(model), "steps": steps, "batch": batch, "val_nll_best": round(best, 4)}


@torch.no_grad()
def evaluate_transformer(model: HitTransformer, val: Sequences) -> tuple[float, float]:
    """Validation NLL per token and accuracy over the last bar of every window (each bar once, with context)."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    for taps, tokens_in, targets in val.all_windows():
        logits = model(taps, tokens_in)
        # score only the last bar of each window, so each bar counts once and with its context
        last = torch.zeros_like(targets, dtype=torch.bool)
        lengths = (targets != -100).sum(1)
        for row, n in enumerate(lengths.tolist()):
            last[row, n - STEPS_PER_BAR:n] = True
        sel_logits, sel_targets = logits[last], targets[last]
        total += F.cross_entropy(sel_logits, sel_targets, reduction="sum").item()
        correct += (sel_logits.argmax(-1) == sel_targets).sum().item()
        count += len(sel_targets)
    return total / count, correct / count


def train_unet(train: Sequences, val: Sequences, out: Path, steps: int, batch: int = 64, lr: float = 2e-3,
               eval_every: int = 250, seed: int = 0) -> dict:
    config = {"dropout": 0.1}
    torch.manual_seed(seed)
    model = VelocityOffsetUNet(**config)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    start, best = _resume(out / "unet_last.pt", model, opt)
    rng = np.random.default_rng(seed + 1 + start)
    t0 = time.time()
    for step in range(start, steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, lr, warmup=100)
        model.train()
        picks = [train.bar_index[i] for i in rng.integers(len(train.bar_index), size=batch)]
        hits, vel, off = train.bar_pairs(picks)
        pv, po = model(hits)
        cur = hits[:, :, STEPS_PER_BAR:]
        n = cur.sum().clamp(min=1)
        loss = (((pv[:, :, STEPS_PER_BAR:] - vel) ** 2 * cur).sum() + ((po[:, :, STEPS_PER_BAR:] - off) ** 2 * cur).sum()) / n
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            mse_v, mse_o = evaluate_unet(model, val)
            if mse_v + mse_o < best:
                best = mse_v + mse_o
                _save(out / "unet_best.pt", model, opt, step + 1, best, config)
            _save(out / "unet_last.pt", model, opt, step + 1, best, config)
            print(f"[unet] step {step + 1}/{steps} train {loss.item():.4f} val mse(hit cells) velocity {mse_v:.4f} "
                  f"offset {mse_o:.4f} ({time.time() - t0:.0f} s)", flush=True)
    return {"parameters": count_parameters(model), "unet_steps": steps, "val_hit_mse_sum_best": round(best, 5)}


@torch.no_grad()
def evaluate_unet(model: VelocityOffsetUNet, val: Sequences) -> tuple[float, float]:
    """Validation MSE of velocities and offsets over the hit cells of every bar (previous bar as context)."""
    model.eval()
    sv = so = n = 0.0
    for start in range(0, len(val.bar_index), 256):
        hits, vel, off = val.bar_pairs(val.bar_index[start:start + 256])
        pv, po = model(hits)
        cur = hits[:, :, STEPS_PER_BAR:]
        sv += ((pv[:, :, STEPS_PER_BAR:] - vel) ** 2 * cur).sum().item()
        so += ((po[:, :, STEPS_PER_BAR:] - off) ** 2 * cur).sum().item()
        n += cur.sum().item()
    return sv / n, so / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gmd", type=Path, default=DEFAULT_ROOT, help="GMD folder holding info.csv")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=RUNS)
    parser.add_argument("--tf-steps", type=int, default=1300)
    parser.add_argument("--unet-steps", type=int, default=3000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    splits = by_split(load_cached(args.gmd, args.cache))
    vocab_path = args.out / VOCAB_FILE
    if vocab_path.exists():
        vocab = HitVocabulary.load(vocab_path)
    else:
        vocab = build_vocabulary(splits["train"])
        vocab.save(vocab_path)
    train, val = Sequences(splits["train"], vocab), Sequences(splits["validation"], vocab)
    print(f"train bars {len(train.bar_index)}, validation bars {len(val.bar_index)}, vocabulary {vocab.size}", flush=True)
    t0 = time.time()
    unet_info = train_unet(train, val, args.out, args.unet_steps)
    tf_info = train_transformer(train, val, vocab, args.out, args.tf_steps)
    info = {"transformer": tf_info, "unet": unet_info, "train_minutes_this_run": round((time.time() - t0) / 60, 1),
            "train_bars": len(train.bar_index), "validation_bars": len(val.bar_index)}
    (args.out / "train_info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()

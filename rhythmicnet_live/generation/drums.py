"""Rhythm2Drum at run time: rhythm taps of one bar in, that bar's drum notes out (onnxruntime only).

A bar is 16 steps of 16th notes over the 9 drum classes of ``notes.DRUM_CLASSES``:
- taps: (16,) binary, the rhythm of the bar (quarter-note beats plus extra sudden-move hits);
- hits: (16, 9) binary; velocities (16, 9) in [0, 1]; offsets (16, 9) in [-0.5, 0.5] of a step.

Three shipped ONNX models (trained by ``export/train_drums.py`` on the Groove MIDI Dataset):
- ``drums_encoder``: taps (1, S) -> memory (1, S, 128) and the decoder's cross-attention keys/values,
  S <= WINDOW_STEPS, attention block-causal by bar;
- ``drums_decoder``: hit tokens (1, n) + KV cache of the P earlier tokens + encoder outputs -> logits and new cache
  (n > 1 fills the cache with the context bars in one call, n = 1 is one autoregressive step);
- ``drums_unet``: hits of the previous and current bar (1, 9, 32) -> velocities and offsets (1, 9, 32).
The decoder keeps a context of up to ``CONTEXT_BARS`` earlier bars (taps, tokens and its KV cache), so a
groove continues from bar to bar; ``DrumGenerator.reset()`` forgets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..notes import DRUM_PITCHES, STEPS_PER_BAR, Note
from .sampling import sample_top_k

N_DRUMS = len(DRUM_PITCHES)
#: Bars of context the decoder sees before the bar it generates (training windows are CONTEXT_BARS + 1 bars).
CONTEXT_BARS = 4
WINDOW_STEPS = (CONTEXT_BARS + 1) * STEPS_PER_BAR
#: Length of a generated drum note, in 16th steps.
DRUM_NOTE_STEPS = 0.5
VOCAB_FILE = "drums_vocab.json"
BOS = 0  # token id that starts every decoder window


def hits_to_masks(hits: np.ndarray) -> np.ndarray:
    """(..., 9) binary hits -> (...) int bit masks (bit i = drum class i)."""
    weights = 1 << np.arange(N_DRUMS)
    return (np.asarray(hits, dtype=np.int64) * weights).sum(-1)


def masks_to_hits(masks: np.ndarray) -> np.ndarray:
    """(...) int bit masks -> (..., 9) uint8 hits."""
    masks = np.asarray(masks, dtype=np.int64)
    return ((masks[..., None] >> np.arange(N_DRUMS)) & 1).astype(np.uint8)


@dataclass
class HitVocabulary:
    """Hit combinations (one token per 16th step); token 0 is BOS, token i >= 1 is ``masks[i - 1]``.

    masks: the 9-bit combinations seen in the training data, most frequent first (0 = no hit is one of them).
    counts: how often each occurred in the training split (used to break ties when encoding unseen combinations).
    """

    masks: list[int]
    counts: list[int]

    def __post_init__(self) -> None:
        self._index = {m: i + 1 for i, m in enumerate(self.masks)}
        self._mask_array = np.asarray(self.masks, dtype=np.int64)
        self._hits_table = np.concatenate([np.zeros((1, N_DRUMS), np.uint8), masks_to_hits(self._mask_array)])

    @property
    def size(self) -> int:
        return len(self.masks) + 1

    @classmethod
    def from_hits(cls, hits: np.ndarray, min_count: int = 1) -> "HitVocabulary":
        """Vocabulary of the combinations in ``hits`` (N, 9) that occur at least ``min_count`` times."""
        values, counts = np.unique(hits_to_masks(hits), return_counts=True)
        order = np.lexsort((values, -counts))
        keep = [(int(values[i]), int(counts[i])) for i in order if counts[i] >= min_count or values[i] == 0]
        return cls([m for m, _ in keep], [c for _, c in keep])

    def encode(self, hits: np.ndarray) -> np.ndarray:
        """(T, 9) hits -> (T,) tokens; an unseen combination becomes the nearest known one (fewest differing
        drums, then the most frequent)."""
        out = []
        for mask in hits_to_masks(hits).reshape(-1):
            token = self._index.get(int(mask))
            if token is None:
                diff = np.bitwise_xor(self._mask_array, int(mask))
                distance = masks_to_hits(diff).sum(-1)
                token = int(np.lexsort((-np.asarray(self.counts), distance))[0]) + 1
            out.append(token)
        return np.asarray(out, dtype=np.int64)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """(T,) tokens -> (T, 9) uint8 hits (BOS decodes to no hit)."""
        return self._hits_table[np.asarray(tokens, dtype=np.int64)]

    def save(self, path: Path) -> None:
        data = {
            "description": "Rhythm2Drum hit vocabulary: token 0 = BOS, token i = masks[i-1]; bit k of a mask = drum class k",
            "drum_classes_gm_pitches": list(DRUM_PITCHES),
            "bos": BOS,
            "masks": self.masks,
            "counts": self.counts,
        }
        Path(path).write_text(json.dumps(data) + "\n")

    @classmethod
    def load(cls, path: Path) -> "HitVocabulary":
        data = json.loads(Path(path).read_text())
        if list(data["drum_classes_gm_pitches"]) != list(DRUM_PITCHES):
            raise ValueError(f"{path}: drum classes {data['drum_classes_gm_pitches']} differ from {DRUM_PITCHES}")
        return cls([int(m) for m in data["masks"]], [int(c) for c in data["counts"]])


@dataclass
class DrumBar:
    """One generated bar: hits (16, 9) uint8, velocities (16, 9) in [0, 1], offsets (16, 9) in [-0.5, 0.5] steps."""

    hits: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray

    def to_notes(self, bar_start_step: float) -> list[Note]:
        """Notes (track "drums", GM pitch, velocity 1..127) at bar_start_step + step + offset, sorted by time."""
        steps, drums = np.nonzero(self.hits)
        velocities = np.clip(np.rint(self.velocities[steps, drums] * 127), 1, 127).astype(int).tolist()
        onsets = np.maximum(0.0, bar_start_step + steps + self.offsets[steps, drums].astype(np.float64)).tolist()
        notes = [Note("drums", DRUM_PITCHES[d], v, t, DRUM_NOTE_STEPS) for d, v, t in zip(drums.tolist(), velocities, onsets)]
        return sorted(notes, key=lambda n: (n.step, n.pitch))


class DrumGenerator:
    """Bar-by-bar drum generation from rhythm taps, with the groove carried across bars.

    generate_bar(taps) decodes the bar's 16 hit tokens (temperature-controlled top-k sampling) after the
    taps and tokens of the earlier bars in the context window, then fills in velocities and offsets with
    the U-Net from the previous and current bar's hits. The decoder's KV cache is kept from bar to bar
    while the window grows to ``context_bars`` earlier bars; then the window restarts from the last
    ``restart_bars`` bars (one cache refill every few bars instead of every bar), so the context is
    always between ``restart_bars`` and ``context_bars`` bars once the take has started.
    Reproducible: the same seed, taps and settings give the same notes. ``reset()`` forgets the context.
    """

    def __init__(self, seed: int | None = None, context_bars: int = CONTEXT_BARS, restart_bars: int | None = None,
                 models_dir: Path | None = None, threads: int = 1):
        from ..models import MODELS_DIR, find_model, load_session

        models_dir = Path(models_dir) if models_dir is not None else MODELS_DIR
        restart_bars = context_bars // 2 if restart_bars is None else restart_bars
        if not 0 <= restart_bars <= context_bars <= CONTEXT_BARS:
            raise ValueError(f"need 0 <= restart_bars <= context_bars <= {CONTEXT_BARS}, got {restart_bars}, {context_bars}")
        self.encoder = load_session("drums_encoder", models_dir, threads)
        self.decoder = load_session("drums_decoder", models_dir, threads)
        self.unet = load_session("drums_unet", models_dir, threads)
        entry = find_model("drums_decoder", models_dir).entry
        self.vocab = HitVocabulary.load(models_dir / entry["vocabulary"])
        self._allowed = np.arange(self.vocab.size) != BOS  # BOS only starts a window, it is never sampled
        shape = entry["inputs"][4]["shape"]  # past_k: (layers, 1, heads, past_steps, head_width)
        self._empty_cache = np.zeros((shape[0], 1, shape[2], 0, shape[4]), np.float32)
        self.context_bars, self.restart_bars = context_bars, restart_bars
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Forget the context (earlier bars' taps, tokens and hits); reseed the sampler if a seed is given."""
        if seed is not None or not hasattr(self, "rng"):
            self.rng = np.random.default_rng(seed)
        self._taps: list[np.ndarray] = []  # (16,) taps of each bar in the window before the next one
        self._tokens: list[np.ndarray] = []  # (16,) tokens of the same bars
        self._cache: tuple[np.ndarray, np.ndarray] | None = None  # decoder K/V of window steps fed so far
        self._prev_hits = np.zeros((STEPS_PER_BAR, N_DRUMS), np.uint8)
        self.bars_generated = 0

    @property
    def context(self) -> int:
        """Number of earlier bars the next bar will be conditioned on."""
        return len(self._tokens)

    def _check_taps(self, taps) -> np.ndarray:
        taps = np.asarray(taps)
        if taps.shape != (STEPS_PER_BAR,) or not np.isin(taps, (0, 1)).all():
            raise ValueError(f"taps must be a binary array of shape ({STEPS_PER_BAR},), got {taps.shape} {taps!r}")
        return taps.astype(np.int64)

    def _start(self, taps: np.ndarray):
        """Encode the window and bring the decoder cache up to the bar's first step: (logits, feeds, past_k, past_v)."""
        window_taps = np.concatenate(self._taps + [taps])[None]
        memory, cross_k, cross_v = self.encoder.run(None, {"taps": window_taps})
        feeds = {"memory": memory, "cross_k": cross_k, "cross_v": cross_v}
        if self._cache is None:  # fill the cache: BOS and every context token but the last
            tokens_in, (past_k, past_v) = np.concatenate([[BOS]] + self._tokens), (self._empty_cache, self._empty_cache)
        else:  # the cache holds everything but the previous bar's last token
            tokens_in, (past_k, past_v) = self._tokens[-1][-1:], self._cache
        logits, past_k, past_v = self.decoder.run(
            None, {"tokens": tokens_in.astype(np.int64)[None], **feeds, "past_k": past_k, "past_v": past_v})
        return logits[0, -1], feeds, past_k, past_v

    def generate_bar_matrices(self, taps, temperature: float = 1.0, top_k: int = 5) -> DrumBar:
        """The next bar as matrices (see DrumBar); advances the context by one bar.

        temperature <= 0 decodes greedily; top_k = 0 samples from the whole vocabulary.
        """
        taps = self._check_taps(taps)
        logits, feeds, past_k, past_v = self._start(taps)
        tokens = np.zeros(STEPS_PER_BAR, np.int64)
        for step in range(STEPS_PER_BAR):
            tokens[step] = sample_top_k(logits, self.rng, temperature, top_k, self._allowed)
            if step + 1 < STEPS_PER_BAR:
                out, past_k, past_v = self.decoder.run(
                    None, {"tokens": tokens[None, step:step + 1], **feeds, "past_k": past_k, "past_v": past_v})
                logits = out[0, -1]
        hits = self.vocab.decode(tokens)
        unet_in = np.concatenate([self._prev_hits, hits]).T[None].astype(np.float32)
        velocities, offsets = self.unet.run(None, {"hits": unet_in})
        self._taps.append(taps)
        self._tokens.append(tokens)
        self._cache = (past_k, past_v)
        if len(self._tokens) > self.context_bars:  # window full: restart it from the last restart_bars bars
            keep = len(self._tokens) - self.restart_bars
            self._taps, self._tokens, self._cache = self._taps[keep:], self._tokens[keep:], None
        self._prev_hits = hits
        self.bars_generated += 1
        return DrumBar(hits, velocities[0, :, STEPS_PER_BAR:].T.copy(), offsets[0, :, STEPS_PER_BAR:].T.copy())

    def generate_bar(self, taps, temperature: float = 1.0, top_k: int = 5,
                     bar_start_step: float | None = None) -> list[Note]:
        """Drum notes of the next bar. taps: (16,) binary; bar_start_step: the bar's first 16th step in the take
        (default: 16 x the number of bars generated since the last reset)."""
        start = STEPS_PER_BAR * self.bars_generated if bar_start_step is None else bar_start_step
        return self.generate_bar_matrices(taps, temperature, top_k).to_notes(start)

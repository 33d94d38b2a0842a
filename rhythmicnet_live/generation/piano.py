"""Drum2Music at run time: piano conditioned on the drums, one bar of REMI tokens at a time (onnxruntime only).

The vocabulary is miditok's REMI vocabulary (Bar, Position, Chord, Tempo, Velocity, Pitch, Duration), saved as
JSON in ``models_onnx/piano_vocab.json`` so that neither torch nor miditok is needed here. Time is in 16th steps
(REMI positions 0..15 of a 4/4 bar); one time base for drums and piano.

Two ONNX graphs (one file each) make the model:

* ``piano_encoder``: one bar of drum tokens + the encoder memory (keys/values of the last ``mem_enc`` drum tokens)
  -> the bar's keys/values (to extend the memory) and the decoder's cross-attention keys/values for the bar.
* ``piano_decoder``: one decoder token + its cache (memory of the last ``mem_dec`` piano tokens of earlier bars
  followed by this bar's tokens so far) -> next-token logits and the token's keys/values.

A grammar mask over the REMI token types makes every sampled bar well-formed (see ``Grammar``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..models import MODELS_DIR, load_session
from ..notes import STEPS_PER_BAR, Note
from .sampling import sample_top_k

ENCODER_NAME = "piano_encoder"
DECODER_NAME = "piano_decoder"
VOCAB_FILE = "piano_vocab.json"

#: General MIDI drum pitch -> one of the 9 drum classes' GM pitch (GrooVAE / Roland mapping); others are dropped.
GM_TO_DRUM_CLASS = {
    36: 36, 35: 36,
    38: 38, 37: 38, 40: 38,
    42: 42, 22: 42, 44: 42,
    46: 46, 26: 46,
    43: 43, 58: 43, 41: 43,
    47: 47, 45: 47,
    50: 50, 48: 50,
    49: 49, 52: 49, 55: 49, 57: 49,
    51: 51, 53: 51, 59: 51,
}

#: Every drum hit is tokenised with this duration (one 16th step), at run time and in the training data.
DRUM_DURATION_STEPS = 1
#: Additive attention bias of an empty memory slot.
MASKED = -1e9


@dataclass(frozen=True)
class Vocab:
    """The REMI vocabulary and the model's sizes, as saved by the export (``piano_vocab.json``).

    tokens: token strings by id. mem_enc / mem_dec: memory lengths in tokens. max_bar_tokens: the most decoder
    tokens one bar may hold (the leading Bar token included). velocities: the REMI velocity bins.
    """

    tokens: tuple[str, ...]
    mem_enc: int
    mem_dec: int
    max_bar_tokens: int
    max_drum_tokens: int
    velocities: tuple[int, ...]
    tempos: tuple[float, ...]
    ids: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def load(cls, path: Path) -> "Vocab":
        data = json.loads(Path(path).read_text())
        return cls(
            tokens=tuple(data["tokens"]),
            mem_enc=int(data["mem_enc"]),
            mem_dec=int(data["mem_dec"]),
            max_bar_tokens=int(data["max_bar_tokens"]),
            max_drum_tokens=int(data["max_drum_tokens"]),
            velocities=tuple(int(v) for v in data["velocities"]),
            tempos=tuple(float(t) for t in data["tempos"]),
        )

    def to_json(self) -> dict:
        return {
            "tokens": list(self.tokens),
            "mem_enc": self.mem_enc,
            "mem_dec": self.mem_dec,
            "max_bar_tokens": self.max_bar_tokens,
            "max_drum_tokens": self.max_drum_tokens,
            "velocities": list(self.velocities),
            "tempos": list(self.tempos),
        }

    @property
    def bar(self) -> int:
        return self.ids["Bar_None"]

    @property
    def mask(self) -> int:
        return self.ids["MASK_None"]

    def kind(self, token_id: int) -> str:
        """Token type: "Bar", "Position", "Pitch", "Velocity", "Duration", "Chord", "Tempo", "PAD"..."""
        return self.tokens[token_id].split("_", 1)[0]

    def value(self, token_id: int) -> str:
        return self.tokens[token_id].split("_", 1)[1]

    def velocity_token(self, velocity: int) -> int:
        """The REMI velocity bin nearest to ``velocity`` (ties go to the lower bin, as miditok does)."""
        bins = np.asarray(self.velocities)
        return self.ids[f"Velocity_{int(bins[int(np.argmin(np.abs(bins - velocity)))])}"]

    def tempo_token(self, bpm: float) -> int:
        bins = np.asarray(self.tempos)
        tempo = bins[int(np.argmin(np.abs(bins - bpm)))]
        return self.ids[next(t for t in self.tokens if t.startswith("Tempo_") and float(t[6:]) == tempo)]


def duration_steps(token: str) -> float:
    """16th steps of a REMI duration token ``Duration_beats.positions.resolution``."""
    beats, pos, res = (int(x) for x in token.split("_", 1)[1].split("."))
    return (beats + pos / res) * 4


def metrical_positions(ids: list[int] | np.ndarray, vocab: Vocab) -> np.ndarray:
    """For each token, the REMI position (0..15) in effect there (0 before the first Position token); int64."""
    out = np.zeros(len(ids), dtype=np.int64)
    current = 0
    for i, t in enumerate(ids):
        name = vocab.tokens[int(t)]
        if name == "Bar_None":
            current = 0
        elif name.startswith("Position_"):
            current = int(name[9:])
        out[i] = current
    return out


def encode_drum_bar(notes: list[Note], vocab: Vocab, bpm: float) -> list[int]:
    """One bar of drums as encoder tokens: Bar, Tempo, then Position / Pitch / Velocity / Duration per hit.

    notes: drum Notes with ``step`` relative to the bar start (fractional steps are rounded to the 16th grid,
    steps outside [0, 16) after rounding are dropped); pitches are mapped to the 9 drum classes.
    This reproduces miditok's REMI encoding of the training data (hits sorted by position then pitch, one hit per
    class and position, the loudest kept).
    """
    hits: dict[tuple[int, int], int] = {}
    for n in notes:
        pitch = GM_TO_DRUM_CLASS.get(int(n.pitch))
        step = int(np.floor(n.step + 0.5))
        if pitch is None or not 0 <= step < STEPS_PER_BAR:
            continue
        hits[(step, pitch)] = max(hits.get((step, pitch), 0), int(n.velocity))
    ids = [vocab.bar, vocab.tempo_token(bpm)]
    duration = vocab.ids["Duration_0.1.4"]
    last = -1
    for (step, pitch), velocity in sorted(hits.items()):
        if step != last:
            ids.append(vocab.ids[f"Position_{step}"])
            last = step
        ids += [vocab.ids[f"Pitch_{pitch}"], vocab.velocity_token(velocity), duration]
    return ids[: vocab.max_drum_tokens]


def decode_piano_bar(ids: list[int], vocab: Vocab) -> list[Note]:
    """Piano Notes of one bar of REMI tokens (steps relative to the bar start, durations in 16th steps).

    Chord and Tempo tokens carry no notes; a note is emitted for each complete Pitch, Velocity, Duration triple.
    """
    notes = []
    position = 0
    pitch = velocity = None
    for t in ids:
        name = vocab.tokens[int(t)]
        kind, _, value = name.partition("_")
        if kind == "Position":
            position = int(value)
        elif kind == "Pitch":
            pitch = int(value)
        elif kind == "Velocity" and pitch is not None:
            velocity = int(value)
        elif kind == "Duration" and pitch is not None and velocity is not None:
            notes.append(Note("piano", pitch, velocity, float(position), duration_steps(name)))
            pitch = velocity = None
    return notes


class Grammar:
    """Which REMI tokens may come next in a piano bar, so that every sampled bar is well-formed.

    A bar is: Bar, then groups of Position_p (p strictly increasing), an optional Chord, and one or more
    notes Pitch -> Velocity -> Duration (each pitch at most once per position). The bar ends when the model samples the next Bar token, or is forced to
    end before ``max_bar_tokens`` (a note is never cut). Tempo, special and out-of-range tokens never appear.
    """

    def __init__(self, vocab: Vocab, pitch_range: tuple[int, int] = (21, 108)):
        self.vocab = vocab
        n = len(vocab.tokens)

        def ids_of(pred) -> np.ndarray:
            m = np.zeros(n, dtype=bool)
            for i, tok in enumerate(vocab.tokens):
                m[i] = pred(tok)
            return m

        self.bar = ids_of(lambda t: t == "Bar_None")
        self.pitch = ids_of(lambda t: t.startswith("Pitch_") and pitch_range[0] <= int(t[6:]) <= pitch_range[1])
        self.velocity = ids_of(lambda t: t.startswith("Velocity_"))
        self.duration = ids_of(lambda t: t.startswith("Duration_"))
        self.chord = ids_of(lambda t: t.startswith("Chord_"))
        self.positions = [ids_of(lambda t, p=p: t.startswith("Position_") and int(t[9:]) > p) for p in range(-1, 16)]

    def allowed(self, ids: list[int]) -> np.ndarray:
        """Boolean mask (vocab size) of the tokens allowed after the bar's tokens ``ids`` (ids[0] is Bar)."""
        v = self.vocab
        last = v.kind(ids[-1])
        if last == "Pitch":
            return self.velocity
        if last == "Velocity":
            return self.duration
        position, used = -1, []  # the current position and the pitches already played there
        for t in reversed(ids):
            kind = v.kind(t)
            if kind == "Position":
                position = int(v.value(t))
                break
            if kind == "Pitch":
                used.append(t)
        pitch = self.pitch
        if used:
            pitch = pitch.copy()
            pitch[used] = False  # one note per pitch and position
        if last == "Position" and len(ids) + 4 <= v.max_bar_tokens:  # Chord, Pitch, Velocity, Duration
            return pitch | self.chord
        if last in ("Position", "Chord"):
            return pitch
        # after Bar (start of the bar) or after a complete note; a new note must fit before max_bar_tokens
        allowed = self.bar
        if len(ids) + 4 <= v.max_bar_tokens:  # Position, Pitch, Velocity, Duration
            allowed = allowed | self.positions[position + 1]
        if last == "Duration" and len(ids) + 3 <= v.max_bar_tokens:  # Pitch, Velocity, Duration
            allowed = allowed | pitch
        return allowed

    def is_well_formed(self, ids: list[int]) -> bool:
        """True if ``ids`` (one bar, starting with Bar) follows the grammar and ends on a complete note or Bar."""
        if not ids or ids[0] != self.vocab.bar or len(ids) > self.vocab.max_bar_tokens:
            return False
        for i in range(1, len(ids)):
            if not self.allowed(ids[:i])[ids[i]] or ids[i] == self.vocab.bar:
                return False
        return self.vocab.kind(ids[-1]) in ("Bar", "Duration")


@dataclass
class PianoMemory:
    """The recurrent state carried from bar to bar (numpy, float32).

    enc_k / enc_v: (enc_layers, heads, mem_enc, head_dim) keys/values of the last drum tokens; enc_mask:
    (1, mem_enc) additive bias, 0 for a filled slot and MASKED for an empty one (slots are right-aligned: the
    newest token is last). dec_k / dec_v / dec_mask: the same for the last piano tokens (mem_dec slots).
    """

    enc_k: np.ndarray
    enc_v: np.ndarray
    enc_mask: np.ndarray
    dec_k: np.ndarray
    dec_v: np.ndarray
    dec_mask: np.ndarray

    @staticmethod
    def empty(enc_shape: tuple[int, int, int, int], dec_shape: tuple[int, int, int, int]) -> "PianoMemory":
        return PianoMemory(
            np.zeros(enc_shape, np.float32), np.zeros(enc_shape, np.float32),
            np.full((1, enc_shape[2]), MASKED, np.float32),
            np.zeros(dec_shape, np.float32), np.zeros(dec_shape, np.float32),
            np.full((1, dec_shape[2]), MASKED, np.float32),
        )


def _roll_in(mem: np.ndarray, mask: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Append ``new`` (L, H, n, dh) to a right-aligned memory and keep its last slots; returns (mem, mask)."""
    size = mem.shape[2]
    both = np.concatenate([mem, new], axis=2)[:, :, -size:]
    both_mask = np.concatenate([mask, np.zeros((1, new.shape[2]), np.float32)], axis=1)[:, -size:]
    return np.ascontiguousarray(both), np.ascontiguousarray(both_mask)


class PianoGenerator:
    """Generates piano bar by bar from drum bars with the shipped ONNX model and carries the memory.

    use_memory=False forgets every bar (the paper's "w/o memory" ablation); condition=False masks the drums
    (unconditional baseline). ``seed`` makes the sampling reproducible.
    """

    def __init__(self, models_dir: Path = MODELS_DIR, *, seed: int | None = None, use_memory: bool = True,
                 condition: bool = True, threads: int = 1):
        self.vocab = Vocab.load(Path(models_dir) / VOCAB_FILE)
        self.encoder = load_session(ENCODER_NAME, models_dir, threads)
        self.decoder = load_session(DECODER_NAME, models_dir, threads)
        self.grammar = Grammar(self.vocab)
        shapes = {i.name: i.shape for i in self.encoder.get_inputs() + self.decoder.get_inputs()}
        self._enc_shape = tuple(int(d) for d in shapes["enc_mem_k"])
        layers, heads, _, dh = (int(d) for d in (shapes["cache_k"][0], shapes["cache_k"][1], 0, shapes["cache_k"][3]))
        self._dec_shape = (layers, heads, self.vocab.mem_dec, dh)
        self.use_memory = use_memory
        self.condition = condition
        self.rng = np.random.default_rng(seed)
        self.memory = PianoMemory.empty(self._enc_shape, self._dec_shape)
        self.last_tokens: list[int] = []

    def reset(self, seed: int | None = None) -> None:
        """Forget the memory (a new piece); reseeds the sampler when ``seed`` is given."""
        self.memory = PianoMemory.empty(self._enc_shape, self._dec_shape)
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def generate_bar(self, drum_notes: list[Note], temperature: float = 1.0, top_k: int = 20,
                     bpm: float = 120.0) -> list[Note]:
        """The piano Notes of one bar (steps relative to the bar start) for this bar of drums; updates the memory.

        drum_notes: Notes with step in [0, 16) relative to the bar start. temperature > 0 scales the logits;
        top_k keeps the k most likely allowed tokens (0 keeps all). bpm: the tempo in effect (a Tempo token).
        """
        if not self.use_memory:
            self.reset()
        v = self.vocab
        drums = encode_drum_bar(drum_notes, v, bpm) if self.condition else [v.bar, v.mask]
        mem = self.memory
        enc_k, enc_v, cross_k, cross_v = self.encoder.run(None, {
            "drum_tokens": np.asarray([drums], np.int64),
            "drum_pos": metrical_positions(drums, v)[None],
            "enc_mem_k": mem.enc_k, "enc_mem_v": mem.enc_v, "enc_mem_mask": mem.enc_mask,
        })
        cache_k, cache_v, cache_mask = mem.dec_k, mem.dec_v, mem.dec_mask
        ids = [v.bar]
        position = 0
        new_k, new_v = [], []
        while True:
            token = ids[-1]
            if v.kind(token) == "Position":
                position = int(v.value(token))
            logits, k, vv = self.decoder.run(None, {
                "token": np.asarray([[token]], np.int64), "pos": np.asarray([[position]], np.int64),
                "cache_k": cache_k, "cache_v": cache_v, "cache_mask": cache_mask,
                "cross_k": cross_k, "cross_v": cross_v,
            })
            new_k.append(k)
            new_v.append(vv)
            cache_k = np.concatenate([cache_k, k], axis=2)
            cache_v = np.concatenate([cache_v, vv], axis=2)
            cache_mask = np.concatenate([cache_mask, np.zeros((1, 1), np.float32)], axis=1)
            nxt = sample_top_k(logits[0], self.rng, temperature, top_k, self.grammar.allowed(ids))
            if nxt == v.bar:
                break
            ids.append(nxt)
        self.last_tokens = ids
        dec_k, dec_mask = _roll_in(mem.dec_k, mem.dec_mask, np.concatenate(new_k, axis=2))
        dec_v, _ = _roll_in(mem.dec_v, mem.dec_mask, np.concatenate(new_v, axis=2))
        e_k, e_mask = _roll_in(mem.enc_k, mem.enc_mask, enc_k)
        e_v, _ = _roll_in(mem.enc_v, mem.enc_mask, enc_v)
        self.memory = PianoMemory(e_k, e_v, e_mask, dec_k, dec_v, dec_mask)
        return decode_piano_bar(ids, v)

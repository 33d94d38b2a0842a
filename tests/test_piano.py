"""Drum2Music: REMI tokenisation round trips, grammar, ONNX/PyTorch parity, memory, generation, take MIDI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from rhythmicnet_live.offline.midi_file import steps_to_seconds, write_take_midi
from rhythmicnet_live.models import MODELS_DIR, has_model
from rhythmicnet_live.notes import DRUM_CHANNEL, PIANO_CHANNEL, Note
from rhythmicnet_live.generation.piano import (
    DECODER_NAME, ENCODER_NAME, GM_TO_DRUM_CLASS, Grammar, PianoGenerator, decode_piano_bar, encode_drum_bar,
    metrical_positions,
)

FIXTURE = Path(__file__).parent / "fixtures" / "drums_piano_4bars.mid"
STEP_S = 60 / 100 / 4  # the fixture is at 100 BPM
shipped = pytest.mark.skipif(not (has_model(ENCODER_NAME) and has_model(DECODER_NAME)),
                             reason="the Drum2Music ONNX model is not exported")


@pytest.fixture(scope="module")
def tokenised():
    data = pytest.importorskip("export.piano.data")
    tokenizer = data.make_tokenizer()
    vocab = data.make_vocab(tokenizer)
    song = data.tokenize_song(FIXTURE, tokenizer, vocab)
    assert song is not None
    return song, vocab


def fixture_notes(track: str) -> list[tuple[int, int, int, int]]:
    """(bar, step in bar, pitch, duration steps) of the fixture's notes, straight from pretty_midi."""
    pm = pretty_midi.PrettyMIDI(str(FIXTURE))
    inst = next(i for i in pm.instruments if i.is_drum == (track == "drums"))
    out = []
    for n in inst.notes:
        step = int(round(n.start / STEP_S))
        if track == "drums" and n.pitch not in GM_TO_DRUM_CLASS:
            continue
        out.append((step // 16, step % 16, n.pitch, max(1, int(round((n.end - n.start) / STEP_S)))))
    return sorted(out)


def test_piano_tokens_decode_back_to_the_midi_notes(tokenised):
    song, vocab = tokenised
    assert len(song.piano) == len(song.drums) == 4
    decoded = sorted((i, int(n.step), n.pitch, int(n.duration))
                     for i, bar in enumerate(song.piano) for n in decode_piano_bar(bar, vocab))
    assert decoded == fixture_notes("piano")
    velocities = {n.velocity for bar in song.piano for n in decode_piano_bar(bar, vocab)}
    assert velocities <= set(vocab.velocities)


def test_runtime_drum_encoder_matches_miditok(tokenised):
    """The runtime REMI encoder (no miditok) gives the training data's tokens for the same drum notes."""
    song, vocab = tokenised
    pm = pretty_midi.PrettyMIDI(str(FIXTURE))
    drums = next(i for i in pm.instruments if i.is_drum)
    for bar, ids in enumerate(song.drums):
        notes = [Note("drums", n.pitch, n.velocity, n.start / STEP_S - 16 * bar, 1.0) for n in drums.notes
                 if 16 * bar - 0.5 <= n.start / STEP_S < 16 * bar + 15.5]
        assert encode_drum_bar(notes, vocab, bpm=100.0) == ids
        assert vocab.tokens[ids[1]] == "Tempo_97.33"  # the tempo bin nearest 100 BPM
    hits = sorted((b, int(n.step), n.pitch) for b, ids in enumerate(song.drums) for n in decode_piano_bar(ids, vocab))
    assert hits == [(b, s, p) for b, s, p, _ in fixture_notes("drums")]  # clap dropped, late snare on the grid


def test_grammar_accepts_data_and_rejects_broken_bars(tokenised):
    song, vocab = tokenised
    grammar = Grammar(vocab)
    assert all(grammar.is_well_formed(bar) for bar in song.piano)
    bar = song.piano[0]
    pos = [i for i, t in enumerate(bar) if vocab.kind(t) == "Position"]
    assert not grammar.is_well_formed(bar[:-1])  # ends inside a note
    assert not grammar.is_well_formed(bar[: pos[1]] + bar[pos[0] : pos[1]])  # Position does not increase
    swapped = list(bar)
    swapped[pos[0] + 1], swapped[pos[0] + 2] = swapped[pos[0] + 2], swapped[pos[0] + 1]  # Velocity before Pitch
    assert not grammar.is_well_formed(swapped)
    note = bar[pos[0] + 1 : pos[0] + 4]  # Pitch, Velocity, Duration
    assert not grammar.is_well_formed(bar[: pos[0] + 4] + note)  # the same pitch twice at one position
    assert list(metrical_positions(bar, vocab)[pos[1]:pos[1] + 2]) == [int(vocab.value(bar[pos[1]]))] * 2


def test_grammar_mask_alone_always_yields_well_formed_bars(tokenised):
    """Sampling uniformly among allowed tokens (no model) always closes a well-formed bar within the cap."""
    _, vocab = tokenised
    rng = np.random.default_rng(0)
    for cap in (6, 9, 40):
        small = dataclasses.replace(vocab, max_bar_tokens=cap)
        grammar = Grammar(small)
        for _ in range(30):
            ids = [small.bar]
            while True:
                allowed = np.flatnonzero(grammar.allowed(ids))
                nxt = int(rng.choice(allowed))
                if nxt == small.bar:
                    break
                ids.append(nxt)
            assert len(ids) <= cap and grammar.is_well_formed(ids)
            notes = decode_piano_bar(ids, small)
            assert [n.step for n in notes] == sorted(n.step for n in notes)
            assert len({(n.step, n.pitch) for n in notes}) == len(notes)


def test_transposition_moves_only_pitches(tokenised):
    data = pytest.importorskip("export.piano.data")
    song, vocab = tokenised
    up = data.transpose_bar(song.piano[0], 5, vocab)
    before, after = decode_piano_bar(song.piano[0], vocab), decode_piano_bar(up, vocab)
    assert [n.pitch + 5 for n in before] == [n.pitch for n in after]
    assert [(n.step, n.duration) for n in before] == [(n.step, n.duration) for n in after]
    assert data.transpose_bar(song.piano[0], 60, vocab) is None


def test_onnx_matches_pytorch_bar_by_bar(tokenised, tmp_path):
    """A small random model exported to ONNX: onnxruntime run bar by bar with the memory carried in numpy gives
    the PyTorch teacher-forced logits over 4 bars (memory windows short enough to roll over)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    import torch

    from export.piano.export_onnx import export_graphs, parity
    from export.piano.model import PianoConfig, PianoTransformer

    song, vocab = tokenised
    torch.manual_seed(0)
    model = PianoTransformer(PianoConfig(len(vocab.tokens), d_model=32, heads=2, enc_layers=1, dec_layers=2,
                                         d_ff=64, mem_enc=12, mem_dec=20)).eval()
    enc, dec = export_graphs(model, tmp_path)
    assert parity(model, vocab, enc, dec, [(song.drums, song.piano)]) < 1e-4


def rock_bar() -> list[Note]:
    notes = [Note("drums", 42, 80, float(s), 1.0) for s in range(0, 16, 2)]
    notes += [Note("drums", 36, 110, s, 1.0) for s in (0.0, 8.0, 10.0)]
    return notes + [Note("drums", 38, 100, s, 1.0) for s in (4.1, 11.8)]


@shipped
def test_every_generated_bar_is_well_formed():
    gen = PianoGenerator(seed=1)
    for temperature, top_k in [(1.0, 5), (2.0, 0), (0.7, 1), (1.5, 50)]:
        for _ in range(3):
            notes = gen.generate_bar(rock_bar(), temperature=temperature, top_k=top_k)
            assert gen.grammar.is_well_formed(gen.last_tokens)
            assert all(n.track == "piano" and 0 <= n.step < 16 and n.duration >= 1 and 1 <= n.velocity <= 127
                       for n in notes)
            assert decode_piano_bar(gen.last_tokens, gen.vocab) == notes


@shipped
def test_memory_is_carried_across_bars_and_reset():
    gen = PianoGenerator(seed=3)
    assert np.all(gen.memory.dec_mask < 0) and np.all(gen.memory.enc_mask < 0)
    gen.generate_bar(rock_bar())
    first = len(gen.last_tokens)
    filled = int((gen.memory.dec_mask == 0).sum())
    assert filled == min(first, gen.vocab.mem_dec)
    gen.generate_bar([])
    assert int((gen.memory.dec_mask == 0).sum()) == min(first + len(gen.last_tokens), gen.vocab.mem_dec)
    # the memory changes what the decoder predicts for the same bar
    carried = gen.memory
    runs = []
    for memory in (carried, None):
        gen.reset(seed=5)
        if memory is not None:
            gen.memory = memory
        runs.append([gen.generate_bar(rock_bar(), temperature=1.0, top_k=0) for _ in range(2)])
    assert runs[0] != runs[1]
    gen.reset()
    assert np.all(gen.memory.dec_mask < 0)
    no_mem = PianoGenerator(seed=3, use_memory=False)
    no_mem.generate_bar(rock_bar())
    no_mem.generate_bar(rock_bar())
    assert int((no_mem.memory.dec_mask == 0).sum()) == min(len(no_mem.last_tokens), no_mem.vocab.mem_dec)


@shipped
def test_generation_is_seedable():
    a = [PianoGenerator(seed=7).generate_bar(rock_bar(), temperature=1.2, top_k=5) for _ in range(2)]
    assert a[0] == a[1]


def test_take_midi_has_one_tempo_map_and_both_channels(tmp_path):
    notes = [Note("drums", 36, 100, 0.0, 1.0), Note("drums", 38, 90, 4.25, 1.0),
             Note("piano", 60, 70, 2.0, 4.0), Note("piano", 64, 80, 9.0, 8.0)]
    beats = np.array([0.0, 0.5, 1.1, 1.6, 2.3, 2.8])
    path = write_take_midi(notes, beats, tmp_path / "take.mid")
    mid = mido.MidiFile(str(path))
    channels = {m.channel for t in mid.tracks for m in t if m.type == "note_on"}
    assert channels == {DRUM_CHANNEL, PIANO_CHANNEL}
    assert sum(m.type == "set_tempo" for m in mid.tracks[0]) == 5
    assert all(m.type != "set_tempo" for t in mid.tracks[1:] for m in t)
    pm = pretty_midi.PrettyMIDI(str(path))
    got = sorted((round(n.start, 4), round(n.end, 4), n.pitch) for i in pm.instruments for n in i.notes)
    want = sorted((round(float(steps_to_seconds(n.step, beats)), 4), round(float(steps_to_seconds(n.step + n.duration, beats)), 4), n.pitch)
                  for n in notes)
    assert np.allclose(np.array(got), np.array(want), atol=2e-3)
    assert MODELS_DIR.exists()

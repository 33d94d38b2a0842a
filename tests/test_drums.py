"""Rhythm2Drum: GMD loading, hit vocabulary, ONNX export parity, the runtime generator and drum MIDI files."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from rhythmicnet_live.generation.drums import (
    BOS,
    DrumGenerator,
    HitVocabulary,
    hits_to_masks,
    masks_to_hits,
)
from rhythmicnet_live.offline.midi_file import steps_to_seconds, write_take_midi
from rhythmicnet_live.models import MODELS_DIR, has_model
from rhythmicnet_live.notes import DRUM_CHANNEL, DRUM_PITCHES, Note

GMD_FILE = Path(__file__).parent / "fixtures" / "groove" / "113_jazz-fusion_96_beat_4-4.mid"
BEAT = np.array([1, 0, 0, 0] * 4)
BUSY = np.array([1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1])


@pytest.fixture(scope="module")
def fixture_drums():
    from export.drums.data import load_midi

    return load_midi(GMD_FILE)


def test_gmd_file_on_the_grid(fixture_drums):
    from export.drums.data import PITCH_TO_CLASS

    hits, velocities, offsets = fixture_drums
    assert hits.shape == velocities.shape == offsets.shape == (18 * 16, 9)
    on = hits.astype(bool)
    assert np.all((velocities[on] > 0) & (velocities[on] <= 1)) and np.all(velocities[~on] == 0)
    assert np.all((offsets >= -0.5) & (offsets <= 0.5)) and np.all(offsets[~on] == 0)
    # the first mapped onset of the file, worked out independently with mido, lands where it should
    mid = mido.MidiFile(GMD_FILE)
    tick, first = 0, None
    for msg in mido.merge_tracks(mid.tracks):
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.note in PITCH_TO_CLASS:
            first = (tick * 4 / mid.ticks_per_beat, PITCH_TO_CLASS[msg.note], msg.velocity / 127)
            break
    pos, cls, vel = first
    step = int(np.floor(pos + 0.5)) % 16  # the file's leading silent bars (if any) are trimmed
    assert hits[step, cls] == 1
    assert offsets[step, cls] == pytest.approx(pos - np.floor(pos + 0.5), abs=1e-6)
    assert velocities[step, cls] >= vel - 1e-6


def test_taps_are_beats_plus_accents(fixture_drums):
    from export.drums.data import taps_from_drums

    hits, velocities, _ = fixture_drums
    taps = taps_from_drums(hits, velocities)
    assert taps.shape == (len(hits),) and set(np.unique(taps)) <= {0, 1}
    assert np.all(taps[::4] == 1)
    off_beat = np.arange(len(taps)) % 4 != 0
    loud = ((hits[:, [0, 1, 7]] == 1) & (velocities[:, [0, 1, 7]] >= 0.4)).any(1)
    assert np.array_equal(taps[off_beat], loud[off_beat].astype(np.uint8))
    assert taps[off_beat].sum() > 0  # this groove has off-beat accents


def test_vocabulary_round_trip(fixture_drums, tmp_path):
    hits = fixture_drums[0]
    assert np.array_equal(masks_to_hits(hits_to_masks(hits)), hits)
    vocab = HitVocabulary.from_hits(hits)
    tokens = vocab.encode(hits)
    assert tokens.min() >= 1 and tokens.max() < vocab.size  # BOS is never a hit token
    assert np.array_equal(vocab.decode(tokens), hits)
    vocab.save(tmp_path / "vocab.json")
    again = HitVocabulary.load(tmp_path / "vocab.json")
    assert again.masks == vocab.masks and np.array_equal(again.encode(hits), tokens)
    assert np.array_equal(vocab.decode([BOS]), np.zeros((1, 9), np.uint8))


def test_unknown_combination_maps_to_nearest():
    kick, snare, hat = 1, 2, 4
    vocab = HitVocabulary(masks=[0, kick, kick | hat, snare], counts=[100, 50, 20, 30])
    hits = masks_to_hits(np.array([kick | snare | hat, snare | hat, 256]))
    tokens = vocab.encode(hits)
    assert vocab.masks[tokens[0] - 1] == kick | hat  # one drum away
    assert vocab.masks[tokens[1] - 1] == snare  # one drum away (silence is two away)
    assert vocab.masks[tokens[2] - 1] == 0  # a lone ride: one away from silence only


requires_models = pytest.mark.skipif(
    not all(has_model(n) for n in ("drums_encoder", "drums_decoder", "drums_unet")),
    reason="Rhythm2Drum models are not exported in models_onnx/")


@requires_models
def test_shipped_onnx_matches_pytorch():
    """The shipped ONNX files compute what the PyTorch models with the same weights compute (prefill of 4
    context bars, single cached steps, a 14-step chunk; the U-Net on random hits)."""
    pytest.importorskip("torch")
    from export.drums.export_onnx import torch_models_from_onnx, transformer_parity, unet_parity

    transformer, unet = torch_models_from_onnx(MODELS_DIR)
    assert transformer_parity(transformer, MODELS_DIR / "drums_encoder.onnx", MODELS_DIR / "drums_decoder.onnx") < 1e-4
    assert unet_parity(unet, MODELS_DIR / "drums_unet.onnx") < 1e-5


def test_block_causal_encoder_and_cached_decoder():
    torch = pytest.importorskip("torch")
    from export.drums.models import HitTransformer

    torch.manual_seed(0)
    model = HitTransformer(vocab_size=20).eval()
    taps = torch.randint(0, 2, (1, 80))
    tokens = torch.randint(1, 20, (1, 80))
    with torch.no_grad():
        full = model(taps, tokens)
        changed = taps.clone()
        changed[0, 64:] = 1 - changed[0, 64:]
        assert torch.equal(model(changed, tokens)[:, :64], full[:, :64])  # later bars never leak into earlier ones
        memory = model.encode(taps)
        cross = model.cross_kv(memory)
        past = model.empty_cache(1)
        steps = []
        for i in range(80):
            logits, *past = model.decode(tokens[:, i:i + 1], memory, *cross, *past)
            steps.append(logits)
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-4)


@pytest.fixture(scope="module")
def generator():
    return DrumGenerator(seed=0, models_dir=MODELS_DIR)


@requires_models
def test_generated_notes_are_valid(generator):
    generator.reset(seed=3)
    notes = generator.generate_bar(BUSY, temperature=1.0, top_k=5, bar_start_step=32)
    assert notes, "a busy rhythm should give drum notes"
    for n in notes:
        assert n.track == "drums" and n.pitch in DRUM_PITCHES and 1 <= n.velocity <= 127
        assert 31.5 <= n.step < 48.5 and n.duration > 0
    assert [n.step for n in notes] == sorted(n.step for n in notes)
    with pytest.raises(ValueError):
        generator.generate_bar(np.ones(12))


@requires_models
def test_seed_reproducibility(generator):
    rhythm = [BEAT, BUSY, BEAT, BUSY, BUSY, BEAT]
    generator.reset(seed=11)
    first = [generator.generate_bar(t, temperature=1.2, top_k=8) for t in rhythm]
    generator.reset(seed=11)
    second = [generator.generate_bar(t, temperature=1.2, top_k=8) for t in rhythm]
    assert first == second
    other = DrumGenerator(seed=12, models_dir=MODELS_DIR)
    assert [other.generate_bar(t, temperature=1.2, top_k=8) for t in rhythm] != first
    assert first[1][0].step >= 15.5  # bar 2 starts at step 16 by default (offsets within half a step)


def first_step_probabilities(generator, taps) -> np.ndarray:
    """(V,) probabilities of the next bar's first token given the generator's context (does not advance it)."""
    logits = generator._start(generator._check_taps(taps))[0].astype(np.float64)
    p = np.exp(logits - logits.max())
    return p / p.sum()


@requires_models
def test_context_carries_across_bars(generator):
    generator.reset(seed=0)
    fresh = first_step_probabilities(generator, BEAT)
    contexts = []
    for taps in [BUSY] * 6:
        contexts.append(generator.context)
        generator.generate_bar(taps, temperature=0.0)
    assert contexts == [0, 1, 2, 3, 4, 2]  # window grows to 4 bars, then restarts from the last 2
    assert generator.context == 3
    with_context = first_step_probabilities(generator, BEAT)
    assert not np.allclose(with_context, fresh, atol=1e-3)  # the earlier bars change the next bar
    # the KV cache carried from bar to bar gives what a fresh fill of the same window gives
    assert generator._cache is not None
    cache, generator._cache = generator._cache, None
    refilled = first_step_probabilities(generator, BEAT)
    generator._cache = cache
    np.testing.assert_allclose(with_context, refilled, atol=1e-5)
    generator.reset()
    np.testing.assert_allclose(first_step_probabilities(generator, BEAT), fresh, atol=1e-6)


@requires_models
def test_greedy_follows_the_taps(generator):
    """The trained model puts hits where the rhythm has taps (quarter notes always tapped)."""
    generator.reset(seed=0)
    bar = generator.generate_bar_matrices(BUSY, temperature=0.0)
    assert bar.hits.shape == bar.velocities.shape == bar.offsets.shape == (16, 9)
    assert bar.hits[BUSY == 1].any(1).mean() >= 0.75
    assert np.all(bar.velocities[bar.hits == 0] == 0) and np.all(np.abs(bar.offsets) <= 0.5)


def test_steps_to_seconds_on_the_beat_grid():
    beats = np.array([1.0, 1.5, 2.1, 2.6])
    np.testing.assert_allclose(steps_to_seconds([0, 4, 8, 2, 6], beats), [1.0, 1.5, 2.1, 1.25, 1.8])
    np.testing.assert_allclose(steps_to_seconds([16, -2], beats), [3.1, 0.75])  # extrapolated
    with pytest.raises(ValueError):
        steps_to_seconds([0], [1.0])


def test_drum_midi_reads_back_on_channel_10(tmp_path):
    beats = 0.5 + np.cumsum(np.r_[0, np.full(15, 0.5), np.full(16, 0.45)])  # 120 BPM speeding up to ~133
    notes = [Note("drums", 36, 100, 0.0, 0.5), Note("drums", 42, 60, 2.1, 0.5), Note("drums", 38, 90, 4.0, 0.5),
             Note("drums", 49, 120, 64.0, 0.5), Note("drums", 51, 30, 70.0, 0.5)]
    path = write_take_midi(notes, beats, tmp_path / "drums.mid")
    mid = mido.MidiFile(path)
    note_ons = [m for m in mido.merge_tracks(mid.tracks) if m.type == "note_on" and m.velocity > 0]
    assert len(note_ons) == len(notes) and all(m.channel == DRUM_CHANNEL for m in note_ons)
    pm = pretty_midi.PrettyMIDI(str(path))
    (track,) = pm.instruments
    assert track.is_drum
    got = sorted((n.start, n.pitch, n.velocity) for n in track.notes)
    want = steps_to_seconds([n.step for n in notes], beats)
    np.testing.assert_allclose([g[0] for g in got], want, atol=2e-3)  # one tick at 480 PPQ is ~1 ms
    assert [g[1:] for g in got] == [(n.pitch, n.velocity) for n in notes]
    assert steps_to_seconds([64.0], beats)[0] == pytest.approx(beats[16])


@requires_models
def test_generated_drums_to_midi_file(generator, tmp_path):
    """A rhythm of 4 bars -> drum notes -> drums.mid that mido and pretty_midi read back on channel 10."""
    generator.reset(seed=5)
    notes = [n for taps in (BEAT, BUSY, BEAT, BUSY) for n in generator.generate_bar(taps)]
    beats = 0.25 + 0.5 * np.arange(17)  # 120 BPM, 4 bars
    path = write_take_midi(notes, beats, tmp_path / "drums.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    assert len(pm.instruments) == 1 and pm.instruments[0].is_drum and len(pm.instruments[0].notes) == len(notes)
    assert {m.channel for m in mido.merge_tracks(mido.MidiFile(path).tracks) if m.type == "note_on"} == {DRUM_CHANNEL}
    starts = np.sort([n.start for n in pm.instruments[0].notes])
    assert starts[0] >= 0.25 - 0.5 * 0.125 - 1e-3 and starts[-1] < 0.25 + 8.0

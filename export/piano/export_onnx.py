"""Export the Drum2Music model to ONNX (two graphs, memory as explicit inputs/outputs) with a parity check.

Writes models_onnx/piano_encoder.onnx, models_onnx/piano_decoder.onnx and models_onnx/piano_vocab.json, checks
that onnxruntime run bar by bar (EncoderStep/DecoderStep with the memory carried in numpy) gives the same
logits as the PyTorch model's teacher-forced forward over whole held-out segments, and registers both graphs in
the manifest (with the metrics of runs/piano/eval.json when export.piano.evaluate has written it).

    python -m export.piano.export_onnx [--checkpoint runs/piano/piano.pt]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export.manifest import register_model
from export.piano.data import CACHE_DIR, DEFAULT_SETS, build_dataset, segments, split_songs
from export.piano.model import DecoderStep, EncoderStep, PianoConfig, PianoTransformer
from export.piano.train import CHECKPOINT, collate
from rhythmicnet_live.models import MODELS_DIR
from rhythmicnet_live.generation.piano import DECODER_NAME, ENCODER_NAME, MASKED, VOCAB_FILE, Vocab, _roll_in, metrical_positions

EVAL_JSON = CACHE_DIR / "eval.json"
VERSION = "1.0.0"


def load_model(checkpoint: Path) -> tuple[PianoTransformer, Vocab, dict]:
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = PianoTransformer(PianoConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state"])
    model.eval()
    data = ckpt["vocab"]
    vocab = Vocab(tuple(data["tokens"]), data["mem_enc"], data["mem_dec"], data["max_bar_tokens"],
                  data["max_drum_tokens"], tuple(data["velocities"]), tuple(data["tempos"]))
    return model, vocab, ckpt


def memory_shapes(model: PianoTransformer) -> tuple[tuple, tuple]:
    c = model.config
    dh = c.d_model // c.heads
    return (c.enc_layers, c.heads, c.mem_enc, dh), (c.dec_layers, c.heads, c.mem_dec, dh)


def export_graphs(model: PianoTransformer, out_dir: Path) -> tuple[Path, Path]:
    enc_shape, dec_shape = memory_shapes(model)
    s = torch.export.Dim("drum_len", min=2, max=512)
    enc_args = (torch.zeros(1, 8, dtype=torch.long), torch.zeros(1, 8, dtype=torch.long),
                torch.zeros(enc_shape), torch.zeros(enc_shape), torch.full((1, enc_shape[2]), MASKED))
    enc_path = out_dir / f"{ENCODER_NAME}.onnx"
    torch.onnx.export(
        EncoderStep(model).eval(), enc_args, str(enc_path), dynamo=True, external_data=False,
        input_names=["drum_tokens", "drum_pos", "enc_mem_k", "enc_mem_v", "enc_mem_mask"],
        output_names=["enc_k", "enc_v", "cross_k", "cross_v"],
        dynamic_shapes=({1: s}, {1: s}, None, None, None),
    )
    c = torch.export.Dim("cache_len", min=2, max=4096)
    s2 = torch.export.Dim("drum_len", min=2, max=512)
    cross = (dec_shape[0], dec_shape[1], 8, dec_shape[3])
    dec_args = (torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 1, dtype=torch.long),
                torch.zeros(dec_shape), torch.zeros(dec_shape), torch.full((1, dec_shape[2]), MASKED),
                torch.zeros(cross), torch.zeros(cross))
    dec_path = out_dir / f"{DECODER_NAME}.onnx"
    torch.onnx.export(
        DecoderStep(model).eval(), dec_args, str(dec_path), dynamo=True, external_data=False,
        input_names=["token", "pos", "cache_k", "cache_v", "cache_mask", "cross_k", "cross_v"],
        output_names=["logits", "new_k", "new_v"],
        dynamic_shapes=(None, None, {2: c}, {2: c}, {1: c}, {2: s2}, {2: s2}),
    )
    return enc_path, dec_path


def onnx_teacher_forced(enc: ort.InferenceSession, dec: ort.InferenceSession, drums: list[list[int]],
                        piano: list[list[int]], vocab: Vocab, enc_shape: tuple, dec_shape: tuple) -> np.ndarray:
    """Logits (T, V) of every piano token of consecutive bars, run bar by bar through onnxruntime with memory."""
    ek, ev, em = np.zeros(enc_shape, np.float32), np.zeros(enc_shape, np.float32), np.full((1, enc_shape[2]), MASKED, np.float32)
    dk, dv, dm = np.zeros(dec_shape, np.float32), np.zeros(dec_shape, np.float32), np.full((1, dec_shape[2]), MASKED, np.float32)
    out = []
    for d, p in zip(drums, piano):
        k, v, ck, cv = enc.run(None, {"drum_tokens": np.asarray([d], np.int64), "drum_pos": metrical_positions(d, vocab)[None],
                                      "enc_mem_k": ek, "enc_mem_v": ev, "enc_mem_mask": em})
        cache_k, cache_v, cache_m = dk, dv, dm
        new_k, new_v = [], []
        for t, pos in zip(p, metrical_positions(p, vocab)):
            logits, k1, v1 = dec.run(None, {"token": np.asarray([[t]], np.int64), "pos": np.asarray([[pos]], np.int64),
                                            "cache_k": cache_k, "cache_v": cache_v, "cache_mask": cache_m,
                                            "cross_k": ck, "cross_v": cv})
            out.append(logits[0])
            new_k.append(k1)
            new_v.append(v1)
            cache_k, cache_v = np.concatenate([cache_k, k1], 2), np.concatenate([cache_v, v1], 2)
            cache_m = np.concatenate([cache_m, np.zeros((1, 1), np.float32)], 1)
        dk2, dm2 = _roll_in(dk, dm, np.concatenate(new_k, 2))
        dv, _ = _roll_in(dv, dm, np.concatenate(new_v, 2))
        dk, dm = dk2, dm2
        ek2, em2 = _roll_in(ek, em, k)
        ev, _ = _roll_in(ev, em, v)
        ek, em = ek2, em2
    return np.stack(out)


def parity(model: PianoTransformer, vocab: Vocab, enc_path: Path, dec_path: Path,
           pairs: list[tuple[list[list[int]], list[list[int]]]]) -> float:
    """Max |logit difference| between PyTorch (teacher-forced segments) and onnxruntime (bar by bar).

    pairs: segments as (drum bars, piano bars) of token ids.
    """
    enc, dec = ort.InferenceSession(str(enc_path)), ort.InferenceSession(str(dec_path))
    enc_shape, dec_shape = memory_shapes(model)
    worst = 0.0
    for drums, piano in pairs:
        x = collate([(drums, piano)], [True], vocab)
        x.pop("targets")
        with torch.no_grad():
            ref = model(**x)[0].numpy()
        got = onnx_teacher_forced(enc, dec, drums, piano, vocab, enc_shape, dec_shape)
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def checkpoint_data(ckpt: dict) -> list[Path] | None:
    """The --midi-dir folders the checkpoint was trained on (None: the default sets)."""
    return [Path(d) for d in ckpt.get("midi_dirs", [])] or None


def training_data(midi_dirs: list[Path] | None) -> list[dict]:
    """The manifest's training-data list: every set that gave songs (with its song count) and the tokenizer."""
    tokenizer = {"name": "REMI tokenizer (miditok 3.1, MIT)", "license": "MIT", "source": "github.com/Natooz/MidiTok"}
    if midi_dirs:
        return [{"name": f"user MIDI folder {d.name}", "license": "user-given: see the files' own licences",
                 "source": str(d)} for d in midi_dirs] + [tokenizer]
    songs, _ = build_dataset()
    out = []
    for s in DEFAULT_SETS:
        n = sum(f"/{s['dir']}/" in song.path for song in songs)
        if n:
            out.append({"name": s["name"], "license": s["license"], "source": s["source"], "songs": n})
    return out + [tokenizer]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    args = parser.parse_args()
    model, vocab, ckpt = load_model(args.checkpoint)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    enc_path, dec_path = export_graphs(model, args.out_dir)
    (args.out_dir / VOCAB_FILE).write_text(json.dumps(vocab.to_json(), indent=1) + "\n")
    _, held = split_songs(build_dataset(checkpoint_data(ckpt))[0])
    pairs = [(s.drums[a:b], s.piano[a:b]) for s in held[:3] for a, b in segments(s, 6)[:1]]
    diff = parity(model, vocab, enc_path, dec_path, pairs)
    print(f"parity: max |logit diff| PyTorch vs onnxruntime over held-out segments = {diff:.2e}")
    if diff > 1e-3:
        raise SystemExit("parity check failed")
    metrics = {"held_out_nll_with_memory": round(float(ckpt["val_nll"]), 4), "onnx_parity_max_abs_logit_diff": diff}
    if EVAL_JSON.exists():
        metrics.update(json.loads(EVAL_JSON.read_text())["summary"])
    c = model.config
    common = dict(
        version=VERSION, training_data=training_data(checkpoint_data(ckpt)), metrics=metrics,
        extra={"vocab_file": VOCAB_FILE, "config": c.to_dict(), "trained_steps": ckpt["step"],
               "license_note": "Trained on CC BY-NC-SA data: the weights are for NON-COMMERCIAL use only; "
                               "GPL/BSD/MIT sets and research-only test files are listed per set."},
        models_dir=args.out_dir,
    )
    register_model(ENCODER_NAME, enc_path, description=(
        f"Drum2Music encoder: one bar of REMI drum tokens + memory of the last {c.mem_enc} drum tokens -> "
        f"memory keys/values and cross-attention keys/values ({c.enc_layers} layers, width {c.d_model})"), **common)
    register_model(DECODER_NAME, dec_path, description=(
        f"Drum2Music decoder step: one REMI piano token + cache (memory of {c.mem_dec} piano tokens + this bar) -> "
        f"next-token logits and the token's keys/values ({c.dec_layers} layers, width {c.d_model})"), **common)
    print(f"wrote {enc_path}, {dec_path}, {args.out_dir / VOCAB_FILE}; manifest entries {ENCODER_NAME}, {DECODER_NAME}")


if __name__ == "__main__":
    main()

"""Export the trained Rhythm2Drum models to ONNX (models_onnx/), check parity with PyTorch, register them.

    python -m export.drums.export_onnx [--checkpoints runs/drums] [--metrics runs/drums/metrics.json]

Writes drums_encoder.onnx, drums_decoder.onnx, drums_unet.onnx and drums_vocab.json; each model is
registered in models_onnx/manifest.json (data: Groove MIDI Dataset, CC BY 4.0) with the metrics measured by
``export/evaluate_drums.py`` when its JSON is given.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

from export.drums.models import HitTransformer, VelocityOffsetUNet
from export.manifest import register_model
from rhythmicnet_live.generation.drums import VOCAB_FILE, WINDOW_STEPS, HitVocabulary
from rhythmicnet_live.models import MODELS_DIR
from export import RUNS as EXPORT_RUNS

RUNS = EXPORT_RUNS / "drums"
OPSET = 18
GMD = [{
    "name": "Groove MIDI Dataset (GMD) v1.0.0, 4/4 files, official train split",
    "license": "CC BY 4.0",
    "source": "https://magenta.tensorflow.org/datasets/groove",
    "attribution": "Jon Gillick, Adam Roberts, Jesse Engel, Mohammad Norouzi, David Bamman: Learning to Groove "
                   "with Inverse Sequence Transformations, ICML 2019",
}]


class _Encoder(torch.nn.Module):
    def __init__(self, model: HitTransformer):
        super().__init__()
        self.model = model

    def forward(self, taps):
        memory = self.model.encode(taps)
        return (memory, *self.model.cross_kv(memory))


class _Decoder(torch.nn.Module):
    def __init__(self, model: HitTransformer):
        super().__init__()
        self.model = model

    def forward(self, tokens, memory, cross_k, cross_v, past_k, past_v):
        return self.model.decode(tokens, memory, cross_k, cross_v, past_k, past_v)


def _export(module, args, path: Path, input_names, output_names, dynamic_shapes) -> None:
    """Dynamo export, one file. Not optimised here (onnxruntime optimises at load), so every initializer keeps
    its PyTorch parameter name and ``torch_models_from_onnx`` can rebuild the PyTorch models from the files."""
    module.eval()
    torch.onnx.export(module, args, str(path), input_names=input_names, output_names=output_names,
                      dynamic_shapes=dynamic_shapes, opset_version=OPSET, dynamo=True, external_data=False,
                      optimize=False, verbose=False)


def export_transformer(model: HitTransformer, out_dir: Path) -> tuple[Path, Path]:
    """Encoder: taps (1, S) -> memory (1, S, W), cross_k/cross_v (L, 1, H, S, D).
    Decoder: tokens (1, n), memory, cross_k, cross_v, past_k/past_v (L, 1, H, P, D) -> logits, present_k/v."""
    model.eval()
    seq = torch.export.Dim("steps", min=1, max=WINDOW_STEPS)
    enc_path, dec_path = out_dir / "drums_encoder.onnx", out_dir / "drums_decoder.onnx"
    taps = torch.randint(0, 2, (1, 48))
    _export(_Encoder(model), (taps,), enc_path, ["taps"], ["memory", "cross_k", "cross_v"], {"taps": {1: seq}})
    n, past = torch.export.Dim("new_steps", min=1, max=WINDOW_STEPS), torch.export.Dim("past_steps", min=0, max=WINDOW_STEPS)
    with torch.no_grad():
        memory, cross_k, cross_v = _Encoder(model)(taps)
    d = model.width // model.heads
    past_k = torch.randn(model.layers, 1, model.heads, 20, d)
    past_v = torch.randn(model.layers, 1, model.heads, 20, d)
    tokens = torch.randint(0, model.vocab_size, (1, 7))
    _export(_Decoder(model), (tokens, memory, cross_k, cross_v, past_k, past_v), dec_path,
            ["tokens", "memory", "cross_k", "cross_v", "past_k", "past_v"], ["logits", "present_k", "present_v"],
            {"tokens": {1: n}, "memory": {1: seq}, "cross_k": {3: seq}, "cross_v": {3: seq},
             "past_k": {3: past}, "past_v": {3: past}})
    return enc_path, dec_path


def export_unet(model: VelocityOffsetUNet, out_dir: Path) -> Path:
    path = out_dir / "drums_unet.onnx"
    hits = torch.randint(0, 2, (2, 9, 32)).float()
    batch = torch.export.Dim("batch", min=1, max=4096)
    _export(model.eval(), (hits,), path, ["hits"], ["velocities", "offsets"], {"hits": {0: batch}})
    return path


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def transformer_parity(model: HitTransformer, enc_path: Path, dec_path: Path, seed: int = 0) -> float:
    """Max |ONNX - PyTorch| over encoder memory and decoder logits, for a context prefill then single steps."""
    g = torch.Generator().manual_seed(seed)
    taps = torch.randint(0, 2, (1, WINDOW_STEPS), generator=g)
    tokens = torch.randint(1, model.vocab_size, (1, WINDOW_STEPS), generator=g)
    enc, dec = _session(enc_path), _session(dec_path)
    model.eval()
    with torch.no_grad():
        torch_enc = _Encoder(model)(taps)
        onnx_enc = enc.run(None, {"taps": taps.numpy()})
        worst = max(float(np.abs(o - t.numpy()).max()) for o, t in zip(onnx_enc, torch_enc))
        past_k, past_v = model.empty_cache(1)
        feeds_k, feeds_v = past_k.numpy(), past_v.numpy()
        for start, stop in ((0, 64), (64, 65), (65, 66), (66, 80)):
            logits, past_k, past_v = model.decode(tokens[:, start:stop], *torch_enc, past_k, past_v)
            o_logits, feeds_k, feeds_v = dec.run(None, {
                "tokens": tokens[:, start:stop].numpy(), "memory": onnx_enc[0], "cross_k": onnx_enc[1],
                "cross_v": onnx_enc[2], "past_k": feeds_k, "past_v": feeds_v})
            worst = max(worst, float(np.abs(o_logits - logits.numpy()).max()), float(np.abs(feeds_k - past_k.numpy()).max()))
    return worst


def unet_parity(model: VelocityOffsetUNet, path: Path, seed: int = 0) -> float:
    hits = (torch.rand((8, 9, 32), generator=torch.Generator().manual_seed(seed)) < 0.15).float()
    model.eval()
    with torch.no_grad():
        v, o = model(hits)
    ov, oo = _session(path).run(None, {"hits": hits.numpy()})
    return float(max(np.abs(ov - v.numpy()).max(), np.abs(oo - o.numpy()).max()))


def _initializers(path: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    model = onnx.load(str(path))
    return {i.name.removeprefix(prefix): torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}


def torch_models_from_onnx(models_dir: Path = MODELS_DIR) -> tuple[HitTransformer, VelocityOffsetUNet]:
    """The PyTorch models with the weights stored in the shipped ONNX files (for parity checks of those files)."""
    models_dir = Path(models_dir)
    weights = {**_initializers(models_dir / "drums_encoder.onnx", "model."),
               **_initializers(models_dir / "drums_decoder.onnx", "model.")}
    decoder = onnx.load(str(models_dir / "drums_decoder.onnx"), load_external_data=False)
    heads = decoder.graph.input[4].type.tensor_type.shape.dim[2].dim_value  # past_k (L, 1, H, P, D)
    vocab_size, width = weights["tok_emb.weight"].shape
    layers = len({k.split(".")[1] for k in weights if k.startswith("decoder.")})
    transformer = HitTransformer(vocab_size, width=width, layers=layers, heads=heads,
                                 hidden=weights["decoder.0.ff.0.weight"].shape[0], max_steps=weights["dec_pos.weight"].shape[0])
    transformer.load_state_dict(weights)
    unet = VelocityOffsetUNet()
    unet.load_state_dict({k: v for k, v in _initializers(models_dir / "drums_unet.onnx").items() if k != "phase"})
    return transformer.eval(), unet.eval()


def load_checkpoints(ckpt_dir: Path) -> tuple[HitTransformer, VelocityOffsetUNet, HitVocabulary]:
    vocab = HitVocabulary.load(ckpt_dir / VOCAB_FILE)
    tf_ckpt = torch.load(ckpt_dir / "transformer_best.pt", map_location="cpu")
    transformer = HitTransformer(vocab.size, **tf_ckpt["config"])
    transformer.load_state_dict(tf_ckpt["model"])
    unet_ckpt = torch.load(ckpt_dir / "unet_best.pt", map_location="cpu")
    unet = VelocityOffsetUNet(**unet_ckpt["config"])
    unet.load_state_dict(unet_ckpt["model"])
    return transformer.eval(), unet.eval(), vocab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=Path, default=RUNS)
    parser.add_argument("--metrics", type=Path, default=RUNS / "metrics.json",
                        help="JSON from export/evaluate_drums.py (optional)")
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--register-only", action="store_true",
                        help="only (re)write the manifest entries of the exported files, e.g. with new metrics")
    args = parser.parse_args()
    torch.set_num_threads(1)
    enc_path, dec_path, unet_path = (args.out / f"drums_{n}.onnx" for n in ("encoder", "decoder", "unet"))
    parity_path = args.checkpoints / "parity.json"
    if not args.register_only:
        transformer, unet, _ = load_checkpoints(args.checkpoints)
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.checkpoints / VOCAB_FILE, args.out / VOCAB_FILE)
        export_transformer(transformer, args.out)
        export_unet(unet, args.out)
        parity = {"transformer": transformer_parity(transformer, enc_path, dec_path), "unet": unet_parity(unet, unet_path)}
        parity_path.write_text(json.dumps(parity) + "\n")
        print(f"parity: transformer max |onnx - torch| = {parity['transformer']:.2e}, unet = {parity['unet']:.2e}")
        if max(parity.values()) > 1e-3:
            raise SystemExit("ONNX/PyTorch parity failed")
    parity = json.loads(parity_path.read_text())
    tf_err, unet_err = parity["transformer"], parity["unet"]
    vocab = HitVocabulary.load(args.out / VOCAB_FILE)
    metrics = json.loads(args.metrics.read_text()) if args.metrics.exists() else {}
    train_info = json.loads((args.checkpoints / "train_info.json").read_text())
    version = "1.0.0"
    common = {"version": version, "training_data": GMD, "models_dir": args.out}
    register_model("drums_encoder", enc_path, description=(
        "Rhythm2Drum hits transformer, encoder: rhythm taps (1, S) of up to 5 bars of 16th steps -> memory (1, S, 128) "
        "and the decoder layers' cross-attention keys/values (3, 1, 4, S, 32); block-causal by bar"),
        metrics={"parity_max_abs": tf_err, **train_info["transformer"]}, **common)
    register_model("drums_decoder", dec_path, description=(
        "Rhythm2Drum hits transformer, decoder step with KV cache: hit tokens (1, n) at window steps P..P+n-1, encoder memory, "
        "cross_k/cross_v, past_k/past_v (3, 1, 4, P, 32) -> logits (1, n, V) and the cache with n more steps. "
        "Context: up to 4 earlier bars"),
        metrics={"parity_max_abs": tf_err, **metrics.get("hits", {})}, extra={"vocabulary": VOCAB_FILE, "vocab_size": vocab.size},
        **common)
    register_model("drums_unet", unet_path, description=(
        "Rhythm2Drum U-Net: hits (B, 9, 32) of previous + current bar -> velocities in [0, 1] and offsets in [-0.5, 0.5] "
        "of a 16th step (B, 9, 32), zero where there is no hit"),
        metrics={"parity_max_abs": unet_err, **train_info["unet"], **metrics.get("velocity_offsets", {})}, **common)
    print("registered drums_encoder, drums_decoder, drums_unet in", args.out / "manifest.json")


if __name__ == "__main__":
    main()

"""Drum2Music model: a recurrent encoder-decoder transformer over REMI tokens, one bar per recurrent step.

The encoder reads one bar of drum tokens, the decoder writes that bar's piano tokens with cross-attention to the
bar's encoder output. Both attend to a memory of the previous bars in the Transformer-XL manner: the keys and
values of the last ``mem_enc`` drum tokens / ``mem_dec`` piano tokens of the same layer. Positions are relative
(ALiBi distance biases, which work unchanged across the memory), plus an embedding of the metrical position
(0..15) in effect at each token, which aligns piano and drum tokens in time.

Training runs whole segments of bars at once with attention masks that give each token exactly what the
bar-by-bar recurrence gives it at run time (its own bar causally, plus the memory window before the bar);
``EncoderStep`` and ``DecoderStep`` are the run-time (ONNX) graphs and share every weight.
Shapes: B batch, S drum tokens, T piano tokens, L layers, H heads, M memory slots, dh head width.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

NEG = -1e9


@dataclass
class PianoConfig:
    vocab_size: int
    d_model: int = 128
    heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 4
    d_ff: int = 512
    dropout: float = 0.0
    mem_enc: int = 64
    mem_dec: int = 128

    def to_dict(self) -> dict:
        return asdict(self)


def alibi_slopes(heads: int) -> torch.Tensor:
    return torch.tensor([2.0 ** (-8.0 * (i + 1) / heads) for i in range(heads)])


class Attention(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.drop = nn.Dropout(dropout)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.dh).transpose(1, 2)

    def kv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, D) -> keys, values (B, H, T, dh)."""
        return self.split(self.k(x)), self.split(self.v(x))

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x (B, Tq, D) queries over k, v (B, H, Tk, dh) with additive bias (B or 1, H or 1, Tq, Tk)."""
        q = self.split(self.q(x))
        p = self.drop.p if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), dropout_p=p)
        b, _, t, _ = out.shape
        return self.o(out.transpose(1, 2).reshape(b, t, self.heads * self.dh))


class FeedForward(nn.Sequential):
    def __init__(self, d: int, d_ff: int, dropout: float):
        super().__init__(nn.Linear(d, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d), nn.Dropout(dropout))


class EncoderLayer(nn.Module):
    def __init__(self, c: PianoConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.attn = Attention(c.d_model, c.heads, c.dropout)
        self.ff = FeedForward(c.d_model, c.d_ff, c.dropout)
        self.drop = nn.Dropout(c.dropout)


class DecoderLayer(EncoderLayer):
    def __init__(self, c: PianoConfig):
        super().__init__(c)
        self.ln_x = nn.LayerNorm(c.d_model)
        self.cross = Attention(c.d_model, c.heads, c.dropout)


class PianoTransformer(nn.Module):
    def __init__(self, c: PianoConfig):
        super().__init__()
        self.config = c
        self.emb = nn.Embedding(c.vocab_size, c.d_model)
        self.pos_emb = nn.Embedding(16, c.d_model)
        self.encoder = nn.ModuleList(EncoderLayer(c) for _ in range(c.enc_layers))
        self.decoder = nn.ModuleList(DecoderLayer(c) for _ in range(c.dec_layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size)
        self.register_buffer("slopes", alibi_slopes(c.heads).view(1, -1, 1, 1), persistent=False)
        self.drop = nn.Dropout(c.dropout)

    def embed(self, ids: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        return self.drop(self.emb(ids) * math.sqrt(self.config.d_model) + self.pos_emb(pos))

    # ---- training: whole segments ------------------------------------------------------------------------------
    def forward(self, enc_ids, enc_pos, enc_bar, enc_start, dec_ids, dec_pos, dec_bar, dec_start, use_mem):
        """Teacher-forced logits (B, T, V) for a batch of segments.

        *_ids, *_pos: token ids and metrical positions; *_bar: bar index of each token (-1 for padding);
        *_start: sequence index of the first token of the token's bar; use_mem: (B,) bool, False = no memory.
        """
        c = self.config
        idx_e = torch.arange(enc_ids.shape[1])
        idx_d = torch.arange(dec_ids.shape[1])
        mem = use_mem.view(-1, 1, 1)
        same = enc_bar[:, :, None] == enc_bar[:, None, :]
        window = mem & (idx_e[None, None, :] < enc_start[:, :, None]) & (idx_e[None, None, :] >= enc_start[:, :, None] - c.mem_enc)
        allowed = (same | window) & (enc_bar[:, None, :] >= 0) | (idx_e[:, None] == idx_e[None, :])[None]
        dist = (idx_e[:, None] - idx_e[None, :]).abs().float()[None, None]
        enc_bias = torch.where(allowed[:, None], -self.slopes * dist, torch.tensor(NEG))
        x = self.embed(enc_ids, enc_pos)
        for layer in self.encoder:
            h = layer.ln1(x)
            k, v = layer.attn.kv(h)
            x = x + layer.drop(layer.attn.attend(h, k, v, enc_bias))
            x = x + layer.ff(layer.ln2(x))
        enc = self.enc_norm(x)

        causal = idx_d[None, :] <= idx_d[:, None]
        same = dec_bar[:, :, None] == dec_bar[:, None, :]
        window = mem & (idx_d[None, None, :] >= dec_start[:, :, None] - c.mem_dec)
        allowed = causal[None] & (same | window) & (dec_bar[:, None, :] >= 0) | (idx_d[:, None] == idx_d[None, :])[None]
        dist = (idx_d[:, None] - idx_d[None, :]).float()[None, None]
        dec_bias = torch.where(allowed[:, None], -self.slopes * dist, torch.tensor(NEG))
        cross_bias = torch.where((dec_bar[:, :, None] == enc_bar[:, None, :])[:, None], 0.0, NEG)
        y = self.embed(dec_ids, dec_pos)
        for layer in self.decoder:
            h = layer.ln1(y)
            k, v = layer.attn.kv(h)
            y = y + layer.drop(layer.attn.attend(h, k, v, dec_bias))
            ck, cv = layer.cross.kv(enc)
            y = y + layer.drop(layer.cross.attend(layer.ln_x(y), ck, cv, cross_bias))
            y = y + layer.ff(layer.ln2(y))
        return self.head(self.dec_norm(y))


class EncoderStep(nn.Module):
    """Run-time graph: one drum bar + encoder memory -> the bar's keys/values and the decoder's cross keys/values.

    drum_tokens, drum_pos: (1, S) int64. enc_mem_k / enc_mem_v: (Le, H, Me, dh); enc_mem_mask: (1, Me) additive.
    Returns enc_k, enc_v (Le, H, S, dh) and cross_k, cross_v (Ld, H, S, dh).
    """

    def __init__(self, model: PianoTransformer):
        super().__init__()
        self.m = model

    def forward(self, drum_tokens, drum_pos, enc_mem_k, enc_mem_v, enc_mem_mask):
        m = self.m
        s = drum_tokens.shape[1]
        mem = enc_mem_k.shape[2]
        q_idx = torch.arange(s) + mem
        k_idx = torch.arange(s + mem)
        dist = (q_idx[:, None] - k_idx[None, :]).abs().float()[None, None]
        mask = torch.cat([enc_mem_mask, torch.zeros(1, s)], dim=1)[:, None, None, :]
        bias = -m.slopes * dist + mask
        x = m.embed(drum_tokens, drum_pos)
        ks, vs = [], []
        for i, layer in enumerate(m.encoder):
            h = layer.ln1(x)
            k, v = layer.attn.kv(h)
            ks.append(k[0])
            vs.append(v[0])
            x = x + layer.attn.attend(h, torch.cat([enc_mem_k[i : i + 1], k], 2), torch.cat([enc_mem_v[i : i + 1], v], 2), bias)
            x = x + layer.ff(layer.ln2(x))
        enc = m.enc_norm(x)
        cross = [layer.cross.kv(enc) for layer in m.decoder]
        return (torch.stack(ks), torch.stack(vs), torch.stack([k[0] for k, _ in cross]),
                torch.stack([v[0] for _, v in cross]))


class DecoderStep(nn.Module):
    """Run-time graph: one piano token -> next-token logits and the token's keys/values.

    token, pos: (1, 1) int64. cache_k / cache_v: (Ld, H, C, dh), the decoder memory followed by this bar's earlier
    tokens; cache_mask: (1, C) additive. cross_k / cross_v: (Ld, H, S, dh) from EncoderStep.
    Returns logits (1, V) and new_k, new_v (Ld, H, 1, dh).
    """

    def __init__(self, model: PianoTransformer):
        super().__init__()
        self.m = model

    def forward(self, token, pos, cache_k, cache_v, cache_mask, cross_k, cross_v):
        m = self.m
        c = cache_k.shape[2]
        dist = (c - torch.arange(c + 1)).float()[None, None, None, :]
        bias = -m.slopes * dist + torch.cat([cache_mask, torch.zeros(1, 1)], dim=1)[:, None, None, :]
        y = m.embed(token, pos)
        ks, vs = [], []
        for i, layer in enumerate(m.decoder):
            h = layer.ln1(y)
            k, v = layer.attn.kv(h)
            ks.append(k[0])
            vs.append(v[0])
            y = y + layer.attn.attend(h, torch.cat([cache_k[i : i + 1], k], 2), torch.cat([cache_v[i : i + 1], v], 2), bias)
            y = y + layer.cross.attend(layer.ln_x(y), cross_k[i : i + 1], cross_v[i : i + 1], torch.zeros(1, 1, 1, 1))
            y = y + layer.ff(layer.ln2(y))
        return m.head(m.dec_norm(y))[:, 0], torch.stack(ks), torch.stack(vs)

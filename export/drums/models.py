"""Rhythm2Drum models (PyTorch): taps -> hit tokens (encoder-decoder transformer), hits -> velocities/offsets (U-Net).

Shapes (B batch, S window steps <= WINDOW_STEPS, 16 steps a bar, V vocabulary size incl. BOS):
- HitTransformer.encode(taps (B, S) int64) -> memory (B, S, 128). A step attends to the taps of its own bar
  and the bars before (block-causal), so a bar's memory never depends on later bars: at run time only the
  bars up to the one being generated are known.
- HitTransformer.cross_kv(memory) -> cross_k, cross_v (L, B, H, S, 32): computed once per bar.
- HitTransformer.decode(tokens (B, n) int64, memory (B, S, 128), cross_k/cross_v, past_k/past_v (L, B, H, P, 32))
  -> logits (B, n, V), present_k/present_v (L, B, H, P + n, 32). Token i sits at step P + i of the window;
  its input is the previous step's token (BOS at step 0) plus the memory at its own step; self-attention is
  causal over the cache and the new tokens, cross-attention is block-causal by bar.
- VelocityOffsetUNet(hits (B, 9, 32)) -> velocities (B, 9, 32) in [0, 1], offsets (B, 9, 32) in [-0.5, 0.5],
  both zero where there is no hit. Input: previous bar + current bar.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from rhythmicnet_live.generation.drums import N_DRUMS, WINDOW_STEPS
from rhythmicnet_live.notes import STEPS_PER_BAR

NEG = -1e9  # additive attention bias for masked keys


def bar_mask_bias(q_pos: torch.Tensor, k_pos: torch.Tensor, causal_steps: bool) -> torch.Tensor:
    """(n, m) additive bias: 0 where query step q may see key step k, NEG elsewhere.

    causal_steps: k <= q (decoder self-attention); otherwise bar(k) <= bar(q) (block-causal by bar).
    """
    if causal_steps:
        allowed = k_pos[None, :] <= q_pos[:, None]
    else:
        allowed = (k_pos[None, :] // STEPS_PER_BAR) <= (q_pos[:, None] // STEPS_PER_BAR)
    return torch.where(allowed, 0.0, NEG)


class Attention(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.head_width = heads, width // heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def project_kv(self, source):
        """source (B, m, W) -> keys, values (B, H, m, W / H)."""
        b, m, _ = source.shape
        k, v = self.kv(source).view(b, m, 2, self.heads, self.head_width).permute(2, 0, 3, 1, 4)
        return k, v

    def attend(self, x, k, v, bias):
        """x (B, n, W) attends to keys/values (B, H, m, W / H) with additive bias (n, m)."""
        b, n, _ = x.shape
        q = self.q(x).view(b, n, self.heads, self.head_width).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_width) + bias
        y = self.drop(torch.softmax(scores, dim=-1)) @ v
        return self.out(y.transpose(1, 2).reshape(b, n, -1))

    def forward(self, x, source, bias, past_k=None, past_v=None):
        """x attends to source (after the cached keys/values, if given); returns (y, keys, values)."""
        k, v = self.project_kv(source)
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        return self.attend(x, k, v, bias), k, v


class FeedForward(nn.Sequential):
    def __init__(self, width: int, hidden: int, dropout: float):
        super().__init__(nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, width))


class EncoderLayer(nn.Module):
    def __init__(self, width, heads, hidden, dropout):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = Attention(width, heads, dropout)
        self.ff = FeedForward(width, hidden, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias):
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, h, bias)[0])
        return x + self.drop(self.ff(self.norm2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, width, heads, hidden, dropout):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(width), nn.LayerNorm(width), nn.LayerNorm(width)
        self.self_attn = Attention(width, heads, dropout)
        self.cross_attn = Attention(width, heads, dropout)
        self.ff = FeedForward(width, hidden, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, cross_k, cross_v, self_bias, cross_bias, past_k, past_v):
        h = self.norm1(x)
        y, k, v = self.self_attn(h, h, self_bias, past_k, past_v)
        x = x + self.drop(y)
        x = x + self.drop(self.cross_attn.attend(self.norm2(x), cross_k, cross_v, cross_bias))
        return x + self.drop(self.ff(self.norm3(x))), k, v


class HitTransformer(nn.Module):
    """Encoder-decoder transformer from taps to hit tokens (width 128, 3 + 3 layers, 4 heads: about 1M parameters)."""

    def __init__(self, vocab_size: int, width: int = 128, layers: int = 3, heads: int = 4, hidden: int = 256,
                 dropout: float = 0.1, max_steps: int = WINDOW_STEPS):
        super().__init__()
        self.vocab_size, self.width, self.layers, self.heads = vocab_size, width, layers, heads
        self.tap_emb = nn.Embedding(2, width)
        self.enc_pos = nn.Embedding(max_steps, width)
        self.tok_emb = nn.Embedding(vocab_size, width)
        self.dec_pos = nn.Embedding(max_steps, width)
        self.encoder = nn.ModuleList(EncoderLayer(width, heads, hidden, dropout) for _ in range(layers))
        self.decoder = nn.ModuleList(DecoderLayer(width, heads, hidden, dropout) for _ in range(layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(width), nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size)
        self.drop = nn.Dropout(dropout)

    def empty_cache(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (self.layers, batch, self.heads, 0, self.width // self.heads)
        return torch.zeros(shape), torch.zeros(shape)

    def encode(self, taps: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(taps.shape[1], device=taps.device)
        x = self.drop(self.tap_emb(taps) + self.enc_pos(pos))
        bias = bar_mask_bias(pos, pos, causal_steps=False)
        for layer in self.encoder:
            x = layer(x, bias)
        return self.enc_norm(x)

    def cross_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each decoder layer's cross-attention keys and values of the memory: (L, B, H, S, W / H) each."""
        kvs = [layer.cross_attn.project_kv(memory) for layer in self.decoder]
        return torch.stack([k for k, _ in kvs]), torch.stack([v for _, v in kvs])

    def decode(self, tokens, memory, cross_k, cross_v, past_k, past_v):
        n, past = tokens.shape[1], past_k.shape[3]
        pos = torch.arange(n, device=tokens.device) + past
        x = self.drop(self.tok_emb(tokens) + self.dec_pos(pos) + memory.index_select(1, pos))
        self_bias = bar_mask_bias(pos, torch.arange(past + n, device=tokens.device), causal_steps=True)
        cross_bias = bar_mask_bias(pos, torch.arange(memory.shape[1], device=tokens.device), causal_steps=False)
        ks, vs = [], []
        for i, layer in enumerate(self.decoder):
            x, k, v = layer(x, cross_k[i], cross_v[i], self_bias, cross_bias, past_k[i], past_v[i])
            ks.append(k)
            vs.append(v)
        return self.head(self.dec_norm(x)), torch.stack(ks), torch.stack(vs)

    def forward(self, taps: torch.Tensor, tokens_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, S, V) for a window: tokens_in = [BOS, y_0, ..., y_{S-2}]."""
        past_k, past_v = self.empty_cache(taps.shape[0])
        memory = self.encode(taps)
        return self.decode(tokens_in, memory, *self.cross_kv(memory), past_k.to(taps.device), past_v.to(taps.device))[0]


class ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, dropout: float):
        super().__init__(nn.Conv1d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2), nn.Dropout(dropout),
                         nn.Conv1d(cout, cout, 3, padding=1), nn.LeakyReLU(0.2))


def step_phase_features(steps: int) -> torch.Tensor:
    """(6, steps) sin/cos of the position in the bar, half bar and beat (the U-Net's sense of metre)."""
    t = torch.arange(steps, dtype=torch.float32)
    feats = []
    for period in (16, 8, 4):
        feats += [torch.sin(2 * math.pi * t / period), torch.cos(2 * math.pi * t / period)]
    return torch.stack(feats)


class VelocityOffsetUNet(nn.Module):
    """1-D U-Net over time (channels = drums): 4 down-sampling blocks of 16, 32, 64, 128 channels as in the paper."""

    def __init__(self, channels=(16, 32, 64, 128), dropout: float = 0.1, steps: int = 2 * STEPS_PER_BAR):
        super().__init__()
        self.register_buffer("phase", step_phase_features(steps), persistent=False)
        cin = N_DRUMS + self.phase.shape[0]
        self.down = nn.ModuleList()
        for c in channels:
            self.down.append(ConvBlock(cin, c, dropout))
            cin = c
        self.pool = nn.MaxPool1d(2)
        self.bottom = ConvBlock(cin, cin, dropout)
        self.up = nn.ModuleList()
        for c in reversed(channels):
            self.up.append(ConvBlock(cin + c, c, dropout))
            cin = c
        self.head = nn.Conv1d(cin, 2 * N_DRUMS, 1)

    def forward(self, hits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([hits, self.phase.expand(hits.shape[0], -1, -1)], dim=1)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for block, skip in zip(self.up, reversed(skips)):
            x = block(torch.cat([F.interpolate(x, scale_factor=2.0, mode="nearest"), skip], dim=1))
        out = self.head(x)
        velocities = torch.sigmoid(out[:, :N_DRUMS]) * hits
        offsets = 0.5 * torch.tanh(out[:, N_DRUMS:]) * hits
        return velocities, offsets


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

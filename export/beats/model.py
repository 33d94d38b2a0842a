"""Video2Rhythm beat model (PyTorch): ST-GCN over COCO-17 + relative/SSM transformer, causal with lookahead L.

Input: per-frame joint features (N, T, 17, 5) from ``rhythmicnet_live.analysis.beat_model.beat_features`` at 30 fps
(position x, y in torso lengths, velocity x, y per frame x 10, observed mask). Output: beat activation
(N, T) in [0, 1] (sigmoid), one value per frame; with ``tempo_classes`` > 0 also (multi-task, Boeck, Davies &
Knees 2019) a tempo distribution per frame over ``tempo_bins(tempo_classes)`` (softmax; the decoder's tempo
prior) and, for training only, auxiliary regressions: sin and cos of the beat phase and the music's onset
envelope.

Causality (paper section 3 made live):

* temporal convolutions are left-padded: their padding is a cache of the previous ``kernel - 1`` frames
  (zeros at the start of a clip), so running frame by frame with the cache equals running the whole clip;
* attention is banded: query frame i sees key frames i - (W - 1) .. i + L in the first layer and
  i - (W - 1) .. i in the second, so the model looks at most ``lookahead`` = L frames ahead
  (the activation of frame t is known at frame t + L). L is a property of the mask only, so one
  model can be trained with L drawn from 0 .. ``max_lookahead`` per batch and run at any such L
  (``BeatNet.set_lookahead``): that is how the accuracy/latency trade-off is measured;
* the self-similarity matrix (negative squared distance of the frame features, softmax over the keys a
  query may see) is computed over that band only, projected per head (1x1 conv) and added to the logits.

``BeatNet.step`` is the streaming form exported to ONNX: new frames + caches in, activations over
(history + new frames) and updated caches out. ``BeatNet.forward`` is ``step`` from empty caches.
The ablation variants switch parts off: ``encoder='tcn'`` (dilated causal TCN, Pedersoli & Goto 2020
style), ``transformer=False`` (a lookahead convolution replaces it), ``rel_attn``, ``ssm``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rhythmicnet_live.input.keypoints import COCO17_EDGES

NUM_JOINTS = 17
NUM_FEATURES = 5


@dataclass(frozen=True)
class BeatNetConfig:
    """Architecture. ``window``: attention band W in frames; ``lookahead``: L frames.

    Small on purpose: the AIST++ subset has 76 short dances by 26 dancers, and larger models (10 ST-GCN
    blocks of 32-64 channels, 2 layers of width 64, a TCN reaching 17 s back) fitted the training dancers
    within a few hundred steps while their loss on held-out dancers rose. The encoders see about 1 s
    (ST-GCN: 4 blocks of kernel 5 = 17 frames; TCN: kernel 5, dilations 1, 2, 4 = 29 frames).
    """

    encoder: str = "stgcn"  # "stgcn" or "tcn"
    transformer: bool = True
    rel_attn: bool = True
    ssm: bool = True
    lookahead: int = 4
    max_lookahead: int = 8
    window: int = 60
    channels: tuple[int, ...] = (8, 8, 16, 16)
    kernel: int = 5
    tcn_dilations: tuple[int, ...] = (1, 2, 4)
    width: int = 32
    layers: int = 1
    heads: int = 2
    dropout: float = 0.2
    tempo_classes: int = 0  # 0: beat activation only (model v1)

    @property
    def history(self) -> int:
        """Frames of encoder features the transformer needs before the newest frame (streaming state)."""
        return self.layers * (self.window - 1) + self.lookahead if self.transformer else self.lookahead

    def to_dict(self) -> dict:
        return asdict(self)


def tempo_bins(classes: int, min_bpm: float = 60.0, max_bpm: float = 180.0) -> np.ndarray:
    """Centres (BPM) of ``classes`` tempo classes, log-spaced over ``min_bpm .. max_bpm``."""
    return np.geomspace(min_bpm, max_bpm, classes)


def coco_partitions(max_hop: int = 2) -> np.ndarray:
    """ST-GCN distance partitioning of the COCO-17 graph: (max_hop + 1, 17, 17), hop 0 = self.

    Each partition is the symmetric-normalised adjacency of the joints exactly ``hop`` bones apart.
    """
    adj = np.zeros((NUM_JOINTS, NUM_JOINTS))
    for i, j in COCO17_EDGES:
        adj[i, j] = adj[j, i] = 1
    hops = np.full((NUM_JOINTS, NUM_JOINTS), np.inf)
    reach = np.eye(NUM_JOINTS)
    power = np.eye(NUM_JOINTS)
    for d in range(max_hop + 1):
        hops[(reach > 0) & np.isinf(hops)] = d
        power = power @ adj
        reach = reach + power
    reachable = np.isfinite(hops).astype(float)
    deg = reachable.sum(1)
    norm = reachable / np.sqrt(np.outer(deg, deg))
    return np.stack([np.where(hops == d, norm, 0.0) for d in range(max_hop + 1)]).astype(np.float32)


class STGCNBlock(nn.Module):
    """Spatial graph conv (partitions x learnable edge importance) -> BN-ReLU -> causal temporal conv -> BN, residual."""

    def __init__(self, cin: int, cout: int, partitions: torch.Tensor, kernel: int, dropout: float):
        super().__init__()
        self.k, self.cout = partitions.shape[0], cout
        self.register_buffer("partitions", partitions)
        self.importance = nn.Parameter(torch.ones_like(partitions))
        self.gcn = nn.Conv2d(cin, cout * self.k, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.tconv = nn.Conv2d(cout, cout, (kernel, 1))
        self.bn2 = nn.BatchNorm2d(cout)
        self.drop = nn.Dropout(dropout)
        self.residual = nn.Identity() if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
        self.cache_frames = kernel - 1

    def forward(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, Cin, T, V), cache (N, Cout, kernel-1, V) -> (N, Cout, T, V), new cache."""
        n, _, t, v = x.shape
        y = self.gcn(x).view(n, self.k, self.cout, t, v)
        y = torch.einsum("nkctv,kvw->nctw", y, self.partitions * self.importance)
        y = F.relu(self.bn1(y))
        z = torch.cat([cache, y], dim=2)
        y = self.drop(self.bn2(self.tconv(z)))
        return F.relu(y + self.residual(x)), z[:, :, z.shape[2] - self.cache_frames:]


class STGCN(nn.Module):
    """ST-GCN blocks (``cfg.channels``) over the COCO-17 graph, mean over joints: (N, T, V, C) -> (N, T, width)."""

    def __init__(self, cfg: BeatNetConfig):
        super().__init__()
        self.data_bn = nn.BatchNorm1d(NUM_FEATURES * NUM_JOINTS)
        parts = torch.from_numpy(coco_partitions())
        chans = (NUM_FEATURES,) + tuple(cfg.channels)
        self.blocks = nn.ModuleList(
            STGCNBlock(chans[i], chans[i + 1], parts, cfg.kernel, cfg.dropout) for i in range(len(cfg.channels))
        )
        self.proj = nn.Identity() if chans[-1] == cfg.width else nn.Linear(chans[-1], cfg.width)
        self.cache_channels = int(sum(cfg.channels))
        self.cache_frames = cfg.kernel - 1

    def empty_cache(self, n: int) -> torch.Tensor:
        return torch.zeros(n, self.cache_channels, self.cache_frames, NUM_JOINTS)

    def forward(self, feats: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, t, v, c = feats.shape
        x = self.data_bn(feats.permute(0, 2, 3, 1).reshape(n, v * c, t))
        x = x.view(n, v, c, t).permute(0, 2, 3, 1)  # (N, C, T, V)
        caches, start = [], 0
        for block in self.blocks:
            x, new = block(x, cache[:, start:start + block.cout])
            caches.append(new)
            start += block.cout
        return self.proj(x.mean(dim=3).transpose(1, 2)), torch.cat(caches, dim=1)


class TCN(nn.Module):
    """Baseline: joints flattened per frame, dilated causal residual convolutions (kernel 5, ``cfg.tcn_dilations``)."""

    def __init__(self, cfg: BeatNetConfig, kernel: int = 5):
        super().__init__()
        dilations = cfg.tcn_dilations
        self.data_bn = nn.BatchNorm1d(NUM_FEATURES * NUM_JOINTS)
        self.inp = nn.Conv1d(NUM_FEATURES * NUM_JOINTS, cfg.width, 1)
        self.convs = nn.ModuleList(nn.Conv1d(cfg.width, cfg.width, kernel, dilation=d) for d in dilations)
        self.pads = [(kernel - 1) * d for d in dilations]
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, feats: torch.Tensor, cache: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        n, t, v, c = feats.shape
        x = self.inp(self.data_bn(feats.permute(0, 2, 3, 1).reshape(n, v * c, t)))
        for conv, pad in zip(self.convs, self.pads):
            x = x + self.drop(F.elu(conv(F.pad(x, (pad, 0)))))
        return x.transpose(1, 2), torch.zeros(0)


class RelAttentionLayer(nn.Module):
    """Pre-norm transformer layer whose logits are QK^T/sqrt(d) + q.R_(j-i) (Shaw et al.) + proj(SSM)."""

    def __init__(self, cfg: BeatNetConfig, lookahead: int):
        super().__init__()
        self.heads, self.dh = cfg.heads, cfg.width // cfg.heads
        self.window, self.lookahead = cfg.window, lookahead
        self.norm1, self.norm2 = nn.LayerNorm(cfg.width), nn.LayerNorm(cfg.width)
        self.qkv = nn.Linear(cfg.width, 3 * cfg.width)
        self.out = nn.Linear(cfg.width, cfg.width)
        self.ff = nn.Sequential(nn.Linear(cfg.width, 2 * cfg.width), nn.GELU(), nn.Linear(2 * cfg.width, cfg.width))
        self.drop = nn.Dropout(cfg.dropout)
        self.max_lookahead = max(lookahead, cfg.max_lookahead) if lookahead else 0
        self.rel = nn.Parameter(0.02 * torch.randn(cfg.window + self.max_lookahead, self.dh)) if cfg.rel_attn else None
        # 1x1 convolution of the one-channel SSM into one map per head (scale; a bias cancels in the softmax).
        self.ssm_proj = nn.Parameter(torch.full((cfg.heads,), 10.0)) if cfg.ssm else None

    def band(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(allowed (T, T) bool, relative index (T, T) long) for key j of query i."""
        pos = torch.arange(t)
        offset = pos[None, :] - pos[:, None]
        allowed = (offset >= 1 - self.window) & (offset <= self.lookahead)
        return allowed, (offset + self.window - 1).clamp(0, self.window - 1 + self.max_lookahead)

    def forward(self, x: torch.Tensor, key_valid: torch.Tensor, ssm_logits: torch.Tensor | None) -> torch.Tensor:
        """x (N, T, D); key_valid (N, T) bool; ssm_logits (N, T, T) log-softmax SSM or None."""
        n, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(n, t, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) / self.dh**0.5  # (N, H, T, T)
        allowed, rel_index = self.band(t)
        if self.rel is not None:
            rel = q @ self.rel.t()  # (N, H, T, W + L): q_i . R_r for every offset r, then pick r = j - i
            index = rel_index.view(1, 1, t, t).expand(n, self.heads, t, t)
            logits = logits + torch.gather(rel, 3, index) / self.dh**0.5
        if self.ssm_proj is not None and ssm_logits is not None:
            logits = logits + self.ssm_proj.view(1, -1, 1, 1) * ssm_logits.exp().unsqueeze(1)
        mask = allowed.unsqueeze(0) & key_valid.unsqueeze(1)  # (N, T, T)
        logits = logits.masked_fill(~mask.unsqueeze(1), -1e9)
        attn = self.drop(torch.softmax(logits, dim=-1))
        y = (attn @ v).transpose(1, 2).reshape(n, t, d)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.ff(self.norm2(x)))


class BeatNet(nn.Module):
    """Encoder (ST-GCN or TCN) -> transformer (or lookahead conv) -> per-frame sigmoid beat activation."""

    def __init__(self, cfg: BeatNetConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = STGCN(cfg) if cfg.encoder == "stgcn" else TCN(cfg)
        # Residual encoders grow in magnitude with depth (large after a few blocks): normalise per frame
        # so that the transformer's own residual stream is not swamped by the encoder output.
        self.enc_norm = nn.LayerNorm(cfg.width)
        if cfg.transformer:
            self.layers = nn.ModuleList(
                RelAttentionLayer(cfg, cfg.lookahead if i == 0 else 0) for i in range(cfg.layers))
            self.ssm_norm = nn.LayerNorm(cfg.width) if cfg.ssm else None
            self.final_norm = nn.LayerNorm(cfg.width)
        else:
            self.look = nn.Conv1d(cfg.width, cfg.width, cfg.lookahead + 1)
        self.head = nn.Linear(cfg.width, 1)
        if cfg.tempo_classes:
            self.tempo_head = nn.Linear(cfg.width, cfg.tempo_classes)
            self.aux_head = nn.Linear(cfg.width, 3)  # sin, cos of the beat phase; onset envelope (training only)

    def set_lookahead(self, lookahead: int) -> None:
        """Run with L = ``lookahead`` frames (transformer rows; at most ``max_lookahead``)."""
        if not self.cfg.transformer or not 0 <= lookahead <= self.cfg.max_lookahead:
            raise ValueError(f"lookahead {lookahead} not available for {self.cfg}")
        self.cfg = replace(self.cfg, lookahead=lookahead)
        self.layers[0].lookahead = lookahead

    def empty_state(self, n: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(conv cache, feature history (N, H, D), history validity (N, H) in {0, 1}) at the start of a clip."""
        cache = self.encoder.empty_cache(n) if isinstance(self.encoder, STGCN) else torch.zeros(n, 0, 0, NUM_JOINTS)
        return cache, torch.zeros(n, self.cfg.history, self.cfg.width), torch.zeros(n, self.cfg.history)

    def ssm(self, p: torch.Tensor, key_valid: torch.Tensor) -> torch.Tensor:
        """Log-softmax over the visible keys of -||p_i - p_j||^2 / D for features p (N, T, D): (N, T, T)."""
        p = self.ssm_norm(p)
        sq = (p * p).sum(-1)
        dist = (sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * p @ p.transpose(1, 2)) / p.shape[-1]
        allowed, _ = self.layers[0].band(p.shape[1])
        mask = allowed.unsqueeze(0) & key_valid.unsqueeze(1)
        return torch.log_softmax((-dist).masked_fill(~mask, -1e9), dim=-1)

    def features(self, feats: torch.Tensor, cache: torch.Tensor, hist: torch.Tensor, hist_valid: torch.Tensor):
        """Per-frame features (N, H + n, D) of the history and the new frames, and the next state (see ``step``)."""
        p_new, new_cache = self.encoder(feats, cache)
        p_new = self.enc_norm(p_new)
        p = torch.cat([hist, p_new], dim=1)
        valid = torch.cat([hist_valid, torch.ones_like(p_new[..., 0])], dim=1)
        if self.cfg.transformer:
            key_valid = valid > 0.5
            ssm = self.ssm(p, key_valid) if self.cfg.ssm else None
            x = p
            for layer in self.layers:
                x = layer(x, key_valid, ssm)
            x = self.final_norm(x)
        else:  # lookahead convolution over frames i .. i + L (zero past the newest frame)
            x = F.relu(self.look(F.pad(p.transpose(1, 2), (0, self.cfg.lookahead)))).transpose(1, 2)
        h = hist.shape[1]
        return x, new_cache, p[:, p.shape[1] - h:], valid[:, valid.shape[1] - h:]

    def step(self, feats: torch.Tensor, cache: torch.Tensor, hist: torch.Tensor, hist_valid: torch.Tensor):
        """Streaming form: new frames feats (N, n, 17, 5) after the state (cache, hist, hist_valid).

        Returns (activation (N, H + n) for the history frames and the new ones, in order; with a tempo head
        the tempo distribution (N, H + n, K); new cache; new hist (N, H, D); new hist_valid (N, H)). The
        outputs of frame t are final once frame t + L has been given. H = ``cfg.history`` (0 frames when
        training on whole windows from ``outputs``).
        """
        x, *state = self.features(feats, cache, hist, hist_valid)
        act = torch.sigmoid(self.head(x).squeeze(-1))
        if self.cfg.tempo_classes:
            return (act, torch.softmax(self.tempo_head(x), dim=-1), *state)
        return (act, *state)

    def outputs(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        """Whole windows from the clip start, feats (N, T, 17, 5): beat activation (N, T) and, with a tempo
        head, tempo logits (N, T, K) and the auxiliary regressions (N, T, 3)."""
        cache, _, _ = self.empty_state(feats.shape[0])
        empty = feats.new_zeros(feats.shape[0], 0, self.cfg.width)
        x = self.features(feats, cache, empty, empty[..., 0])[0]
        out = {"beat": torch.sigmoid(self.head(x).squeeze(-1))}
        if self.cfg.tempo_classes:
            out.update(tempo=self.tempo_head(x), aux=self.aux_head(x))
        return out

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Whole windows from the clip start: feats (N, T, 17, 5) -> activation (N, T)."""
        return self.outputs(feats)["beat"]

"""HuBERT / ContentVec in plain torch, with ``transformers``' parameter names, for inference.

Importing ``transformers`` costs seconds (it pulls in scikit-learn, pandas and scipy.stats); the embedders
only need HuBERT's forward pass, so this module builds it from ``config.json`` without that import. The
state-dict names equal ``HubertModel``'s (``feature_extractor.conv_layers.0.conv.weight``, ...), and the
computation is the same op for op (scaled-dot-product attention as ``transformers``' default "sdpa"), so
features match ``HubertModel`` to float rounding (``tests/test_embedders.py``). Configurations this module
does not cover (:func:`unsupported`) are built with ``transformers`` instead.

Shapes: audio (B, N) 16 kHz -> features (B, T, hidden), T = (N - 400) // 320 + 1 for the base front end.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from arvc.constants import CONTENT_DIMS
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


@dataclass
class HubertNetConfig:
    """The ``HubertConfig`` fields the forward pass uses, with its defaults (HuBERT base)."""

    hidden_size: int = CONTENT_DIMS["v2"]
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    feat_extract_activation: str = "gelu"
    layer_norm_eps: float = 1e-5
    feat_extract_norm: str = "group"
    do_stable_layer_norm: bool = False
    feat_proj_layer_norm: bool = True
    conv_dim: tuple = (512,) * 7
    conv_kernel: tuple = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: tuple = (5, 2, 2, 2, 2, 2, 2)
    conv_bias: bool = False
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    classifier_proj_size: int = 256
    mask_time_prob: float = 0.05
    mask_feature_prob: float = 0.0
    extra: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "HubertNetConfig":
        """Known fields from a ``config.json`` dict (type-checked; ValueError on a bad one); the rest in ``extra``."""
        names = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
        kw, extra = {}, {}
        for k, v in d.items():
            if k not in names:
                extra[k] = v
                continue
            default = names[k].default
            if isinstance(default, tuple):
                if not isinstance(v, (list, tuple)) or not all(isinstance(i, int) and i > 0 for i in v):
                    raise ValueError(f"{k} must be a list of positive integers, got {v!r}")
                v = tuple(v)
            elif isinstance(default, bool) or isinstance(default, str):
                if type(v) is not type(default):
                    raise ValueError(f"{k} must be a {type(default).__name__}, got {v!r}")
            elif isinstance(default, (int, float)):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or (type(default) is int and v != int(v)):
                    raise ValueError(f"{k} must be a number, got {v!r}")
                v = type(default)(v)
            kw[k] = v
        cfg = cls(**kw, extra=extra)
        if not len(cfg.conv_dim) == len(cfg.conv_kernel) == len(cfg.conv_stride):
            raise ValueError("conv_dim, conv_kernel and conv_stride differ in length")
        if min(cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size) <= 0 \
                or cfg.hidden_size % cfg.num_attention_heads or cfg.hidden_size % cfg.num_conv_pos_embedding_groups:
            raise ValueError(f"hidden_size {cfg.hidden_size} must be positive and divisible by num_attention_heads "
                             f"{cfg.num_attention_heads} and num_conv_pos_embedding_groups")
        return cfg

    def unsupported(self) -> str | None:
        """Why this module cannot build the config (then ``transformers`` does), else None."""
        if self.extra.get("conv_pos_batch_norm") or self.extra.get("adapter_attn_dim") is not None:
            return "positional batch norm / adapters"
        if self.hidden_act not in ACTIVATIONS or self.feat_extract_activation not in ACTIVATIONS:
            return f"activation {self.hidden_act!r}"
        if self.feat_extract_norm not in ("group", "layer"):
            return f"feat_extract_norm {self.feat_extract_norm!r}"
        return None


class _ConvLayer(nn.Module):
    """One front-end conv: conv, optional norm (GroupNorm per channel on the first layer of "group" models,
    LayerNorm over channels in "layer" models), activation. (B, C_in, N) -> (B, C_out, N')."""

    def __init__(self, cfg: HubertNetConfig, i: int):
        super().__init__()
        c_in, c_out = cfg.conv_dim[i - 1] if i else 1, cfg.conv_dim[i]
        self.conv = nn.Conv1d(c_in, c_out, cfg.conv_kernel[i], stride=cfg.conv_stride[i], bias=cfg.conv_bias)
        self.norm_kind = "layer" if cfg.feat_extract_norm == "layer" else ("group" if i == 0 else None)
        if self.norm_kind == "group":
            self.layer_norm = nn.GroupNorm(c_out, c_out, affine=True)
        elif self.norm_kind == "layer":
            self.layer_norm = nn.LayerNorm(c_out, elementwise_affine=True)
        self.act = ACTIVATIONS[cfg.feat_extract_activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm_kind == "group":
            x = self.layer_norm(x)
        elif self.norm_kind == "layer":
            x = self.layer_norm(x.transpose(-2, -1)).transpose(-2, -1)
        return self.act(x)


class _FeatureEncoder(nn.Module):
    def __init__(self, cfg: HubertNetConfig):
        super().__init__()
        self.conv_layers = nn.ModuleList(_ConvLayer(cfg, i) for i in range(len(cfg.conv_dim)))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, C, T)."""
        x = audio[:, None]
        for layer in self.conv_layers:
            x = layer(x)
        return x


class _FeatureProjection(nn.Module):
    def __init__(self, cfg: HubertNetConfig):
        super().__init__()
        if cfg.feat_proj_layer_norm:
            self.layer_norm = nn.LayerNorm(cfg.conv_dim[-1], eps=cfg.layer_norm_eps)
        self.projection = nn.Linear(cfg.conv_dim[-1], cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.layer_norm(x) if hasattr(self, "layer_norm") else x)


class _PositionalConv(nn.Module):
    """Grouped conv over time with weight norm over dim 2 (``weight_g`` / ``weight_v``, the weight computed
    as ``torch.nn.utils.parametrizations.weight_norm`` does), the last frame dropped for even kernels, GELU.
    The parametrization itself is not used: registering it imports ``torch._dynamo`` (seconds). Without grad the
    computed weight is kept until ``weight_g`` / ``weight_v`` change (a realtime block spent ~2 ms recomputing it)."""

    def __init__(self, cfg: HubertNetConfig):
        super().__init__()
        k, c = cfg.num_conv_pos_embeddings, cfg.hidden_size
        self.conv = nn.Conv1d(c, c, k, padding=k // 2, groups=cfg.num_conv_pos_embedding_groups)
        v = self.conv.weight
        del self.conv.weight
        self.conv.weight_v = nn.Parameter(v.detach())
        self.conv.weight_g = nn.Parameter(torch.empty(1, 1, k, dtype=v.dtype, device=v.device))
        self.remove = 1 if k % 2 == 0 else 0
        self.act = ACTIVATIONS[cfg.feat_extract_activation]
        self._folded: tuple[tuple, torch.Tensor] | None = None

    def weight(self) -> torch.Tensor:
        """``g · v / ||v||`` (C, C / groups, k); kept between calls when no gradient is recorded."""
        v, g = self.conv.weight_v, self.conv.weight_g
        if torch.is_grad_enabled():
            self._folded = None
            return torch._weight_norm(v, g, 2)
        key = (v.data_ptr(), v._version, v.dtype, v.device, g.data_ptr(), g._version)
        if self._folded is None or self._folded[0] != key:
            self._folded = (key, torch._weight_norm(v, g, 2))
        return self._folded[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C)."""
        conv = self.conv
        y = conv._conv_forward(x.transpose(1, 2), self.weight(), conv.bias)  # (the AMX workaround patches this)
        if self.remove:
            y = y[:, :, : -self.remove]
        return self.act(y).transpose(1, 2)


class _Attention(nn.Module):
    def __init__(self, cfg: HubertNetConfig):
        super().__init__()
        d = cfg.hidden_size
        self.heads, self.head_dim = cfg.num_attention_heads, d // cfg.num_attention_heads
        self.k_proj, self.v_proj, self.q_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C), full (bidirectional) attention."""
        shape = (*x.shape[:-1], -1, self.head_dim)
        q = self.q_proj(x).view(shape).transpose(1, 2)
        k = self.k_proj(x).view(shape).transpose(1, 2)
        v = self.v_proj(x).view(shape).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, scale=self.head_dim ** -0.5)
        return self.out_proj(y.transpose(1, 2).reshape(*x.shape[:-1], -1).contiguous())


class _FeedForward(nn.Module):
    def __init__(self, cfg: HubertNetConfig):
        super().__init__()
        self.intermediate_dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.output_dense = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.act = ACTIVATIONS[cfg.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_dense(self.act(self.intermediate_dense(x)))


class _EncoderLayer(nn.Module):
    """Post-norm (base models) or pre-norm (``do_stable_layer_norm``, large models) transformer layer."""

    def __init__(self, cfg: HubertNetConfig):
        super().__init__()
        self.pre_norm = cfg.do_stable_layer_norm
        self.attention = _Attention(cfg)
        self.layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.feed_forward = _FeedForward(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.attention(self.layer_norm(x))
            return x + self.feed_forward(self.final_layer_norm(x))
        x = self.layer_norm(x + self.attention(x))
        return self.final_layer_norm(x + self.feed_forward(x))


class _Encoder(nn.Module):
    def __init__(self, cfg: HubertNetConfig):
        super().__init__()
        self.pre_norm = cfg.do_stable_layer_norm
        self.pos_conv_embed = _PositionalConv(cfg)
        self.layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(_EncoderLayer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, x: torch.Tensor, hidden: list | None) -> torch.Tensor:
        x = x + self.pos_conv_embed(x)
        if not self.pre_norm:
            x = self.layer_norm(x)
        for layer in self.layers:
            if hidden is not None:
                hidden.append(x)
            x = layer(x)
        if self.pre_norm:
            x = self.layer_norm(x)
        if hidden is not None:
            hidden.append(x)
        return x


@dataclass
class HubertOutput:
    last_hidden_state: torch.Tensor  # (B, T, hidden)
    hidden_states: tuple | None = None  # (layers + 1) x (B, T, hidden) when asked for


class HubertNet(nn.Module):
    """HuBERT's inference forward pass plus RVC's ``final_proj`` (hidden -> classifier_proj_size)."""

    def __init__(self, config: HubertNetConfig):
        super().__init__()
        self.config = config
        self.feature_extractor = _FeatureEncoder(config)
        self.feature_projection = _FeatureProjection(config)
        if config.mask_time_prob > 0 or config.mask_feature_prob > 0:
            self.masked_spec_embed = nn.Parameter(torch.empty(config.hidden_size))  # training only; kept for the names
        self.encoder = _Encoder(config)
        self.final_proj = nn.Linear(config.hidden_size, config.classifier_proj_size)

    def forward(self, audio: torch.Tensor, output_hidden_states: bool = False) -> HubertOutput:
        """(B, N) 16 kHz -> :class:`HubertOutput`."""
        x = self.feature_projection(self.feature_extractor(audio).transpose(1, 2))
        hidden = [] if output_hidden_states else None
        x = self.encoder(x, hidden)
        return HubertOutput(x, tuple(hidden) if hidden is not None else None)


__all__ = ["HubertNet", "HubertNetConfig", "HubertOutput"]

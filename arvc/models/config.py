"""RVC synthesizer hyper-parameters: the 18-item config list stored in every RVC ``.pth``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from arvc.constants import CONTENT_DIMS, SAMPLE_RATES, VERSIONS, canonical_vocoder, require_sample_rate
from arvc.errors import ArvcError

# Stored list item 1 is always this literal (RVC writes the frame count of a 40 kHz segment).
STORED_SEGMENT_SIZE = 32

_RESBLOCK_KERNELS = [3, 7, 11]
_RESBLOCK_DILATIONS = [[1, 3, 5], [1, 3, 5], [1, 3, 5]]

# (version, sample_rate) -> (spec_channels, upsample_rates, upsample_kernel_sizes, training segment in samples)
_PRESETS: dict[tuple[str, int], tuple[int, list[int], list[int], int]] = {
    ("v2", 32000): (513, [10, 8, 2, 2], [20, 16, 4, 4], 12800),
    ("v2", 40000): (1025, [10, 10, 2, 2], [16, 16, 4, 4], 12800),
    ("v2", 48000): (1025, [12, 10, 2, 2], [24, 20, 4, 4], 17280),
    ("v1", 32000): (513, [10, 4, 2, 2, 2], [16, 16, 4, 4, 4], 12800),
    ("v1", 40000): (1025, [10, 10, 2, 2], [16, 16, 4, 4], 12800),
    ("v1", 48000): (1025, [10, 6, 2, 2, 2], [16, 16, 4, 4, 4], 11520),
}
_MEL_CHANNELS = {32000: 80, 40000: 125, 48000: 128}
FRAMES_PER_SECOND = 100  # every RVC model makes hop = sample_rate / 100 samples per content frame
MAX_PARAMS = 200_000_000  # an inference model of RVC's layout has ~28 M; refused above this before allocation
# field -> (low, high): sane ranges, generous around every published RVC / Applio configuration
_RANGES: dict[str, tuple[int, int]] = {
    "spec_channels": (2, 4097), "inter_channels": (2, 1024),
    "hidden_channels": (1, 2048), "filter_channels": (1, 8192), "n_heads": (1, 64), "n_layers": (1, 64),
    "kernel_size": (1, 31), "upsample_initial_channel": (1, 4096), "spk_embed_dim": (1, 10_000),
    "gin_channels": (1, 2048),
}
_LIST_RANGES: dict[str, tuple[int, int, int]] = {  # field -> (max items, low, high) of each item
    "resblock_kernel_sizes": (8, 1, 63), "upsample_rates": (8, 1, 64), "upsample_kernel_sizes": (8, 1, 128),
}


def _int_in(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def config_problem(cfg: "ModelConfig") -> str | None:
    """The first field of ``cfg`` outside its sane range (as ``"n_layers = 1000000 (expected 1..64)"``), or None.

    Checked before any tensor is built, so an absurd config costs nothing."""
    for name, (lo, hi) in _RANGES.items():
        value = getattr(cfg, name)
        if not _int_in(value, lo, hi):
            return f"{name} = {value!r} (expected {lo}..{hi})"
    for name, (n, lo, hi) in _LIST_RANGES.items():
        items = getattr(cfg, name)
        if not isinstance(items, list) or not 1 <= len(items) <= n or not all(_int_in(v, lo, hi) for v in items):
            return f"{name} = {str(items)[:60]} (expected 1..{n} integers in {lo}..{hi})"
    dil = cfg.resblock_dilation_sizes
    if not isinstance(dil, list) or not all(isinstance(d, list) and 1 <= len(d) <= 8
                                            and all(_int_in(v, 1, 64) for v in d) for d in dil):
        return f"resblock_dilation_sizes = {str(dil)[:60]} (expected lists of 1..8 integers in 1..64)"
    if not _int_in(cfg.segment_size, 1, 1 << 22):
        return f"segment_size = {cfg.segment_size!r} (expected 1..{1 << 22} samples)"
    if not (isinstance(cfg.p_dropout, (int, float)) and 0.0 <= float(cfg.p_dropout) < 1.0):
        return f"p_dropout = {cfg.p_dropout!r} (expected 0 <= p < 1)"
    if cfg.resblock not in ("1", "2"):
        return f"resblock = {str(cfg.resblock)[:20]!r} (expected '1' or '2')"
    if cfg.sample_rate not in SAMPLE_RATES:
        return f"sample_rate = {cfg.sample_rate!r} (expected one of {', '.join(map(str, SAMPLE_RATES))})"
    if any(k < u for k, u in zip(cfg.upsample_kernel_sizes, cfg.upsample_rates)):
        return "upsample_kernel_sizes must be at least the upsample_rates they go with"
    if cfg.upsample_initial_channel >> len(cfg.upsample_rates) < 1:
        return f"upsample_initial_channel = {cfg.upsample_initial_channel} halves to 0 over " \
               f"{len(cfg.upsample_rates)} upsampling layers"
    return None


def estimate_params(cfg: "ModelConfig") -> int:
    """The inference synthesizer's parameter count from the config alone (content encoder, flow, decoder, speaker
    table; no torch, nothing allocated). Within ~10 % of the built model for every vocoder's preset, so an absurd
    config is refused before allocation."""
    h, f, k, n, c, g = (cfg.hidden_channels, cfg.filter_channels, cfg.kernel_size, cfg.n_layers, cfg.inter_channels,
                        cfg.gin_channels)
    enc = cfg.content_dim * h + (256 * h if cfg.use_f0 else 0) + n * (4 * h * h + 2 * h * f * k) + 2 * h * c
    wn = 3 * (2 * h * h * 5 + 2 * h * h) + 2 * h * g * 3  # 3 gated layers of kernel 5, res/skip, speaker cond
    flow = 4 * (c * h + wn)
    u = cfg.upsample_initial_channel
    dec, ch = c * u * 7 + g * u, u
    for k_up in cfg.upsample_kernel_sizes:
        out = max(ch // 2, 1)
        dec += ch * out * k_up + sum(2 * len(d) * out * out * rk for rk, d in
                                     zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes))
        ch = out
    return enc + flow + dec + ch * 7 + cfg.spk_embed_dim * g


def check_size(cfg: "ModelConfig", source: str = "model config") -> int:
    """:func:`estimate_params`, refused (ArvcError naming ``source``) above :data:`MAX_PARAMS`."""
    n = estimate_params(cfg)
    if n > MAX_PARAMS:
        raise ArvcError(f"{source}: its config describes about {n:,} parameters, more than the limit of "
                        f"{MAX_PARAMS:,}")
    return n


def check_hop(cfg: "ModelConfig") -> None:
    """An RVC model's upsampling must make ``sample_rate / 100`` samples per frame (ArvcError otherwise)."""
    hop = cfg.sample_rate // FRAMES_PER_SECOND
    if cfg.hop_length != hop:
        raise ArvcError(f"model config: upsample_rates {cfg.upsample_rates} multiply to {cfg.hop_length}, but a "
                        f"{cfg.sample_rate} Hz model needs {hop} samples per frame")


@dataclass
class ModelConfig:
    """The RVC synthesizer config (18 stored fields, in file order) plus version / pitch / vocoder.

    ``segment_size`` is the training segment in **samples** (RVC's ``train.segment_size``); the
    stored list always holds the literal 32 there. ``hop_length`` = prod(upsample_rates) samples
    per content frame (100 frames/s for the standard rates).
    """

    spec_channels: int
    segment_size: int
    inter_channels: int
    hidden_channels: int
    filter_channels: int
    n_heads: int
    n_layers: int
    kernel_size: int
    p_dropout: float
    resblock: str
    resblock_kernel_sizes: list[int]
    resblock_dilation_sizes: list[list[int]]
    upsample_rates: list[int]
    upsample_initial_channel: int
    upsample_kernel_sizes: list[int]
    spk_embed_dim: int
    gin_channels: int
    sample_rate: int
    version: str = "v2"
    use_f0: bool = True
    vocoder: str = "HiFi-GAN"
    stored_list: list[Any] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ArvcError(f"unknown model version {self.version!r}; choices: v1, v2")
        self.vocoder = canonical_vocoder(self.vocoder)
        if not self.use_f0 and self.vocoder != "HiFi-GAN":
            raise ArvcError(f"vocoder {self.vocoder!r} needs pitch guidance (use_f0=True); "
                            "only HiFi-GAN works without it")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ArvcError("model config: upsample_rates and upsample_kernel_sizes differ in length")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ArvcError("model config: resblock_kernel_sizes and resblock_dilation_sizes differ in length")
        why = config_problem(self)
        if why:
            raise ArvcError(f"model config: {why}")
        if self.inter_channels % 2 or self.hidden_channels % self.n_heads:
            raise ArvcError("model config: inter_channels must be even and hidden_channels divisible by n_heads")

    # ---- derived values -------------------------------------------------------------------
    @property
    def hop_length(self) -> int:
        return int(math.prod(self.upsample_rates))

    @property
    def content_dim(self) -> int:
        return CONTENT_DIMS[self.version]

    @property
    def segment_frames(self) -> int:
        return max(1, self.segment_size // self.hop_length)

    @property
    def filter_length(self) -> int:
        return (self.spec_channels - 1) * 2

    @property
    def win_length(self) -> int:
        return self.filter_length

    @property
    def n_mel_channels(self) -> int:
        return _MEL_CHANNELS.get(self.sample_rate, 128)

    # ---- RVC list form ----------------------------------------------------------------------
    def to_list(self) -> list[Any]:
        """The 18-item list as RVC writes it into ``.pth["config"]``."""
        p_dropout: Any = int(self.p_dropout) if float(self.p_dropout) == int(self.p_dropout) else self.p_dropout
        return [
            self.spec_channels, STORED_SEGMENT_SIZE, self.inter_channels, self.hidden_channels,
            self.filter_channels, self.n_heads, self.n_layers, self.kernel_size, p_dropout,
            str(self.resblock), list(self.resblock_kernel_sizes),
            [list(d) for d in self.resblock_dilation_sizes], list(self.upsample_rates),
            self.upsample_initial_channel, list(self.upsample_kernel_sizes), self.spk_embed_dim,
            self.gin_channels, int(self.sample_rate),
        ]

    @classmethod
    def from_list(cls, lst: list[Any], *, version: str = "v2", use_f0: bool = True,
                  vocoder: str = "HiFi-GAN", segment_size: int | None = None) -> "ModelConfig":
        """Build from a stored list (item 17 may be ``"40k"``-style or int Hz)."""
        if not isinstance(lst, (list, tuple)) or len(lst) != 18:
            raise ArvcError(f"model config: expected an 18-item list, got {type(lst).__name__} of length "
                            f"{len(lst) if hasattr(lst, '__len__') else '?'}")
        sr = require_sample_rate(lst[17], "model config")
        rates = [int(u) for u in lst[12]]
        if segment_size is None:
            preset = _PRESETS.get((version, sr))
            segment_size = preset[3] if preset and preset[1] == rates else 32 * int(math.prod(rates))
        return cls(
            spec_channels=int(lst[0]), segment_size=int(segment_size), inter_channels=int(lst[2]),
            hidden_channels=int(lst[3]), filter_channels=int(lst[4]), n_heads=int(lst[5]),
            n_layers=int(lst[6]), kernel_size=int(lst[7]), p_dropout=float(lst[8]), resblock=str(lst[9]),
            resblock_kernel_sizes=[int(k) for k in lst[10]],
            resblock_dilation_sizes=[[int(d) for d in ds] for ds in lst[11]], upsample_rates=rates,
            upsample_initial_channel=int(lst[13]), upsample_kernel_sizes=[int(k) for k in lst[14]],
            spk_embed_dim=int(lst[15]), gin_channels=int(lst[16]), sample_rate=sr, version=version,
            use_f0=bool(use_f0), vocoder=vocoder, stored_list=list(lst),
        )

    @classmethod
    def preset(cls, version: str = "v2", sample_rate: int | str = 40000, vocoder: str = "HiFi-GAN",
               use_f0: bool = True, spk_embed_dim: int = 109) -> "ModelConfig":
        """The standard RVC/Applio configuration for ``version`` x ``sample_rate`` (32k/40k/48k)."""
        sr = require_sample_rate(sample_rate, "model config")
        if (version, sr) not in _PRESETS:
            raise ArvcError(f"no preset for version {version!r} at {sr} Hz; choices: "
                            + ", ".join(f"{v} {r}" for v, r in _PRESETS))
        spec, rates, kernels, segment = _PRESETS[(version, sr)]
        return cls(
            spec_channels=spec, segment_size=segment, inter_channels=192, hidden_channels=192,
            filter_channels=768, n_heads=2, n_layers=6, kernel_size=3, p_dropout=0.0, resblock="1",
            resblock_kernel_sizes=list(_RESBLOCK_KERNELS),
            resblock_dilation_sizes=[list(d) for d in _RESBLOCK_DILATIONS], upsample_rates=list(rates),
            upsample_initial_channel=512, upsample_kernel_sizes=list(kernels), spk_embed_dim=spk_embed_dim,
            gin_channels=256, sample_rate=sr, version=version, use_f0=use_f0, vocoder=vocoder,
        )

    @classmethod
    def tiny(cls, version: str = "v2", sample_rate: int | str = 40000, vocoder: str = "HiFi-GAN",
             use_f0: bool = True, **overrides: Any) -> "ModelConfig":
        """A debug-size config (same hop / spectrogram size as the preset, few channels)."""
        base = cls.preset(version, sample_rate, vocoder, use_f0)
        small = dict(
            segment_size=8 * base.hop_length, inter_channels=16, hidden_channels=32, filter_channels=64,
            n_heads=2, n_layers=1, resblock_kernel_sizes=[3, 5],
            resblock_dilation_sizes=[[1, 3], [1, 3]], upsample_initial_channel=32, spk_embed_dim=4,
            gin_channels=16,
        )
        small.update(overrides)
        return base.replace(**small)

    @classmethod
    def small(cls, version: str = "v2", sample_rate: int | str = 40000, vocoder: str = "HiFi-GAN",
              use_f0: bool = True, **overrides: Any) -> "ModelConfig":
        """A reduced config that trains from scratch on a CPU in minutes (the quickstart's): RVC's layout
        (same hop, spectrogram, resblock kernels and dilations) at about a quarter of the widths."""
        base = cls.preset(version, sample_rate, vocoder, use_f0)
        small = dict(
            inter_channels=96, hidden_channels=96, filter_channels=384, n_heads=2, n_layers=4,
            upsample_initial_channel=128, spk_embed_dim=1, gin_channels=128,
        )
        small.update(overrides)
        return base.replace(**small)

    @classmethod
    def for_size(cls, size: str, **kwargs: Any) -> "ModelConfig":
        """``size`` full (RVC's preset), small (quickstart) or tiny (tests)."""
        builders = {"full": cls.preset, "small": cls.small, "tiny": cls.tiny}
        if size not in builders:
            raise ArvcError(f"unknown model size {size!r}; choices: {', '.join(builders)}")
        return builders[size](**kwargs)

    def replace(self, **changes: Any) -> "ModelConfig":
        changes.setdefault("stored_list", None)
        return dataclasses.replace(self, **changes)


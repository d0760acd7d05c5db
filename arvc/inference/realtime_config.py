"""Settings and statistics of the realtime block loop (:mod:`arvc.inference.realtime`), torch-free.

The option table of ``arvc realtime`` and the web UI import this module without loading torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arvc.errors import ArvcError
from arvc.inference.config import InferenceConfig

SEARCH_MS = 10  # SOLA search region (RVC GUI: one 10 ms frame)
EMBEDDER_CONTEXT_MS = 300  # realtime embedder's left context before the recomputed frames (see RealtimeConfig)


@dataclass
class RealtimeConfig:
    """Block loop settings. All times in ms and multiples of 10 ms (one F0 frame).

    block_ms: new input per step; the main latency term (RVC GUI default 250).
    context_ms: earlier input the embedder and prior see each step (compute, not latency).
    embedder_context_ms: left context the embedder sees before the frames it recomputes each step; the window's
        earlier frames keep the features earlier steps computed (:mod:`arvc.inference.realtime_features`).
        ``>= context_ms`` re-embeds the whole window every step (no reuse).
    crossfade_ms: SOLA overlap-add between consecutive steps (0 = plain concatenation, clicks).
    silence_db: input blocks with RMS below this (dBFS) skip the model and output silence.
    noise_gate_db: input noise gate (:mod:`arvc.inference.noise_gate`): input below this level (dBFS RMS per
        10 ms, with hysteresis, hold and short ramps) is silenced before conversion (None = off).
    headroom_ms: live streams only: output buffered ahead of the device for the compute time's jitter.
    sample_rate: device / stream rate; 0 = the model's rate (the simulator's default; live streams use 48000).
    """

    block_ms: int = 250
    context_ms: int = 1000
    embedder_context_ms: int = EMBEDDER_CONTEXT_MS
    crossfade_ms: int = 50
    silence_db: float = -60.0
    noise_gate_db: float | None = None
    headroom_ms: int = 100
    sample_rate: int = 0
    inference: InferenceConfig = field(default_factory=lambda: InferenceConfig(f0_method="fcpe"))

    @classmethod
    def from_flat(cls, values: dict[str, Any]) -> "RealtimeConfig":
        """A config from one flat ``{field: value}`` dict: this class's fields and :class:`InferenceConfig`'s
        (the realtime defaults elsewhere). Unknown names raise ``TypeError``."""
        own = {f.name for f in dataclasses.fields(cls)} - {"inference"}
        inference = dataclasses.replace(cls().inference, **{k: v for k, v in values.items() if k not in own})
        return cls(**{k: v for k, v in values.items() if k in own}, inference=inference)

    def validate(self) -> "RealtimeConfig":
        for name in ("block_ms", "context_ms", "embedder_context_ms", "crossfade_ms", "headroom_ms"):
            v = getattr(self, name)
            if v < 0 or v % 10:
                raise ArvcError(f"--{name} must be a non-negative multiple of 10 ms, got {v}")
        if self.block_ms < 50:
            raise ArvcError(f"--block_ms must be at least 50 ms, got {self.block_ms}")
        if self.crossfade_ms > self.block_ms:
            raise ArvcError(f"--crossfade_ms ({self.crossfade_ms}) must not exceed --block_ms ({self.block_ms})")
        if self.sample_rate and (not 8000 <= self.sample_rate <= 192000 or self.sample_rate % 100):
            raise ArvcError(f"--sample_rate must be 8000..192000 Hz and a multiple of 100, got {self.sample_rate}")
        if self.noise_gate_db is not None and not (math.isfinite(self.noise_gate_db) and self.noise_gate_db <= 0):
            raise ArvcError(f"--noise_gate_db must be a level in dBFS (<= 0) or off, got {self.noise_gate_db}")
        if self.inference.f0_file:
            raise ArvcError("--f0_file cannot be used in realtime (the pitch comes from the live input)")
        self.inference.validate()
        return self

    @property
    def search_ms(self) -> int:
        return SEARCH_MS if self.crossfade_ms else 0

    @property
    def algorithmic_latency_ms(self) -> int:
        """block + crossfade + SOLA search, the figure RVC's GUI and w-okada print."""
        return self.block_ms + self.crossfade_ms + self.search_ms


@dataclass(frozen=True)
class StatsSnapshot:
    """A copy of :class:`StreamStats` at one moment (safe to keep while the loop goes on); times in ms."""

    blocks: int
    silent: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    block_ms: float
    late: int
    underruns: int
    dropped: int


@dataclass
class StreamStats:
    """Per-step compute seconds, steps skipped by the silence gate, late blocks (underruns)."""

    block_seconds: float
    compute: list[float] = field(default_factory=list)
    gated: int = 0
    underruns: int = 0
    dropped: int = 0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.compute, q)) if self.compute else 0.0

    @property
    def late(self) -> int:
        """Steps whose compute took longer than one block (each one an underrun in a live stream)."""
        return int(sum(c > self.block_seconds for c in self.compute))

    def snapshot(self) -> StatsSnapshot:
        """The figures now, from a copy (the loop may append from another thread meanwhile)."""
        compute = np.array(self.compute[:], dtype=np.float64)
        n = len(compute)
        pct = np.percentile(compute, [50, 95]) if n else (0.0, 0.0)
        return StatsSnapshot(blocks=n + self.gated, silent=self.gated, p50_ms=1000 * float(pct[0]),
                             p95_ms=1000 * float(pct[1]), max_ms=1000 * float(compute.max()) if n else 0.0,
                             block_ms=1000 * self.block_seconds, late=int(np.sum(compute > self.block_seconds)),
                             underruns=self.underruns, dropped=self.dropped)

    def summary(self) -> str:
        s = self.snapshot()
        return (f"blocks {s.blocks} ({s.silent} silent), compute p50 {s.p50_ms:.0f} ms p95 {s.p95_ms:.0f} ms "
                f"max {s.max_ms:.0f} ms of {s.block_ms:.0f} ms, late {s.late}, underruns {s.underruns}"
                + (f", dropped {s.dropped}" if s.dropped else ""))

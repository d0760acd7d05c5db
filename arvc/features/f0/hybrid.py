"""``hybrid[a+b+...]``: several F0 methods combined frame by frame."""

from __future__ import annotations

import re

import numpy as np

from arvc.errors import ArvcError
from arvc.features.f0.base import F0Method, F0Options

_SPEC = re.compile(r"^\s*hybrid\s*\[(?P<body>[^\[\]]*)\]\s*$", re.IGNORECASE)


def combine_f0(estimates: np.ndarray, min_voted: float = 0.5) -> np.ndarray:
    """Frame-wise vote of several F0 tracks.

    ``estimates (M, T)`` Hz (0 = unvoiced) -> ``(T,)`` float32. A frame is voiced when at least
    ``min_voted`` of the M methods call it voiced (0.5: half or more, so with two methods either one
    suffices); its F0 is then the median, in log-frequency, of the voiced estimates only (the geometric
    mean of the middle two for an even count), so one octave error among three methods is outvoted.
    """
    est = np.asarray(estimates, dtype=np.float64)
    if est.ndim != 2 or est.shape[0] == 0:
        raise ValueError("estimates must have shape (M, T) with M >= 1")
    voiced = est > 0
    votes = voiced.sum(axis=0)
    log_f0 = np.where(voiced, np.log(np.where(voiced, est, 1.0)), np.nan)
    out = np.zeros(est.shape[1])
    keep = (votes > 0) & (votes >= min_voted * est.shape[0] - 1e-9)
    if keep.any():
        out[keep] = np.exp(np.nanmedian(log_f0[:, keep], axis=0))
    return out.astype(np.float32)


def parse_hybrid(spec: str) -> list[str]:
    """``"hybrid[rmvpe+fcpe]"`` -> ``["rmvpe", "fcpe"]``; ArvcError on a malformed spec."""
    if spec.count("[") > 1:
        raise ArvcError(f"bad hybrid F0 method {spec!r}: hybrids cannot be nested")
    m = _SPEC.match(spec)
    names = [n.strip() for n in m.group("body").split("+")] if m else []
    if not m or not names or any(not n for n in names):
        raise ArvcError(
            f"bad hybrid F0 method {spec!r}: write hybrid[a+b+...] with methods such as hybrid[rmvpe+fcpe]"
        )
    return names


class HybridF0(F0Method):
    """Runs each method on the same audio and combines them with :func:`combine_f0`."""

    name = "hybrid"

    def __init__(
        self,
        methods: list[F0Method],
        options: F0Options | None = None,
        device=None,
        min_voted: float = 0.5,
    ):
        super().__init__(options, device)
        if not methods:
            raise ArvcError("hybrid F0 method needs at least one method")
        self.methods = list(methods)
        self.min_voted = min_voted
        self.name = "hybrid[" + "+".join(m.name for m in self.methods) + "]"

    @classmethod
    def from_spec(cls, spec: str, options: F0Options | None = None, device=None, **kwargs) -> "HybridF0":
        """Build from ``"hybrid[a+b+...]"``; ``kwargs`` may hold ``min_voted`` (others go to no method)."""
        from arvc.features.f0 import get_f0_method

        names = parse_hybrid(spec)
        for n in names:
            if n.lower().startswith("hybrid"):
                raise ArvcError(f"bad hybrid F0 method {spec!r}: hybrids cannot be nested")
        methods = [get_f0_method(n, options=options, device=device) for n in names]
        return cls(methods, options=options, device=device, **kwargs)

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        tracks = np.stack([m.compute(audio, n_frames) for m in self.methods])
        return combine_f0(tracks, self.min_voted)

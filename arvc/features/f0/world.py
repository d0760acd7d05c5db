"""WORLD vocoder pitch trackers (pyworld): ``harvest`` and ``dio``, both refined by StoneMask as RVC does."""

from __future__ import annotations

import numpy as np

from arvc.features.f0 import F0_METHODS
from arvc.features.f0.base import F0Method
from arvc.features.f0.postprocess import limit_range


def _world(audio: np.ndarray, options, tracker: str) -> np.ndarray:
    import pyworld

    if not np.any(audio):  # silence (or nothing): WORLD would fail on empty input
        return np.zeros(0, dtype=np.float32)
    x = audio.astype(np.float64)
    sr = options.sample_rate
    frame_period = 1000.0 * options.hop_length / sr  # ms; frame i at i * frame_period
    fn = pyworld.harvest if tracker == "harvest" else pyworld.dio
    f0, t = fn(x, fs=sr, f0_floor=options.f0_min, f0_ceil=options.f0_max, frame_period=frame_period)
    f0 = pyworld.stonemask(x, f0, t, sr)
    return limit_range(f0, options.f0_min, options.f0_max)


@F0_METHODS.register("harvest")
class HarvestF0(F0Method):
    """WORLD Harvest + StoneMask: robust and slow (about 0.3 s per audio second on one core)."""

    name = "harvest"

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        return _world(audio, self.options, "harvest")


@F0_METHODS.register("dio")
class DioF0(F0Method):
    """WORLD DIO + StoneMask: fast, more octave and voicing errors than Harvest."""

    name = "dio"

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        return _world(audio, self.options, "dio")

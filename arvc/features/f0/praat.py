"""Praat's autocorrelation pitch tracker (parselmouth ``to_pitch_ac``), RVC's ``pm`` method."""

from __future__ import annotations

import numpy as np

from arvc.features.f0 import F0_METHODS
from arvc.features.f0.base import F0Method
from arvc.features.f0.postprocess import contour_to_grid, limit_range


@F0_METHODS.register("pm", "praat", "parselmouth")
class PraatF0(F0Method):
    """Praat AC pitch with RVC's settings (time step = hop, voicing threshold 0.6, floor/ceiling = f0 range).

    Praat centres its frames in the signal; the values are placed on arvc's grid (frame i at
    ``i * hop``) by their true times rather than by RVC's symmetric zero padding.
    """

    name = "pm"

    def __init__(self, options=None, device=None, voicing_threshold: float = 0.6, silence_threshold: float = 0.03):
        super().__init__(options, device)
        self.voicing_threshold = voicing_threshold
        self.silence_threshold = silence_threshold

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        import parselmouth

        o = self.options
        # Praat needs at least 3 periods of the lowest pitch in the analysis window
        if len(audio) < int(3.0 / o.f0_min * o.sample_rate) + 2 or not np.any(audio):
            return np.zeros(n_frames, dtype=np.float32)
        sound = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=o.sample_rate)
        pitch = sound.to_pitch_ac(
            time_step=o.hop_length / o.sample_rate,
            voicing_threshold=self.voicing_threshold,
            silence_threshold=self.silence_threshold,
            pitch_floor=o.f0_min,
            pitch_ceiling=o.f0_max,
        )
        f0 = pitch.selected_array["frequency"]
        grid = np.arange(n_frames) * o.hop_length / o.sample_rate
        f0 = contour_to_grid(np.asarray(pitch.xs()), f0, grid, outside=0.0)
        return limit_range(f0, o.f0_min, o.f0_max)

"""SwiftF0: a small CNN pitch estimator shipped as ONNX in the ``swift_f0`` package (run with onnxruntime)."""

from __future__ import annotations

import numpy as np

from arvc.constants import SR_16K
from arvc.errors import ArvcError
from arvc.features.f0 import F0_METHODS
from arvc.features.f0.base import F0Method
from arvc.features.f0.postprocess import contour_to_grid, limit_range


@F0_METHODS.register("swift", "swift-f0", "swiftf0")
class SwiftF0Method(F0Method):
    """SwiftF0 (16 ms frames, 46.875..2093.75 Hz) resampled onto arvc's grid; voiced when its
    calibrated confidence is at least ``threshold`` (0.5). CPU only (onnxruntime)."""

    name = "swift"

    def __init__(self, options=None, device=None, threshold: float = 0.5):
        super().__init__(options, device)
        try:
            from swift_f0 import SwiftF0
            from swift_f0.core import FMAX, FMIN, FRAME_PERIOD
        except ImportError as e:
            raise ArvcError(f"the swift F0 method needs the swift-f0 package ({e})") from None
        if self.options.sample_rate != SR_16K:
            raise ArvcError("the swift F0 method works on 16 kHz audio only")
        self.threshold = threshold
        self.fmin = max(self.options.f0_min, FMIN)
        self.fmax = min(self.options.f0_max, FMAX)
        self.frame_period = FRAME_PERIOD
        self._detector = SwiftF0(spin=False)

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        if len(audio) == 0:
            return np.zeros(n_frames, dtype=np.float32)
        result = self._detector.detect(audio, SR_16K, fmin=self.fmin, fmax=self.fmax)
        f0 = np.where(result.confidence >= self.threshold, result.pitch_hz, 0.0)
        grid = np.arange(n_frames) * self.options.hop_length / self.options.sample_rate
        return limit_range(contour_to_grid(result.timestamps, f0, grid), self.fmin, self.fmax)

"""Input noise gate of the realtime loop: background noise under a threshold becomes silence before conversion.

Without it the model turns room noise, fans and breath into voiced garbage. The gate works on 10 ms frames
of the 16 kHz input block (one F0 frame): a frame whose RMS reaches ``threshold_db`` (dBFS, RMS re full scale
1.0, as :mod:`arvc.inference.silence_gate`) opens the gate; it closes only after the level has stayed below
``threshold_db - HYSTERESIS_DB`` for ``HOLD_MS`` (hysteresis and hold: no chatter on a level near the
threshold, no cut word ends). The gain moves by linear ramps, ``ATTACK_MS`` up and ``RELEASE_MS`` down, so
opening and closing never click: |y[n] - y[n-1]| <= |x[n] - x[n-1]| + |x[n-1]| / (attack samples).
There is no look-ahead (no added latency); an onset inside a frame opens the gate from that frame's start.

Distinct from the loop's ``silence_db``, which decides per block whether the model runs at all: the gate
shapes the input sample by sample, and a block it closed completely is then silent for that check too.
:meth:`NoiseGate.process` allocates nothing: every buffer is made once for the block size.
"""

from __future__ import annotations

import math

import numpy as np

HYSTERESIS_DB = 6.0  # closes this far below the opening threshold
HOLD_MS = 100  # stays open this long after the level fell below the closing threshold
ATTACK_MS = 5  # gain 0 -> 1
RELEASE_MS = 50  # gain 1 -> 0
FRAME_MS = 10


class NoiseGate:
    """Stateful gate over consecutive blocks of ``block`` samples at ``sample_rate`` (a multiple of 10 ms)."""

    def __init__(self, threshold_db: float, sample_rate: int, block: int, *, hysteresis_db: float = HYSTERESIS_DB,
                 hold_ms: float = HOLD_MS, attack_ms: float = ATTACK_MS, release_ms: float = RELEASE_MS):
        frame = sample_rate * FRAME_MS // 1000
        if block <= 0 or block % frame:
            raise ValueError(f"noise gate: block of {block} samples is not a multiple of {FRAME_MS} ms")
        self.threshold_db = threshold_db
        self.frame, self.frames = frame, block // frame
        self.open_energy = frame * 10 ** (threshold_db / 10)  # a frame's sum of squares at the thresholds
        self.close_energy = frame * 10 ** ((threshold_db - hysteresis_db) / 10)
        self.hold_frames = int(math.ceil(hold_ms / FRAME_MS))
        self.up = 1.0 / max(attack_ms * sample_rate / 1000, 1.0)  # gain change per sample
        self.down = 1.0 / max(release_ms * sample_rate / 1000, 1.0)
        self._power = np.zeros((self.frames, frame), np.float32)
        self._energy = np.zeros(self.frames, np.float32)
        self._gain = np.zeros((self.frames, frame), np.float32)
        self._ramp = np.arange(1, frame + 1, dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        self.gain, self.is_open, self.hold = 0.0, False, 0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Gate one block (``(block,)`` float32) in place and return it."""
        np.multiply(x.reshape(self.frames, self.frame), x.reshape(self.frames, self.frame), out=self._power)
        np.add.reduce(self._power, axis=1, out=self._energy)
        for k in range(self.frames):
            e = self._energy[k]
            if e >= self.open_energy or (self.is_open and e >= self.close_energy):
                self.is_open, self.hold = True, self.hold_frames
            elif self.is_open:
                if self.hold > 0:
                    self.hold -= 1
                else:
                    self.is_open = False
            g = self._gain[k]
            if self.is_open and self.gain >= 1.0:
                g.fill(1.0)
            elif not self.is_open and self.gain <= 0.0:
                g.fill(0.0)
            elif self.is_open:
                np.multiply(self._ramp, self.up, out=g)
                g += self.gain
                np.minimum(g, 1.0, out=g)
            else:
                np.multiply(self._ramp, -self.down, out=g)
                g += self.gain
                np.maximum(g, 0.0, out=g)
            self.gain = float(g[-1])
        x *= self._gain.reshape(-1)
        return x

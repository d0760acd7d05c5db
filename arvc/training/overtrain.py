"""Overtraining detector: stop when the smoothed generator loss has not improved for ``threshold`` epochs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass
class OvertrainDetector:
    """Feed it one mean generator loss per epoch; ``update`` returns True when training should stop.

    The loss is smoothed with an exponential moving average (``smoothing`` = weight of the past); an epoch
    "improves" when the smoothed value drops below the best seen so far.
    """

    threshold: int
    smoothing: float = 0.9
    smoothed: float | None = None
    best: float = math.inf
    best_epoch: int = 0
    since_best: int = 0
    last_epoch: int = 0
    triggered: bool = False

    def update(self, epoch: int, loss: float) -> bool:
        if not math.isfinite(loss):
            return self.triggered
        self.smoothed = loss if self.smoothed is None else self.smoothing * self.smoothed + (1 - self.smoothing) * loss
        self.last_epoch = epoch
        if self.smoothed < self.best:
            self.best, self.best_epoch, self.since_best = self.smoothed, epoch, 0
        else:
            self.since_best += 1
        self.triggered = self.since_best >= self.threshold
        return self.triggered

    def summary(self) -> str:
        """One line for the model file's ``overtrain_info``."""
        if self.smoothed is None:
            return f"overtrain detector on (threshold {self.threshold} epochs); no epoch finished"
        state = "stopped: overtraining detected" if self.triggered else "no overtraining detected"
        return (f"{state} at epoch {self.last_epoch}; best smoothed generator loss {self.best:.4f} at epoch "
                f"{self.best_epoch}, {self.since_best} epochs without improvement (threshold {self.threshold})")

    def state_dict(self) -> dict:
        d = asdict(self)
        d["best"] = None if math.isinf(self.best) else self.best
        return d

    def load_state_dict(self, d: dict) -> None:
        for k, v in d.items():
            if k in ("threshold", "smoothing"):
                continue  # the command line decides these
            setattr(self, k, math.inf if (k == "best" and v is None) else v)
        self.triggered = self.since_best >= self.threshold

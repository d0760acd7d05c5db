"""Progress of a training run that is not in the G/D checkpoints (saved beside them as JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path


@dataclass
class TrainState:
    """``epoch`` = epochs finished, ``step`` = optimizer steps done, ``nonfinite_steps`` = skipped steps in total,
    ``steps_into_epoch`` = steps already done in epoch ``epoch + 1`` (a mid-epoch save; resumed from there),
    ``processes`` / ``batches_per_step`` = the world size and global micro-batches per step when saved (0: unknown)."""

    epoch: int = 0
    step: int = 0
    steps_into_epoch: int = 0
    nonfinite_steps: int = 0
    processes: int = 0
    batches_per_step: int = 0
    overtrain: dict = field(default_factory=dict)
    last_losses: dict = field(default_factory=dict)
    finished: bool = False
    stop_reason: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def load(cls, path: str | Path) -> "TrainState":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in raw.items() if k in known})


class StopReason(Enum):
    """Why a training run ended; the message with its numbers goes with it in :class:`Stop`."""

    EPOCHS = "epochs"  # reached --epochs
    ALREADY_TRAINED = "already_trained"  # nothing to do: epochs / steps reached or overtraining found before
    MAX_STEPS = "max_steps"
    TIME_BUDGET = "time_budget"
    OVERTRAINING = "overtraining"
    NON_FINITE = "non_finite"  # too many non-finite steps in a row: aborted, no final weights


@dataclass(frozen=True)
class Stop:
    reason: StopReason
    message: str

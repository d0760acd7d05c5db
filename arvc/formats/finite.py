"""Every tensor of a model or checkpoint must be finite: a NaN/inf weight makes every output garbage."""

from __future__ import annotations

import os
from typing import Mapping

import torch

from arvc.errors import ArvcError


def check_finite(weights: Mapping[str, torch.Tensor], path: str | os.PathLike, what: str = "model") -> None:
    """Raise ArvcError naming ``path`` and the first tensor holding NaN or infinite values."""
    bad = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise ArvcError(f"{what} {path}: tensor {bad[0]!r}{more} holds NaN or infinite values; the file is damaged "
                        f"(or was saved from a diverged training run)")

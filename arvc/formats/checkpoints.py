"""Training checkpoints ``G_<n>.pth`` / ``D_<n>.pth`` (the format pretrains are distributed in).

Applio writes ``{"model", "iteration", "optimizer", "learning_rate", "scaler"}``; mainline RVC the same without
``scaler``; published pretrains (``f0G40k.pth``...) often hold only ``{"model": ...}``. ``iteration`` is the epoch at
save time and ``learning_rate`` the configured base rate. Model keys are stored with the legacy weight-norm names
(``weight_g``/``weight_v``); use :func:`arvc.formats.naming.to_module_names` before ``load_state_dict`` if a module
uses parametrizations.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from arvc.atomic import atomic_path
from arvc.errors import ArvcError
from arvc.formats.finite import check_finite
from arvc.formats.naming import strip_wrapper_prefix, to_legacy_names
from arvc.formats.safe_load import safe_torch_load

if TYPE_CHECKING:
    import torch


@dataclass
class Checkpoint:
    """A loaded G/D checkpoint. ``optimizer``/``learning_rate``/``scaler`` are ``None`` when the file lacks them."""

    model: "OrderedDict[str, torch.Tensor]"
    optimizer: dict | None = None
    learning_rate: float | None = None
    iteration: int = 0
    scaler: dict | None = None

    @property
    def kind(self) -> str:
        """``"G"`` (synthesizer), ``"D"`` (discriminator) or ``"?"``, from the key names."""
        return checkpoint_kind(self.model)


def checkpoint_kind(state: Mapping[str, Any]) -> str:
    if any(k.startswith("discriminators.") for k in state):
        return "D"
    if any(k.startswith(("enc_p.", "dec.", "flow.")) for k in state):
        return "G"
    return "?"


def save_checkpoint(
    path: str | os.PathLike,
    model_state: Mapping[str, "torch.Tensor"],
    optimizer_state: Mapping[str, Any] | None,
    learning_rate: float,
    iteration: int,
    scaler_state: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically in Applio's layout (``scaler`` = ``{}`` when not given)."""
    import torch

    path = Path(path)
    state = OrderedDict((k, v.detach() if isinstance(v, torch.Tensor) else v) for k, v in to_legacy_names(model_state).items())
    obj = {
        "model": state,
        "iteration": int(iteration),
        "optimizer": dict(optimizer_state) if optimizer_state is not None else None,
        "learning_rate": float(learning_rate),
        "scaler": dict(scaler_state) if scaler_state else {},
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)
    return path


def checkpoint_from_dict(raw: Any, path: str | os.PathLike = "<memory>") -> Checkpoint:
    """Interpret a loaded checkpoint dict (Applio, mainline, bare pretrain, or a plain state dict)."""
    import torch

    path = Path(path)
    if not isinstance(raw, Mapping):
        raise ArvcError(f"checkpoint {path}: expected a dict, found {type(raw).__name__}")
    if "weight" in raw and "config" in raw:
        raise ArvcError(f"{path} is an inference model (weight/config), not a G_/D_ training checkpoint")
    if "model" in raw:
        model = raw["model"]
    elif raw and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in raw.items()):
        model = raw  # a bare state dict
    else:
        keys = ", ".join(list(map(str, raw.keys()))[:6])
        raise ArvcError(f"checkpoint {path} has no 'model' entry (found: {keys or 'nothing'}); not a G_/D_ checkpoint")
    if not isinstance(model, Mapping) or not model:
        raise ArvcError(f"checkpoint {path}: 'model' must be a non-empty state dict")
    bad = [k for k, v in model.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ArvcError(f"checkpoint {path}: model entry {bad[0]!r} is not a tensor")
    check_finite(model, path, "checkpoint")
    optimizer = raw.get("optimizer")
    if optimizer is not None and not (isinstance(optimizer, Mapping) and "state" in optimizer and "param_groups" in optimizer):
        raise ArvcError(f"checkpoint {path}: 'optimizer' is not an optimizer state dict (needs state/param_groups)")
    lr = raw.get("learning_rate")
    iteration = raw.get("iteration", 0)
    try:
        iteration = int(iteration or 0)
        lr = float(lr) if lr is not None else None
    except (TypeError, ValueError):
        raise ArvcError(f"checkpoint {path}: iteration/learning_rate are not numbers") from None
    scaler = raw.get("scaler")
    return Checkpoint(
        model=to_legacy_names(strip_wrapper_prefix(model)),
        optimizer=dict(optimizer) if optimizer is not None else None,
        learning_rate=lr,
        iteration=iteration,
        scaler=dict(scaler) if isinstance(scaler, Mapping) else None,
    )


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a ``G_*.pth`` / ``D_*.pth`` checkpoint or pretrain from any RVC client, safely."""
    return checkpoint_from_dict(safe_torch_load(path, what="checkpoint"), path)

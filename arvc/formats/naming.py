"""State-dict key conventions of RVC files.

Files store weight norm the old way (``<module>.weight_g`` / ``<module>.weight_v``); torch's parametrization API
names the same tensors ``<module>.parametrizations.weight.original0`` / ``.original1``. Training code wrapped in
DDP/Accelerate may prefix every key with ``module.``. These helpers convert between them, keeping key order.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Mapping

NEW_G = ".parametrizations.weight.original0"
NEW_V = ".parametrizations.weight.original1"
OLD_G = ".weight_g"
OLD_V = ".weight_v"


def to_legacy_key(key: str) -> str:
    return key.replace(NEW_G, OLD_G).replace(NEW_V, OLD_V)


def to_parametrized_key(key: str) -> str:
    if key.endswith(OLD_G):
        return key[: -len(OLD_G)] + NEW_G
    if key.endswith(OLD_V):
        return key[: -len(OLD_V)] + NEW_V
    return key


def strip_wrapper_prefix(state: Mapping[str, object]) -> "OrderedDict[str, object]":
    """Remove a ``module.`` / ``_orig_mod.`` prefix carried by every key (DDP, torch.compile)."""
    out: OrderedDict[str, object] = OrderedDict(state.items())
    for prefix in ("module.", "_orig_mod."):
        if out and all(k.startswith(prefix) for k in out):
            out = OrderedDict((k[len(prefix):], v) for k, v in out.items())
    return out


def to_legacy_names(state: Mapping[str, object]) -> "OrderedDict[str, object]":
    """Keys as files store them: ``weight_g`` / ``weight_v``, no wrapper prefix."""
    return OrderedDict((to_legacy_key(k), v) for k, v in strip_wrapper_prefix(state).items())


def to_module_names(state: Mapping[str, object], module_keys: Iterable[str]) -> "OrderedDict[str, object]":
    """Rename ``state`` (either convention) to the convention used by ``module_keys`` (a module's state_dict keys)."""
    keys = set(module_keys)
    parametrized = any(NEW_G in k or NEW_V in k for k in keys)
    legacy = to_legacy_names(state)
    if not parametrized:
        return legacy
    return OrderedDict((to_parametrized_key(k) if to_parametrized_key(k) in keys else k, v) for k, v in legacy.items())

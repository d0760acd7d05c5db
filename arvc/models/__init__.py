"""RVC networks: ``ModelConfig`` (config.py), ``Synthesizer`` (synthesizer.py), vocoders (vocoders/),
``MultiPeriodDiscriminator`` (discriminators.py). Submodules are imported lazily."""

from __future__ import annotations

from typing import Any

_LAZY = {
    "ModelConfig": "arvc.models.config",
    "Synthesizer": "arvc.models.synthesizer",
    "MultiPeriodDiscriminator": "arvc.models.discriminators",
    "VOCODERS": "arvc.models.vocoders",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)

"""F0 (pitch) methods behind one registry.

Every method module registers its class in ``F0_METHODS`` when imported; ``get_f0_method``
imports them on first use. Their third-party libraries (pyworld, parselmouth, ...) are imported
when a method is built, so a missing library only fails the method that needs it; a module that
fails to import is an ImportError naming it (never a silently "unknown" method).
"""

from __future__ import annotations

import importlib

from arvc.features.f0.base import F0Method, F0Options
from arvc.registry import Registry

F0_METHODS: Registry[type[F0Method]] = Registry("F0 method")

# modules that register methods (imported on first use)
_METHOD_MODULES = (
    "arvc.features.f0.rmvpe",
    "arvc.features.f0.crepe",
    "arvc.features.f0.fcpe",
    "arvc.features.f0.world",
    "arvc.features.f0.praat",
    "arvc.features.f0.librosa_methods",
    "arvc.features.f0.sptk",
    "arvc.features.f0.swift",
    "arvc.features.f0.pesto",
    "arvc.features.f0.penn",
    "arvc.features.f0.djcm",
    "arvc.features.f0.hybrid",
)
_loaded = False


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for mod in _METHOD_MODULES:
        try:
            importlib.import_module(mod)
        except Exception as e:
            raise ImportError(f"F0 method module {mod} failed to import ({type(e).__name__}: {e})") from e
    _loaded = True


def f0_method_names() -> list[str]:
    _load_all()
    return F0_METHODS.names() + ["hybrid[a+b+...]"]


def get_f0_method(name: str, options: F0Options | None = None, device=None, **kwargs) -> F0Method:
    """Build the F0 method ``name`` (e.g. ``"rmvpe"``, ``"crepe-tiny"``, ``"hybrid[rmvpe+fcpe]"``)."""
    _load_all()
    if name.lower().startswith("hybrid"):
        from arvc.features.f0.hybrid import HybridF0  # hybrid builds its parts through this module

        return HybridF0.from_spec(name, options=options, device=device, **kwargs)
    cls = F0_METHODS.get(name)
    return cls(options=options, device=device, **kwargs)


__all__ = ["F0_METHODS", "F0Method", "F0Options", "get_f0_method", "f0_method_names"]

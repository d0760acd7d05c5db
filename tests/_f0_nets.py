"""Shared by the tests of the neural F0 networks ported from their papers' code (penn, djcm): the reference
fixtures' random weights and a harmonic test tone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 16000


def random_state_of(folder: Path | None = None):
    """``random_state`` of tests/data/f0_reference/random_weights.py (loaded by path, sys.path untouched)."""
    import importlib.util

    path = (folder or Path(__file__).parent / "data" / "f0_reference") / "random_weights.py"
    spec = importlib.util.spec_from_file_location("f0_reference_random_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.random_state


def tone(f0: float, seconds: float) -> np.ndarray:
    """Five harmonics of ``f0`` at 16 kHz, peak 0.3: ``(N,)`` float32."""
    t = np.arange(int(SR * seconds)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)

"""Deterministic random weights for a state dict's names and shapes, independent of torch's RNG and of key
order (one numpy generator per key), so a reference built with another package's module can be rebuilt
here from arvc's module. No arvc import: make_penn_djcm_reference.py uses it in a separate environment."""

from __future__ import annotations

import zlib

import numpy as np


def random_state(shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """``name -> shape`` to ``name -> float32 array`` (int64 zeros for ``num_batches_tracked``).

    Conv / GRU / linear weights: normal / sqrt(fan-in); biases and running means: 0.1 normal; running
    variances: uniform 0.5..1.5; norm scales and PReLU slopes: 1 + 0.1 normal.
    """
    out = {}
    for name, shape in shapes.items():
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        if name.endswith("num_batches_tracked"):
            out[name] = np.zeros(shape, np.int64)
            continue
        if name.endswith("running_var"):
            v = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("bias", "running_mean")) or "bias_" in name:
            v = 0.1 * rng.standard_normal(shape)
        elif len(shape) >= 3 or "gru" in name or name.endswith("fc.1.weight"):
            v = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
        else:
            v = 1 + 0.1 * rng.standard_normal(shape)
        out[name] = v.astype(np.float32)
    return out

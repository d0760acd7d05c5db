"""The one place that picks device, dtype, autocast and seeds.

Nothing else in arvc calls ``.cuda()`` or inspects the environment for devices.
Training builds its ``accelerate.Accelerator`` through the functions at the end of this file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from typing import Iterator

import torch

log = logging.getLogger(__name__)

DEVICE_ENV = "ARVC_DEVICE"  # e.g. "cpu", "cuda:1", "mps": overrides --gpu and autodetection

PRECISIONS = ("fp32", "fp16", "bf16")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _accelerator_available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if kind == "xpu":
        return hasattr(torch, "xpu") and torch.xpu.is_available()
    return False


def default_accelerator() -> str | None:
    """Name of the best available accelerator type (cuda also covers ROCm), or None."""
    for kind in ("cuda", "xpu", "mps"):
        if _accelerator_available(kind):
            return kind
    return None


def device_count(kind: str | None = None) -> int:
    kind = kind or default_accelerator()
    if kind == "cuda":
        return torch.cuda.device_count()
    if kind == "xpu":
        return torch.xpu.device_count()
    if kind == "mps":
        return 1
    return 0


def parse_gpu_ids(gpu: str | int | None) -> list[int]:
    """``"0"`` -> [0]; ``"0,1"`` / ``"0-1"`` -> [0, 1]; ``None``/``""``/``"-"`` -> []."""
    if gpu is None:
        return []
    text = str(gpu).strip()
    if text in ("", "-", "cpu", "none"):
        return []
    ids: list[int] = []
    for part in text.replace("-", ",").split(","):
        part = part.strip()
        if part:
            ids.append(int(part))
    return ids


def select_device(gpu: str | int | None = None, *, prefer_accelerator: bool = True) -> torch.device:
    """Resolve the compute device.

    Order: $ARVC_DEVICE > ``gpu`` ids (first one) > first accelerator (when ``prefer_accelerator``) > CPU.
    An unavailable id gives a warning and the CPU.
    """
    env = os.environ.get(DEVICE_ENV)
    if env:
        return torch.device(env)
    kind = default_accelerator()
    ids = parse_gpu_ids(gpu)
    if ids:
        if kind is None:
            log.warning("no GPU available (asked for --gpu %s); using the CPU", gpu)
            return torch.device("cpu")
        bad = [i for i in ids if i >= device_count(kind)]
        if bad:
            log.warning("GPU id(s) %s not available (%d present); using the CPU", bad, device_count(kind))
            return torch.device("cpu")
        return torch.device(kind, ids[0]) if kind != "mps" else torch.device("mps")
    if prefer_accelerator and kind is not None:
        return torch.device(kind)
    return torch.device("cpu")


def supports_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        # CPU autocast in bf16 always runs; native speed needs avx512_bf16 / amx.
        return True
    if device.type == "xpu":
        return True
    return False


def supports_fp16(device: torch.device) -> bool:
    return device.type in ("cuda", "xpu", "mps", "cpu")


def dtype_of(precision: str) -> torch.dtype:
    if precision not in _DTYPES:
        raise ValueError(f"unknown precision {precision!r}; choices: {', '.join(PRECISIONS)}")
    return _DTYPES[precision]


@contextlib.contextmanager
def autocast(device: torch.device, precision: str = "fp32") -> Iterator[None]:
    """Autocast context for ``precision`` on ``device`` (a no-op for fp32)."""
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype_of(precision)):
        yield


def cpu_bf16_native() -> bool:
    """True when this CPU has native bf16 instructions (avx512_bf16 or AMX)."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:
        pass
    torch.manual_seed(seed)

"""The one place that picks device, dtype, autocast and seeds.

Nothing else in arvc calls ``.cuda()`` or inspects the environment for devices.
Training's runtime (the Accelerator, backend switches, data loading) is :mod:`arvc.training.runtime`;
the process's memory allocators are :mod:`arvc.allocator`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from typing import Iterator

import torch

from arvc.precision import cpu_features, guard
from arvc.precision.int8 import int8_available

log = logging.getLogger(__name__)

DEVICE_ENV = "ARVC_DEVICE"  # e.g. "cpu", "cuda:1", "mps": overrides --gpu and autodetection

PRECISIONS = ("fp32", "fp16", "bf16")
INFERENCE_PRECISIONS = (*PRECISIONS, "int8")  # int8: the synthesizer's decoder and the embedder's linears (CPU)
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
            if not part.isdigit() or len(part) > 4:
                from arvc.errors import ArvcError

                raise ArvcError(f"--gpu {text[:40]!r}: expected GPU numbers such as 0 or 0,1 (or cpu)")
            ids.append(int(part))
    return ids


_ENV_WARNED: set[str] = set()


def env_device() -> torch.device | None:
    """The device $ARVC_DEVICE names, or None when unset. Like ``--gpu``: an unavailable device gives one
    warning and the CPU; a value that names no device type raises ArvcError."""
    from arvc.errors import ArvcError

    env = os.environ.get(DEVICE_ENV, "").strip()
    if not env:
        return None
    try:
        device = torch.device(env)
    except (RuntimeError, ValueError):
        raise ArvcError(f"{DEVICE_ENV}={env!r} is not a device (expected cpu, cuda, cuda:N, xpu, xpu:N or mps)") from None
    if device.type == "cpu":
        return device
    if device.type not in ("cuda", "xpu", "mps"):
        raise ArvcError(f"{DEVICE_ENV}={env!r}: arvc runs on cpu, cuda, xpu or mps devices")
    why = None
    if not _accelerator_available(device.type):
        why = f"no {device.type} device available"
    elif device.index is not None and device.index >= device_count(device.type):
        why = f"only {device_count(device.type)} {device.type} device(s) present"
    if why is None:
        return device
    if env not in _ENV_WARNED:  # once per process, however many stages ask
        _ENV_WARNED.add(env)
        log.warning("%s=%s: %s; using the CPU", DEVICE_ENV, env, why)
    return torch.device("cpu")


def select_device(gpu: str | int | None = None, *, prefer_accelerator: bool = True) -> torch.device:
    """Resolve the compute device.

    Order: $ARVC_DEVICE > ``gpu`` ids (first one) > first accelerator (when ``prefer_accelerator``) > CPU.
    An unavailable id gives a warning and the CPU.
    """
    env = env_device()
    if env is not None:
        return env
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


def resolve_precision(precision: str, device: torch.device) -> str:
    """Inference precision: ``"auto"`` -> :func:`auto_precision`; explicit fp32 / fp16 / bf16 are checked and
    returned as given."""
    from arvc.errors import ArvcError

    if precision == "auto":
        return auto_precision(device)
    if precision not in INFERENCE_PRECISIONS:
        raise ArvcError(f"--precision {precision!r}: choices are auto, {', '.join(INFERENCE_PRECISIONS)}")
    if precision == "int8" and not int8_available(device):
        raise ArvcError(f"--precision int8 runs on the CPU through oneDNN's int8 kernels, not on {device}; "
                        "use auto, fp32, fp16 or bf16")
    return precision


def int8_candidate(asked: str, resolved: str, device: torch.device) -> bool:
    """Whether inference may run int8: forced (``asked == "int8"``), or ``auto`` where auto resolved to fp32 on a
    CPU with oneDNN int8 kernels. For ``auto`` the per-model, cached self-check of
    :mod:`arvc.inference.int8_check` (right and faster than fp32 here) then decides; ``fp32`` never runs int8."""
    if asked == "int8":
        return True
    return asked == "auto" and resolved == "fp32" and int8_available(device)


def auto_precision(device: torch.device, *, training: bool = False) -> str:
    """The fastest precision that is right on ``device``.

    CUDA: fp16 for inference (as RVC clients run there); for training bf16 where the GPU has it, else fp16.
    CPU: bf16 where oneDNN can use AMX and :func:`arvc.precision.guard.cpu_bf16_selfcheck` passes, else fp32 (without
    AMX, bf16 on a CPU is emulated or at best no faster). Other devices: fp32. Inference on a CPU that gets fp32
    here may still run int8, per model: :func:`int8_candidate`.
    """
    if device.type == "cuda":
        return "bf16" if training and torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu" and cpu_features.cpu_amx_active() and guard.cpu_bf16_selfcheck():
        return "bf16"
    return "fp32"


def decoder_weight_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """dtype to cast the synthesizer's decoder weights to once at load, or None (keep fp32 under autocast).

    CPU bf16: autocast re-casts every weight on every call and feeds oneDNN plain-layout copies, which on
    AMX costs more than the bf16 kernels gain (measured: a full v2 40k decoder on 10 s took 1.4-6 s under
    autocast, ~1.0 s cast once, 4-5 s in fp32). Accelerators keep autocast."""
    return torch.bfloat16 if device.type == "cpu" and precision == "bf16" else None


def decoder_tile_frames(device: torch.device) -> int:
    """Frames the decoder synthesizes at a time in inference (0: all at once). On the CPU, tiles of 250
    frames (2.5 s) keep activations cache-sized: a v2 40k decoder on 20 s took 12.6 s in one pass and
    1.7 s tiled in bf16 (9.0 s and 6.0 s in fp32), with the same output. Accelerators want one big pass."""
    return 250 if device.type == "cpu" else 0


def default_chunk_batch(device: torch.device) -> int:
    """Chunks of one long input synthesized together: 1 on the CPU (its convolutions are already large, a
    batch only multiplies memory), 4 on an accelerator (where batching fills the device)."""
    return 1 if device.type == "cpu" else 4


def dtype_of(precision: str) -> torch.dtype:
    if precision not in _DTYPES:
        raise ValueError(f"unknown precision {precision!r}; choices: {', '.join(PRECISIONS)}")
    return _DTYPES[precision]


@contextlib.contextmanager
def autocast(device: torch.device, precision: str = "fp32") -> Iterator[None]:
    """Autocast context for ``precision`` on ``device`` (a no-op for fp32, and for int8, whose layers take and
    give fp32)."""
    if precision in ("fp32", "int8"):
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype_of(precision)):
        yield


def seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:
        pass
    torch.manual_seed(seed)


def resolve_training_precision(device: torch.device, precision: str) -> tuple[str, list[str]]:
    """The precision actually used on ``device`` (``auto``: :func:`auto_precision`; fp16 needs an accelerator;
    bf16 needs support) and notes."""
    notes: list[str] = []
    if precision == "auto":
        precision = auto_precision(device, training=True)
    if precision == "fp16" and device.type == "cpu":
        notes.append("fp16 mixed precision needs a GPU; training in fp32 on the CPU")
        return "fp32", notes
    if precision == "bf16" and not supports_bf16(device):
        notes.append(f"bf16 is not supported on {device}; training in fp32")
        return "fp32", notes
    return precision, notes

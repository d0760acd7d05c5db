"""The process's memory allocators: glibc tuning for CPU work and the CUDA caching allocator's settings."""

from __future__ import annotations

import os
import sys

import torch

CUDA_ALLOC_CONF = "expandable_segments:True,max_split_size_mb:512"


def prepare_cuda_allocator() -> bool:
    """Set PYTORCH_CUDA_ALLOC_CONF (fast_train) if CUDA is not initialised yet; True when it took effect."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return False
    os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", CUDA_ALLOC_CONF)
    return True


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc mallopt parameters
_allocator_tuned = False


def tune_cpu_allocator(device: torch.device) -> bool:
    """Keep freed memory in the process (glibc): no ``mmap`` for large blocks, no trimming back to the OS.

    Activations of the decoder and the discriminators are tens of MB each; glibc maps and unmaps every such
    block, so each step faults in fresh pages (measured: a bf16 training step of the full v2 40k model spent
    1-3 s of ~5 in the kernel on 200k page faults; with this, 3.1 s and none). The process keeps its
    high-water mark instead of returning memory. Skipped when ``MALLOC_MMAP_MAX_`` / ``MALLOC_TRIM_THRESHOLD_``
    are set (the user's choice), off the CPU, on other C libraries, or with ``ARVC_MALLOC_TUNING=0``. True when
    applied."""
    global _allocator_tuned
    if device.type != "cpu":
        return False
    if _allocator_tuned:
        return True
    if os.environ.get("ARVC_MALLOC_TUNING", "1") == "0" or sys.platform != "linux" or any(
            k in os.environ for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _allocator_tuned = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _allocator_tuned

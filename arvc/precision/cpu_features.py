"""The CPU's reduced-precision features: flags from ``/proc/cpuinfo``, native bf16 (avx512_bf16 / AMX), whether
oneDNN may use AMX, and a one-line description for logs and benchmarks."""

from __future__ import annotations

import functools
import os

BF16_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (``/proc/cpuinfo``; empty where that file does not exist)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@functools.lru_cache(maxsize=1)
def cpu_model_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor()


def cpu_bf16_native() -> bool:
    """True when this CPU has native bf16 instructions (avx512_bf16 or AMX)."""
    flags = cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_amx_active() -> bool:
    """True when oneDNN may use AMX here: the CPU has it and ``ONEDNN_MAX_CPU_ISA`` does not cap it below."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "")).upper()
    return "amx_bf16" in cpu_flags() and (not isa or "AMX" in isa or isa == "ALL")


def describe_cpu_bf16() -> str:
    """One line naming the CPU's bf16-relevant features, e.g. ``bf16 ISA: amx_bf16 amx_tile avx512_bf16``."""
    have = [f for f in BF16_FLAGS if f in cpu_flags()]
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    cap = f"; ONEDNN_MAX_CPU_ISA={isa}" if isa else ""
    return f"bf16 ISA: {' '.join(have) if have else 'none (bf16 emulated)'}{cap}"

"""The one place that picks device, dtype, autocast and seeds.

Nothing else in arvc calls ``.cuda()`` or inspects the environment for devices.
Training builds its ``accelerate.Accelerator`` through the functions at the end of this file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
from typing import Iterator

import torch

from arvc import cpu_bf16

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
    if precision not in PRECISIONS:
        raise ArvcError(f"--precision {precision!r}: choices are auto, {', '.join(PRECISIONS)}")
    return precision


def auto_precision(device: torch.device, *, training: bool = False) -> str:
    """The fastest precision that is right on ``device``.

    CUDA: fp16 for inference (as RVC clients run there); for training bf16 where the GPU has it, else fp16.
    CPU: bf16 where oneDNN can use AMX and :func:`arvc.cpu_bf16.cpu_bf16_selfcheck` passes, else fp32 (without
    AMX, bf16 on a CPU is emulated or at best no faster). Other devices: fp32.
    """
    if device.type == "cuda":
        return "bf16" if training and torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu" and cpu_bf16.cpu_amx_active() and cpu_bf16.cpu_bf16_selfcheck():
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
    """Autocast context for ``precision`` on ``device`` (a no-op for fp32)."""
    if precision == "fp32":
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


# ------------------------------------------------------------------------------------------- training (Accelerate)

CUDA_ALLOC_CONF = "expandable_segments:True,max_split_size_mb:512"


def in_distributed_launch() -> bool:
    """True inside ``accelerate launch`` / ``torchrun`` (several processes)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


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


def configure_backends(device: torch.device, *, fast_train: bool, deterministic: bool) -> list[str]:
    """Apply the ``--fast_train`` / ``--deterministic`` backend switches; returns one-line notes of what was skipped.

    fast_train on CUDA: TF32 matmul + cuDNN TF32, cudnn.benchmark, non-deterministic cuDNN (unless deterministic).
    None of these changes a loss or a gradient path; on other devices they are skipped.
    """
    notes: list[str] = []
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        if device.type == "cuda":
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if not fast_train:
        return notes
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = not deterministic
        torch.backends.cudnn.deterministic = deterministic
    else:
        notes.append(f"fast_train: TF32, cudnn.benchmark and the CUDA allocator settings need CUDA; "
                     f"skipped on {device.type}")
    return notes


def dataloader_options(device: torch.device, *, fast_train: bool, num_workers: int | None = None) -> dict:
    """DataLoader keyword arguments: fast_train uses min(8, cpus // 2) workers, prefetch 16, pinned, persistent."""
    cpus = os.cpu_count() or 1
    workers = num_workers if num_workers is not None else (min(8, cpus // 2) if fast_train else 0)
    opts: dict = {"num_workers": workers}
    if workers > 0:
        opts["persistent_workers"] = fast_train
        opts["prefetch_factor"] = 16 if fast_train else 2
    opts["pin_memory"] = fast_train and device.type == "cuda"
    return opts


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


def make_accelerator(gpu: str | int | None = None, precision: str = "fp32", *,
                     log_dir: str | os.PathLike | None = None):
    """Build the ``accelerate.Accelerator`` for training and return ``(accelerator, precision_used, notes)``.

    Device order as :func:`select_device` ($ARVC_DEVICE > --gpu > accelerator > CPU). Under ``accelerate launch``
    / ``torchrun`` every process takes its own local device (gloo on CPU). fp16 uses Accelerate's GradScaler.
    Gradient accumulation is done by the loop (the GAN needs the discriminator updated before the generator
    step), so the Accelerator itself accumulates nothing.
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    notes: list[str] = []
    env = env_device()
    if env is not None:
        wanted = env
    elif in_distributed_launch():
        kind = default_accelerator()
        wanted = torch.device(kind) if kind and (gpu is None or parse_gpu_ids(gpu)) else torch.device("cpu")
    else:
        wanted = select_device(gpu)
    if wanted.type == "cuda" and wanted.index is not None and not in_distributed_launch():
        torch.cuda.set_device(wanted.index)
    used, prec_notes = resolve_training_precision(wanted, precision)
    notes += prec_notes
    from accelerate.state import AcceleratorState, GradientState

    # one process may train several times (notebooks, quickstart, tests): forget the previous run's settings,
    # keeping the process group of a distributed launch
    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    accelerator = Accelerator(
        cpu=wanted.type == "cpu",
        mixed_precision={"fp32": "no", "fp16": "fp16", "bf16": "bf16"}[used],
        gradient_accumulation_steps=1,
        project_dir=str(log_dir) if log_dir else None,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=False, broadcast_buffers=False)],
    )
    return accelerator, used, notes

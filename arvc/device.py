"""The one place that picks device, dtype, autocast and seeds.

Nothing else in arvc calls ``.cuda()`` or inspects the environment for devices.
Training builds its ``accelerate.Accelerator`` through the functions at the end of this file.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
from dataclasses import dataclass
from typing import Callable, Iterator

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
    CPU: bf16 where oneDNN can use AMX and :func:`cpu_bf16_selfcheck` passes, else fp32 (without AMX, bf16 on a
    CPU is emulated or at best no faster). Other devices: fp32.
    """
    if device.type == "cuda":
        return "bf16" if training and torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu" and cpu_amx_active() and cpu_bf16_selfcheck():
        return "bf16"
    return "fp32"


SELFCHECK_TOLERANCE = 0.02


def _selfcheck_error() -> float:
    """Relative error of a small decoder-like conv stack in bf16 vs fp32 on this CPU (cast and autocast)."""
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv1d(64, 128, 7, padding=3), torch.nn.LeakyReLU(0.1),
        torch.nn.ConvTranspose1d(128, 64, 16, stride=8, padding=4), torch.nn.LeakyReLU(0.1),
        torch.nn.Conv1d(64, 64, 3, padding=1, groups=8), torch.nn.LeakyReLU(0.1), torch.nn.Conv1d(64, 1, 7, padding=3),
    ).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / max(p[0].numel(), 1) ** 0.5)
        x = torch.randn(1, 64, 400, generator=g)
        ref = net(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            auto = net(x)
        cast = net.to(torch.bfloat16)(x.bfloat16())
    return max(relative_error(auto, ref), relative_error(cast, ref))


@functools.lru_cache(maxsize=1)
def cpu_bf16_selfcheck() -> bool:
    """True when bf16 convolutions on this CPU agree with fp32 (cached per CPU model, torch and ISA cap);
    a CPU that fails falls back to fp32 and says so once."""
    key = "selfcheck:" + _machine_key()
    cached = _guard_cache().get(key)
    if cached is None:
        cached = {"error": _selfcheck_error()}
        _guard_cache_store(key, cached)
    ok = cached["error"] <= SELFCHECK_TOLERANCE
    if not ok:
        log.warning("bf16 on this CPU is wrong (conv stack differs %.3g from fp32; %s): precision auto uses fp32",
                    cached["error"], describe_cpu_bf16())
    return ok


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


_BF16_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f")


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
    have = [f for f in _BF16_FLAGS if f in cpu_flags()]
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    cap = f"; ONEDNN_MAX_CPU_ISA={isa}" if isa else ""
    return f"bf16 ISA: {' '.join(have) if have else 'none (bf16 emulated)'}{cap}"


# ------------------------------------------------------------------------ reduced-precision numeric guard

GUARD_TOLERANCE = 0.03  # relative L2 error of one unit in bf16 vs fp32; rounding alone gives ~0.002-0.01


def _is_guard_unit(module: torch.nn.Module) -> bool:
    """Modules checked one by one: convolutions, linear layers and attention blocks."""
    convs = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.ConvTranspose1d, torch.nn.Linear)
    return isinstance(module, convs) or type(module).__name__.endswith("Attention")


def _cast_floats(obj, dtype: torch.dtype):
    if torch.is_tensor(obj):
        return obj.to(dtype) if obj.is_floating_point() else obj
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_cast_floats(o, dtype) for o in obj)
    if isinstance(obj, list):
        return [_cast_floats(o, dtype) for o in obj]
    if isinstance(obj, dict) and type(obj) is dict:
        return {k: _cast_floats(v, dtype) for k, v in obj.items()}
    return obj


def _first_tensor(obj) -> torch.Tensor | None:
    if torch.is_tensor(obj):
        return obj
    if isinstance(obj, (tuple, list)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def relative_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    """``||got - ref|| / ||ref||`` in fp32 (inf when ``got`` is not finite)."""
    got, ref = got.detach().float(), ref.detach().float()
    if not torch.isfinite(got).all():
        return float("inf")
    return float((got - ref).norm() / ref.norm().clamp_min(1e-12))


def pin_fp32(module: torch.nn.Module, out_dtype: torch.dtype) -> None:
    """Run ``module`` in fp32 from now on (autocast off inside), its outputs cast to ``out_dtype``."""
    module.float()
    inner = module.forward
    device_type = next((p.device.type for p in module.parameters()), "cpu")

    def forward(*args, **kwargs):
        with torch.autocast(device_type=device_type, enabled=False):
            out = inner(*_cast_floats(args, torch.float32), **_cast_floats(kwargs, torch.float32))
        return _cast_floats(out, out_dtype)

    module.forward = forward


@dataclass(frozen=True)
class GuardReport:
    """What :func:`guard_reduced_precision` found: each unit's error and the ones kept in fp32."""

    dtype: torch.dtype
    errors: dict[str, float]
    kept_fp32: tuple[str, ...]
    cached: bool = False

    def summary(self, what: str) -> str:
        worst = ", ".join(f"{n} ({self.errors[n]:.3g})" for n in self.kept_fp32)
        return (f"{what}: {len(self.kept_fp32)} of {len(self.errors)} layers drift past "
                f"{GUARD_TOLERANCE:g} relative error in {str(self.dtype).replace('torch.', '')} on this CPU "
                f"({describe_cpu_bf16()}); kept in fp32: {worst}")


def guard_reduced_precision(model: torch.nn.Module, forward: Callable[[torch.nn.Module, torch.dtype], object],
                            dtype: torch.dtype, *, tolerance: float = GUARD_TOLERANCE) -> GuardReport:
    """Cast an fp32 ``model`` to ``dtype``, keeping in fp32 every unit whose reduced-precision output drifts.

    ``forward(model, dtype)`` runs the model once on a small example input cast to ``dtype``. Each unit
    (convolution, linear, attention block) is re-run alone in ``dtype`` on the inputs it saw in fp32 and
    compared with its fp32 output; a unit past ``tolerance`` (or non-finite) is pinned to fp32. Children are
    checked before their parents, so a parent is judged with its children as they will run. This catches
    kernels that are wrong on one CPU only (e.g. an AMX kernel), whatever the model. The verdict is cached in
    ``$ARVC_MODELS_DIR/cache/precision_guard.json`` per CPU model, torch version, ISA cap and layer shapes.
    """
    units = [(n, m) for n, m in model.named_modules() if _is_guard_unit(m)]
    key = _guard_cache_key(units, dtype, tolerance)
    cached = _guard_cache().get(key)
    if cached is not None:
        model.to(dtype)
        pinned = dict(units)
        for name in cached["kept_fp32"]:
            pin_fp32(pinned[name], dtype)
        return GuardReport(dtype, dict(cached["errors"]), tuple(cached["kept_fp32"]), cached=True)
    report = _run_guard(model, units, forward, dtype, tolerance)
    _guard_cache_store(key, {"errors": report.errors, "kept_fp32": list(report.kept_fp32)})
    return report


def _guard_cache_file():
    from arvc.paths import models_root

    return models_root() / "cache" / "precision_guard.json"


def _guard_cache() -> dict:
    import json

    try:
        return json.loads(_guard_cache_file().read_text())
    except (OSError, ValueError):
        return {}


def _guard_cache_store(key: str, entry: dict) -> None:
    from arvc.atomic import write_json

    data = _guard_cache()
    data[key] = entry
    try:
        _guard_cache_file().parent.mkdir(parents=True, exist_ok=True)
        write_json(_guard_cache_file(), data)
    except OSError as e:
        log.debug("precision guard cache not written: %s", e)


def _machine_key() -> str:
    """CPU model, its bf16 features, torch version and oneDNN ISA cap: what decides the bf16 kernels."""
    return "|".join([torch.__version__, cpu_model_name(), " ".join(sorted(f for f in cpu_flags() if f in _BF16_FLAGS)),
                     os.environ.get("ONEDNN_MAX_CPU_ISA", "")])


def _guard_cache_key(units, dtype: torch.dtype, tolerance: float) -> str:
    """Same machine kind, dtype and layer shapes -> same verdict."""
    import hashlib
    import json

    shapes = [(n, type(m).__name__, [list(p.shape) for p in m.parameters()]) for n, m in units]
    ident = [_machine_key(), str(dtype), tolerance, shapes]
    return hashlib.sha1(json.dumps(ident).encode()).hexdigest()


def _run_guard(model, units, forward, dtype: torch.dtype, tolerance: float) -> "GuardReport":
    seen: dict[str, list] = {}
    hooks = []
    for name, unit in units:
        def pre(_m, args, kwargs, name=name):
            seen[name] = [args, kwargs, None]

        def post(_m, _args, _kwargs, out, name=name):
            seen[name][2] = _first_tensor(out)

        hooks += [unit.register_forward_pre_hook(pre, with_kwargs=True),
                  unit.register_forward_hook(post, with_kwargs=True)]
    try:
        with torch.no_grad():
            forward(model, torch.float32)
    finally:
        for h in hooks:
            h.remove()
    model.to(dtype)
    errors: dict[str, float] = {}
    kept: list[str] = []
    for name, unit in reversed(units):
        if name not in seen or seen[name][2] is None:
            continue
        args, kwargs, ref = seen.pop(name)
        with torch.no_grad():
            got = _first_tensor(unit(*_cast_floats(args, dtype), **_cast_floats(kwargs, dtype)))
        errors[name] = relative_error(got, ref)
        if not errors[name] <= tolerance:
            pin_fp32(unit, dtype)
            kept.append(name)
    return GuardReport(dtype, errors, tuple(reversed(kept)))


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

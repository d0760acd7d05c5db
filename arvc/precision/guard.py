"""Whether reduced precision is right here: a per-layer guard that keeps in fp32 the units whose bf16 kernels drift
on this CPU (cached per machine), and a cached numeric self-check of a small conv stack that ``auto`` trusts."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from typing import Callable

import torch

from arvc.precision.amx_workaround import route_around_amx_conv_bug
from arvc.precision.cpu_features import BF16_FLAGS, cpu_flags, cpu_model_name, describe_cpu_bf16

log = logging.getLogger(__name__)

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
    return "|".join([torch.__version__, cpu_model_name(), " ".join(sorted(f for f in cpu_flags() if f in BF16_FLAGS)),
                     os.environ.get("ONEDNN_MAX_CPU_ISA", "")])


def _guard_cache_key(units, dtype: torch.dtype, tolerance: float) -> str:
    """Same machine kind, dtype and layer shapes -> same verdict."""
    import hashlib
    import json

    shapes = [(n, type(m).__name__, [list(p.shape) for p in m.parameters()]) for n, m in units]
    ident = [_machine_key(), "amx-conv-fix-1", str(dtype), tolerance, shapes]
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


SELFCHECK_TOLERANCE = 0.02


def _selfcheck_error() -> float:
    """Relative error of a small decoder-like conv stack in bf16 vs fp32 on this CPU (cast and autocast), with
    :func:`route_around_amx_conv_bug` applied as everywhere bf16 runs."""
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv1d(64, 128, 7, padding=3), torch.nn.LeakyReLU(0.1),
        torch.nn.ConvTranspose1d(128, 64, 16, stride=8, padding=4), torch.nn.LeakyReLU(0.1),
        torch.nn.Conv1d(64, 64, 3, padding=1, groups=8), torch.nn.LeakyReLU(0.1),
        torch.nn.Conv1d(64, 64, 16, padding=8, groups=8), torch.nn.LeakyReLU(0.1),  # the AMX bug's shape
        torch.nn.Conv1d(64, 1, 7, padding=3),
    ).eval()
    route_around_amx_conv_bug(net)
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
    key = "selfcheck2:" + _machine_key()
    cached = _guard_cache().get(key)
    if cached is None:
        cached = {"error": _selfcheck_error()}
        _guard_cache_store(key, cached)
    ok = cached["error"] <= SELFCHECK_TOLERANCE
    if not ok:
        log.warning("bf16 on this CPU is wrong (conv stack differs %.3g from fp32; %s): precision auto uses fp32",
                    cached["error"], describe_cpu_bf16())
    return ok

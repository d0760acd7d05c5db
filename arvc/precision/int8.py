"""int8 inference on the CPU through oneDNN's quantized kernels (the x86 kernels PyTorch's own int8 path uses).

Weights: int8, symmetric, one scale per output channel. Activations: uint8, by default one scale and zero point per call,
taken from the call's own range and rounded up to a coarse grid (:func:`activation_grid`) (for a batch, the whole batch's: an item's output then differs slightly from a
batch of one; the CPU synthesizes one chunk at a time) (dynamic; as fast as calibrated scales here, see benchmarks/probe_int8.py, and
never clipped by an input louder than the calibration); or static: a conv's range fixed once by
:meth:`Int8Conv1d.set_input_range` from calibration (:mod:`arvc.inference.int8_calibration`), values outside it
saturate). Accumulation is integer, the output fp32, so the
layers drop into an fp32 network: nothing around them changes. Used where :mod:`arvc.inference.int8_check`
found int8 both faster and right for a model on this CPU (or where ``--precision int8`` forces it).

    Int8Conv1d.from_conv(conv)      Conv1d (groups 1) -> int8; ``forward (B, C, T)``, ``forward_nwc (B, C, 1, T)``
    Int8ConvTranspose1d.from_conv   ConvTranspose1d (groups 1) -> int8, as its polyphase plain conv
    Int8Linear.from_linear(linear)  Linear -> int8; ``forward (..., in) -> (..., out)``
    quantize_modules(model, ...)    swap a model's convs / linears in place
"""

from __future__ import annotations

import math
import os
import warnings

import torch
from torch import nn

INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni", "avx512f", "avx2")


def int8_available(device: torch.device) -> bool:
    """oneDNN's int8 kernels exist here: an x86 CPU build of torch with the onednn quantized ops."""
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    return hasattr(torch.ops.onednn, "qconv_pointwise") and hasattr(torch.ops.onednn, "qlinear_pointwise")


def weights_digest(model: nn.Module) -> str:
    """A digest of ``model``'s weights (names, shapes and the first 4096 values of each tensor)."""
    import hashlib

    digest = hashlib.sha1()
    for name, t in model.state_dict().items():
        digest.update(name.encode() + str(tuple(t.shape)).encode())
        digest.update(t.detach().float().reshape(-1)[:4096].cpu().numpy().tobytes())
    return digest.hexdigest()


def int8_cache_key(kind: str, *ident) -> str:
    """Cache key of an int8 verdict: ``kind``, ``ident`` (the check's settings, a weights digest), and what decides
    the int8 kernels here (CPU model, its int8 ISA, torch, the oneDNN ISA cap)."""
    import hashlib
    import json

    from arvc.precision.cpu_features import cpu_flags, cpu_model_name

    machine = [torch.__version__, cpu_model_name(), sorted(f for f in cpu_flags() if f in INT8_FLAGS),
               os.environ.get("ONEDNN_MAX_CPU_ISA", "")]
    return "int8:" + hashlib.sha1(json.dumps([kind, *ident, *machine], default=str).encode()).hexdigest()


def describe_cpu_int8() -> str:
    """One line naming the CPU's int8-relevant features, e.g. ``int8 ISA: avx512_vnni avx512f avx2``."""
    from arvc.precision.cpu_features import cpu_flags

    have = [f for f in INT8_FLAGS if f in cpu_flags()]
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"int8 ISA: {' '.join(have) if have else 'none'}" + (f"; ONEDNN_MAX_CPU_ISA={isa}" if isa else "")


SCALE_STEPS = 4  # activation scales on a grid of 2^(1/4) (<= 19% of range lost, ~0.25 bit)
ZERO_STEP = 16  # zero points on multiples of 16


def activation_grid(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero point) covering ``[lo, hi]`` (and 0), both on a coarse grid.

    oneDNN builds (and caches) one kernel per input scale and zero point: exact per-call values made every call
    build a new kernel (+50% time, GBs of cached kernels in a long conversion). On the grid a layer sees a few
    values over a whole file."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if not (hi - lo < float("inf")):
        raise FloatingPointError("int8 layer input is not finite")
    step = math.ceil(math.log2(max(hi - lo, 1e-12) / 255.0) * SCALE_STEPS)
    while True:
        scale = 2.0 ** (step / SCALE_STEPS)
        zero = min(256, ZERO_STEP * math.ceil(-lo / scale / ZERO_STEP - 1e-9))
        if hi / scale + zero <= 255.0 + 1e-6:
            return scale, zero
        step += 1


def quantize_activation(x: torch.Tensor) -> tuple[torch.Tensor, float, int]:
    """``x`` -> (uint8 tensor in ``x``'s memory format, scale, zero point) covering ``x``'s range and 0."""
    flat = x.permute(0, 2, 3, 1) if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) else x
    lo, hi = torch.aminmax(flat.reshape(-1))
    scale, zero = activation_grid(float(lo), float(hi))
    return _to_uint8(x, scale, zero), scale, zero


def _to_uint8(x: torch.Tensor, scale: float, zero: int) -> torch.Tensor:
    """``clamp(round(x / scale) + zero, 0, 255)`` as uint8, in ``x``'s memory format.

    PyTorch's vectorized quantizer, its quint8 storage read as uint8 (``int_repr`` copies element by element):
    ~4x faster than the same in elementwise ops (1.0 vs 4.3 ms on 2.6 M values). The quantizer is marked
    deprecated (its warning is silenced here); when it goes, the elementwise form takes over."""
    if _QUANTIZER_OK:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            q = torch.quantize_per_tensor(x, scale, zero, torch.quint8)
        try:
            return torch.empty(0, dtype=torch.uint8, device=x.device).set_(
                q.untyped_storage(), q.storage_offset(), q.size(), q.stride())
        except (RuntimeError, NotImplementedError):
            return q.int_repr()
    return torch.round(x * (1.0 / scale)).add_(zero).clamp_(0, 255).to(torch.uint8)


_QUANTIZER_OK = hasattr(torch, "quantize_per_tensor") and hasattr(torch, "quint8")


def quantize_weight(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per output channel (dim 0): (int8 weight, fp32 scales (O,)).

    ``max|w|`` as ``max(amax, -amin)`` and round/clamp in place: one full-size temporary instead of four, the
    same values (a HuBERT base's 74 linears: 75k instead of 227k minor page faults; the ~2-3 s this takes in a
    fresh process on a busy machine is mostly the first touch of the lazily read weights, about the same)."""
    flat = w.detach().reshape(w.shape[0], -1)
    scales = torch.maximum(flat.amax(dim=1), flat.amin(dim=1).neg()).clamp_min(1e-12) / 127.0
    q = (w.detach() / scales.reshape(-1, *([1] * (w.dim() - 1)))).round_().clamp_(-127, 127)
    return q.to(torch.int8), scales.float()


class Int8Conv1d(nn.Module):
    """A ``Conv1d`` (groups 1, zero padding) with int8 weights per output channel and dynamic uint8 input.

    Keeps the fp32 ``weight`` / ``bias`` and the conv's geometry as attributes (code that reads a conv's
    ``in_channels`` or ``weight.dtype`` still works). ``x (B, C, T)`` -> ``(B, O, T')`` fp32."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int, dilation: int):
        super().__init__()
        self.out_channels, self.in_channels, k = weight.shape
        self.kernel_size, self.stride, self.padding, self.dilation = (k,), (stride,), (padding,), (dilation,)
        self.groups = 1
        self.register_buffer("weight", weight.detach().float().clone())
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())
        qw, scales = quantize_weight(self.weight.unsqueeze(2))
        self.register_buffer("w_scales", scales)
        self.register_buffer("w_zero", torch.zeros(len(scales), dtype=torch.int32))
        self._geometry = ([1, stride], [0, padding], [1, dilation])
        self._packed = torch.ops.onednn.qconv_prepack(qw, scales, 1.0, 0, *self._geometry, 1, None)
        self.static: tuple[float, int] | None = None  # (scale, zero point) of calibrated input; None = dynamic
        self.observed: list[float] | None = None  # [lo, hi] of the inputs seen while observing (calibration)

    def set_input_range(self, lo: float | None, hi: float | None = None) -> None:
        """Fix the input's quantization to cover ``[lo, hi]`` (static; outside it saturates); ``None``: dynamic."""
        self.static = None if lo is None else activation_grid(float(lo), float(hi))

    def _quantize_input(self, x: torch.Tensor) -> tuple[torch.Tensor, float, int]:
        if self.observed is not None:
            lo, hi = torch.aminmax(x.reshape(-1))
            self.observed = [min(self.observed[0], float(lo)), max(self.observed[1], float(hi))]
        if self.static is None:
            return quantize_activation(x)
        return _to_uint8(x, *self.static), *self.static

    @classmethod
    def from_conv(cls, conv: nn.Conv1d) -> "Int8Conv1d":
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(f"int8 conv needs groups 1 and numeric zero padding: {conv}")
        return cls(conv.weight, conv.bias, conv.stride[0], conv.padding[0], conv.dilation[0])

    def forward_nwc(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-last ``(B, C, 1, T)`` -> ``(B, O, 1, T')`` channels-last fp32."""
        qx, scale, zero = self._quantize_input(x.float().contiguous(memory_format=torch.channels_last))
        return torch.ops.onednn.qconv_pointwise(qx, scale, zero, self._packed, self.w_scales, self.w_zero, self.bias,
                                                *self._geometry, 1, 1.0, 0, torch.float32, "none", [], None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        unbatched = x.dim() == 2
        y = self.forward_nwc((x.unsqueeze(0) if unbatched else x).unsqueeze(2)).squeeze(2).contiguous()
        return y.squeeze(0) if unbatched else y

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, int8" + (", static" if self.static else ""))


class Int8ConvTranspose1d(nn.Module):
    """A ``ConvTranspose1d`` (groups 1, dilation 1) in int8 as its polyphase form: one plain conv with
    ``stride x out_channels`` outputs (phase ``r`` holds taps ``r, r + stride, ...``, flipped), whose
    channels-last output read as ``(T * stride, out_channels)`` is the interleaved signal (a view, no copy),
    then cut to the transposed conv's length. Kernel taps are rounded up to a multiple of the stride (k 16,
    stride 10: 20 taps' work). ``x (B, C, T)`` -> ``(B, O, T_out)`` fp32."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int,
                 output_padding: int):
        super().__init__()
        self.in_channels, self.out_channels, k = weight.shape
        self.kernel_size, self.stride, self.padding = (k,), (stride,), (padding,)
        self.output_padding, self.dilation, self.groups = (output_padding,), (1,), 1
        self.register_buffer("weight", weight.detach().float().clone())
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())
        taps = -(-k // stride)
        w = torch.zeros(stride, self.out_channels, self.in_channels, taps)
        for r in range(stride):
            for j in range(taps):
                if r + j * stride < k:
                    w[r, :, :, taps - 1 - j] = self.weight[:, :, r + j * stride].t()
        b = None if bias is None else self.bias.repeat(stride)
        self.phases = Int8Conv1d(w.reshape(stride * self.out_channels, self.in_channels, taps), b, 1, taps - 1, 1)

    @classmethod
    def from_conv(cls, conv: nn.ConvTranspose1d) -> "Int8ConvTranspose1d":
        if conv.groups != 1 or conv.dilation[0] != 1 or conv.padding_mode != "zeros":
            raise ValueError(f"int8 transposed conv needs groups 1, dilation 1 and zero padding: {conv}")
        return cls(conv.weight, conv.bias, conv.stride[0], conv.padding[0], conv.output_padding[0])

    def forward_nwc(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-last ``(B, C, 1, T)`` -> ``(B, O, 1, T_out)`` channels-last fp32."""
        b, t = x.shape[0], x.shape[-1]
        u, o, p = self.stride[0], self.out_channels, self.padding[0]
        t_out = (t - 1) * u - 2 * p + self.kernel_size[0] + self.output_padding[0]
        z = self.phases.forward_nwc(x)  # (B, u*O, 1, Q) channels-last = memory (B, Q, u, O)
        q = z.shape[-1]
        y = z.permute(0, 2, 3, 1).reshape(b, 1, q * u, o)  # (B, 1, Q*u, O): a view of the same memory
        if p + t_out > q * u:  # output_padding past the phases' reach: zeros + bias, as the transposed conv
            pad = torch.zeros(b, 1, p + t_out - q * u, o) + (0 if self.bias is None else self.bias)
            y = torch.cat([y, pad], dim=2)
        return y[:, :, p:p + t_out].permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        unbatched = x.dim() == 2
        y = self.forward_nwc((x.unsqueeze(0) if unbatched else x).unsqueeze(2)).squeeze(2).contiguous()
        return y.squeeze(0) if unbatched else y


class Int8Linear(nn.Module):
    """A ``Linear`` with int8 weights per output channel and dynamic uint8 input: ``(..., in) -> (..., out)``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.register_buffer("weight", weight.detach().float().clone())
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())
        qw, scales = quantize_weight(self.weight)
        self.register_buffer("w_scales", scales)
        self.register_buffer("w_zero", torch.zeros(len(scales), dtype=torch.int32))
        self._packed = torch.ops.onednn.qlinear_prepack(qw, None)

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> "Int8Linear":
        return cls(linear.weight, linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        qx, scale, zero = quantize_activation(x.float().reshape(-1, shape[-1]).contiguous())
        y = torch.ops.onednn.qlinear_pointwise(qx, scale, zero, self._packed, self.w_scales, self.w_zero, self.bias,
                                               1.0, 0, torch.float32, "none", [], "")
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def quantize_modules(model: nn.Module, *, convs: bool = True, transposed: bool = False, linears: bool = False,
                     keep: tuple[str, ...] = (), min_channels: int = 8) -> list[str]:
    """Swap ``model``'s ``Conv1d`` (groups 1, at least ``min_channels`` input channels), with ``transposed`` its
    ``ConvTranspose1d`` and/or ``Linear`` layers for int8 ones in place, except those named in ``keep`` (and
    their children). Weight norm must already be folded. Returns the swapped names."""
    swapped = []
    for name, module in list(model.named_modules()):
        if not name or any(name == k or name.startswith(k + ".") for k in keep):
            continue
        new = None
        plain_conv = type(module) is nn.Conv1d or (isinstance(module, nn.Conv1d) and hasattr(module, "parametrizations"))
        if convs and plain_conv and module.groups == 1 and module.in_channels >= min_channels \
                and module.padding_mode == "zeros" and not isinstance(module.padding, str):
            if hasattr(module, "parametrizations") or hasattr(module, "_arvc_weight_norm") \
                    or hasattr(module, "weight_g"):
                raise ValueError(f"{name}: fold weight norm before quantizing")
            new = Int8Conv1d.from_conv(module)
        elif transposed and type(module) is nn.ConvTranspose1d and module.groups == 1 and module.dilation[0] == 1 \
                and module.in_channels >= min_channels and module.padding_mode == "zeros":
            new = Int8ConvTranspose1d.from_conv(module)
        elif linears and type(module) is nn.Linear:
            new = Int8Linear.from_linear(module)
        if new is None:
            continue
        parent, _, leaf = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, leaf, new.to(next(module.parameters()).device))
        swapped.append(name)
    return swapped

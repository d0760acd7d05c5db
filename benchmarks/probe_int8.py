"""Which int8 runtime is fastest *and* right on this CPU, for the shapes arvc's inference runs.

For the decoder's convolutions (full v2 40k HiFi-GAN: channels-last, as inference runs them) and the embedder's
linear layers (768 -> 3072 -> 768), prints the best-of-N time, GOP/s and the relative error vs fp32 of:

  fp32            torch conv2d / linear (arvc's current path)
  onednn-qconv    torch.ops.onednn.qconv_pointwise / qlinear_pointwise (the x86 quantized kernels PyTorch's
                  inductor path uses): uint8 activations (per-tensor, computed per call), int8 per-channel
                  weights, fp32 output; time includes quantizing the input
  ao-quantized    torch.ao.nn.quantized (x86 engine), quantized in/out + dequantize; the only torch int8
                  transposed conv (quantized::conv_transpose2d)
  ao-dynamic      torch.ao.nn.quantized.dynamic.Linear (int8 weights, activations quantized per call)
  torchao         torchao.quantization Int8DynamicActivationInt8WeightConfig (Linear only), when importable
                  (``--torchao_path`` adds a ``pip install --no-deps --target`` folder to sys.path)
  ort-qdq         ONNX Runtime (QDQ model from onnxruntime.quantization.quantize_static, per-channel weights)

and then the whole full-size decoder in torch fp32, arvc's int8, ORT fp32 and ORT int8 (QDQ), with the log-mel
distance / SNR of each to torch fp32 (what decides: ORT's convs are faster one by one, the decoder as a whole is
not, and QDQ's static activation ranges cost quality).

    python benchmarks/probe_int8.py [--threads 2] [--frames 100] [--torchao_path /tmp/tao/site]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")
import logging
logging.getLogger().setLevel(logging.ERROR)


CLOCK = time.perf_counter


def best(fn, n: int = 5) -> float:
    """Least time of ``n`` calls after a warm-up: wall time, or the process's CPU time with ``--cpu_time``
    (all threads; on a loaded machine this is what the work costs, not what the other jobs take)."""
    fn()
    out = []
    for _ in range(n):
        t = CLOCK()
        fn()
        out.append(CLOCK() - t)
    return min(out)


def rel(got: torch.Tensor, ref: torch.Tensor) -> float:
    got = got.float().reshape(ref.shape)
    return float((got - ref).norm() / ref.norm())


def act_scale(x: torch.Tensor) -> tuple[float, int]:
    """uint8 (scale, zero point) covering ``x``'s range (and 0). A channels-last tensor is reduced through its
    contiguous NHWC view (reducing the NCHW view is ~10x slower)."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        x = x.permute(0, 2, 3, 1)
    lo, hi = torch.aminmax(x.reshape(-1))
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max(hi - lo, 1e-8) / 255
    return scale, int(round(-lo / scale))


def to_uint8(x: torch.Tensor, scale: float, zp: int) -> torch.Tensor:
    """Plain uint8 tensor of ``x`` quantized per tensor (PyTorch's vectorized quantizer), same memory format."""
    return torch.quantize_per_tensor(x, scale, zp, torch.quint8).int_repr()


def weight_int8(w: torch.Tensor, axis: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    dims = [d for d in range(w.dim()) if d != axis]
    s = w.abs().amax(dim=dims).clamp_min(1e-12) / 127
    shape = [1] * w.dim()
    shape[axis] = -1
    return torch.round(w / s.reshape(shape)).clamp(-127, 127).to(torch.int8), s.double()


# ---------------------------------------------------------------------------------------- convs
def conv_cases(frames: int):
    """(name, conv module (1-D), input (1, C, T)) of the v2 40k decoder at ``frames`` input frames."""
    g = torch.Generator().manual_seed(0)
    cases = [("conv_pre 192>512 k7", torch.nn.Conv1d(192, 512, 7, padding=3), 192, frames),
             ("ups0 512>256 k16 s10", torch.nn.ConvTranspose1d(512, 256, 16, 10, padding=3), 512, frames),
             ("res0 256 k11 d5", torch.nn.Conv1d(256, 256, 11, dilation=5, padding=25), 256, frames * 10),
             ("ups1 256>128 k16 s10", torch.nn.ConvTranspose1d(256, 128, 16, 10, padding=3), 256, frames * 10),
             ("res1 128 k7 d3", torch.nn.Conv1d(128, 128, 7, dilation=3, padding=9), 128, frames * 100),
             ("res2 64 k7 d1", torch.nn.Conv1d(64, 64, 7, padding=3), 64, frames * 200),
             ("ups3 64>32 k4 s2", torch.nn.ConvTranspose1d(64, 32, 4, 2, padding=1), 64, frames * 200),
             ("res3 32 k11 d1", torch.nn.Conv1d(32, 32, 11, padding=5), 32, frames * 400)]
    for name, conv, c, t in cases:
        with torch.no_grad():
            conv.weight.normal_(0, 1 / (conv.weight[0].numel() ** 0.5), generator=g)
        yield name, conv.eval(), F.leaky_relu(torch.randn(1, c, t, generator=g), 0.1)


def conv_macs(conv, x) -> int:
    w = conv.weight
    if isinstance(conv, torch.nn.ConvTranspose1d):
        return x.shape[-1] * w.numel()
    t_out = (x.shape[-1] + 2 * conv.padding[0] - conv.dilation[0] * (w.shape[-1] - 1) - 1) // conv.stride[0] + 1
    return t_out * w.numel()


def fp32_conv(conv, x):
    from arvc.models.commons import conv_nwc, to_nwc

    xn = to_nwc(x)
    return lambda: conv_nwc(conv, xn)


def onednn_qconv(conv, x, dynamic: bool = False):
    """Plain convs only (oneDNN's qconv has no transposed form). Static: the input scale calibrated once."""
    if isinstance(conv, torch.nn.ConvTranspose1d):
        return None
    xs, xzp = act_scale(x)
    qw, ws = weight_int8(conv.weight.detach().unsqueeze(2))
    stride, pad, dil = [1, conv.stride[0]], [0, conv.padding[0]], [1, conv.dilation[0]]
    xn = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    packed = torch.ops.onednn.qconv_prepack(qw, ws.float(), xs, xzp, stride, pad, dil, 1, list(xn.shape))
    wzp = torch.zeros(len(ws), dtype=torch.int32)

    def run():
        s, zp = act_scale(xn) if dynamic else (xs, xzp)
        qx = to_uint8(xn, s, zp)
        return torch.ops.onednn.qconv_pointwise(qx, s, zp, packed, ws.float(), wzp, conv.bias, stride, pad, dil, 1,
                                                1.0, 0, torch.float32, "none", [], None)
    return run


def ao_quantized(conv, x):
    import torch.ao.nn.quantized as nnq

    xs, xzp = act_scale(x)
    qx = torch.quantize_per_tensor(x, xs, xzp, torch.quint8)
    ref = conv(x)
    ys, yzp = act_scale(ref)
    cls = nnq.ConvTranspose1d if isinstance(conv, torch.nn.ConvTranspose1d) else nnq.Conv1d
    kw = dict(output_padding=conv.output_padding) if cls is nnq.ConvTranspose1d else dict(dilation=conv.dilation)
    q = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, **kw)
    axis = 1 if cls is nnq.ConvTranspose1d else 0
    qw, ws = weight_int8(conv.weight.detach(), axis)
    wq = torch._make_per_channel_quantized_tensor(qw, ws, torch.zeros(len(ws), dtype=torch.long), axis)
    q.set_weight_bias(wq, conv.bias.detach())
    q.scale, q.zero_point = ys, yzp

    def run():
        return q(torch.quantize_per_tensor(x, xs, xzp, torch.quint8)).dequantize()
    return run


def ort_qdq(conv, x, tmp: str, threads: int):
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    fp = os.path.join(tmp, "m.onnx")
    torch.onnx.export(conv, (x,), fp, input_names=["x"], output_names=["y"], dynamo=False)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"x": x.numpy()}])

        def get_next(self):
            return next(self.items, None)

    qp = os.path.join(tmp, "q.onnx")
    quantize_static(fp, qp, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(qp, so, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    return lambda: torch.from_numpy(sess.run(None, feed)[0])


def probe_convs(args) -> None:
    print(f"\n{'decoder conv':<22} {'runtime':<13} {'ms':>8} {'GOP/s':>7} {'rel.err':>8}")
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        for name, conv, x in conv_cases(args.frames):
            ref = conv(x)
            ops = 2 * conv_macs(conv, x)
            runners = [("fp32", lambda: fp32_conv(conv, x)), ("onednn-qconv", lambda: onednn_qconv(conv, x)),
                       ("onednn-dyn", lambda: onednn_qconv(conv, x, True)),
                       ("ao-quantized", lambda: ao_quantized(conv, x))]
            if not args.no_ort:
                runners.append(("ort-qdq", lambda: ort_qdq(conv, x, tmp, args.threads)))
            for rname, make in runners:
                try:
                    fn = make()
                except Exception as e:  # a runtime without this op: say so, go on
                    print(f"{name:<22} {rname:<13} unavailable: {type(e).__name__}: {str(e).splitlines()[0][:70]}")
                    continue
                if fn is None:
                    print(f"{name:<22} {rname:<13} n/a (no transposed form)")
                    continue
                t = best(fn, args.repeat)
                err = rel(fn(), ref)
                print(f"{name:<22} {rname:<13} {t * 1e3:8.2f} {ops / t / 1e9:7.0f} {err:8.4f}")


# ---------------------------------------------------------------------------------------- linears
def probe_linears(args) -> None:
    import torch.ao.nn.quantized.dynamic as nnqd

    print(f"\n{'embedder linear':<22} {'runtime':<13} {'ms':>8} {'GOP/s':>7} {'rel.err':>8}")
    g = torch.Generator().manual_seed(0)
    for fi, fo in ((768, 3072), (3072, 768), (768, 768)):
        lin = torch.nn.Linear(fi, fo).eval()
        with torch.no_grad():
            lin.weight.normal_(0, fi ** -0.5, generator=g)
        x = torch.randn(1, args.tokens, fi, generator=g)
        ops = 2 * args.tokens * fi * fo
        name = f"{fi}>{fo} x{args.tokens}"
        with torch.inference_mode():
            ref = lin(x)
            runners = {"fp32": lambda: (lambda: lin(x))}
            runners["ao-dynamic"] = lambda: (lambda q=nnqd.Linear.from_float(_qconfig(lin)): q(x))
            runners["onednn-qlin"] = lambda: onednn_qlinear(lin, x)
            runners["torchao"] = lambda: torchao_linear(lin, x)
            for rname, make in runners.items():
                try:
                    fn = make()
                except Exception as e:
                    print(f"{name:<22} {rname:<13} unavailable: {type(e).__name__}: {str(e).splitlines()[0][:70]}")
                    continue
                t = best(fn, args.repeat)
                print(f"{name:<22} {rname:<13} {t * 1e3:8.2f} {ops / t / 1e9:7.0f} {rel(fn(), ref):8.4f}")


def _qconfig(lin):
    import copy

    from torch.ao.quantization import per_channel_dynamic_qconfig

    lin = copy.deepcopy(lin)
    lin.qconfig = per_channel_dynamic_qconfig
    return lin


def onednn_qlinear(lin, x):
    qw, ws = weight_int8(lin.weight.detach())
    packed = torch.ops.onednn.qlinear_prepack(qw, list(x.reshape(-1, x.shape[-1]).shape))
    wzp = torch.zeros(len(ws), dtype=torch.int32)
    x2 = x.reshape(-1, x.shape[-1])

    def run():
        s, zp = act_scale(x2)
        qx = to_uint8(x2, s, zp)
        return torch.ops.onednn.qlinear_pointwise(qx, s, zp, packed, ws.float(), wzp, lin.bias, 1.0, 0,
                                                  torch.float32, "none", [], "")
    return run


def torchao_linear(lin, x):
    import copy

    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    m = torch.nn.Sequential(copy.deepcopy(lin))
    quantize_(m, Int8DynamicActivationInt8WeightConfig())
    return lambda: m(x)


# ------------------------------------------------------------------------------- whole decoder
def probe_decoder(args) -> None:
    """The full v2 40k decoder on 1 s (NSF source outside, output stage fp32 in both int8 runs): torch fp32,
    arvc's int8 (oneDNN, :func:`arvc.inference.int8_check.quantize_decoder`), ONNX Runtime fp32 and ORT int8
    (QDQ, per-channel weights, activations calibrated on this very input), CPU time and log-mel / SNR to fp32."""
    import copy

    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from arvc.inference import int8_check as ic
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer
    from arvc.models.vocoders.hifigan_nsf import decode

    torch.manual_seed(0)
    cfg = ModelConfig.preset(version="v2", sample_rate=40000, vocoder="HiFi-GAN", use_f0=True)
    s = Synthesizer(cfg, with_posterior=False).eval().remove_weight_norm()
    dec = s.dec
    z, f0, g = (t.detach() if t is not None else t for t in ic.check_input(s, 1.0))
    with torch.no_grad():
        har = dec.source(f0).transpose(1, 2)

    class Body(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.d = dec

        def forward(self, x, h, gg):
            return decode(self.d, x, h, gg, None)

    feed = {"x": z.numpy(), "har": har.numpy(), "g": g.numpy()}
    dec8 = copy.deepcopy(dec)
    ic.quantize_decoder(dec8)
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        ref = decode(dec, z, har, g, None).numpy()
        dec.fast_inference = False  # export the plain path
        fp, qp = os.path.join(tmp, "dec.onnx"), os.path.join(tmp, "dec8.onnx")
        torch.onnx.export(Body().eval(), (z, har, g), fp, input_names=list(feed), output_names=["y"], dynamo=False)
        dec.fast_inference = True
        keep = [n.name for n in onnx.load(fp).graph.node if n.op_type == "Conv"
                and any(k in n.name for k in ("resblocks.9/", "resblocks.10/", "resblocks.11/", "conv_post", "ups.3"))]

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.items = iter([feed])

            def get_next(self):
                return next(self.items, None)

        quantize_static(fp, qp, Reader(), quant_format=QuantFormat.QDQ, per_channel=True, op_types_to_quantize=["Conv"],
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=keep)
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
        runs = {"torch fp32": lambda: decode(dec, z, har, g, None).numpy(),
                "arvc int8": lambda: decode(dec8, z, har, g, None).numpy()}
        for name, path in (("ort fp32", fp), ("ort int8 qdq", qp)):
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            runs[name] = lambda sess=sess: sess.run(None, feed)[0]
        print(f"\n{'full v2 40k decoder, 1 s':<26} {'ms':>8} {'log-mel dB':>11} {'SNR dB':>7}")
        for name, fn in runs.items():
            t = best(fn, args.repeat)
            y = fn()
            print(f"{name:<26} {t * 1e3:8.0f} {ic.log_mel_distance_db(ref, y, 40000):11.3f} {ic.snr_db(ref, y):7.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=100, help="decoder input frames (100 = 1 s at 40k)")
    ap.add_argument("--tokens", type=int, default=3000, help="embedder frames per linear call")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--torchao_path", default=None)
    ap.add_argument("--no_ort", action="store_true")
    ap.add_argument("--decoder_only", action="store_true", help="only the whole-decoder comparison")
    ap.add_argument("--cpu_time", action="store_true", help="time CPU seconds of the process, not wall seconds")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    if args.torchao_path:
        sys.path.append(args.torchao_path)
    torch.set_num_threads(args.threads)
    from arvc.precision.cpu_features import cpu_flags, cpu_model_name

    isa = [f for f in ("amx_int8", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512f", "avx2") if f in cpu_flags()]
    print(f"{cpu_model_name()}; {' '.join(isa)}; torch {torch.__version__}, {args.threads} threads; "
          f"load {os.getloadavg()[0]:.2f}; {'CPU' if args.cpu_time else 'wall'} ms, best of {args.repeat}")
    if not args.decoder_only:
        probe_convs(args)
        probe_linears(args)
    if not args.no_ort:
        probe_decoder(args)
    print(f"\nload after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    np.random.seed(0)
    main()

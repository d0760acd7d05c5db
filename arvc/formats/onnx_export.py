"""Export the inference path of an RVC model to ONNX.

Graph inputs (``B`` batch, ``T`` content frames, both dynamic):

- ``phone`` float32 ``(B, T, content_dim)``: content features already at the model's frame rate (the ×2 upsampled
  50 Hz embedder output), ``phone_lengths`` int64 ``(B,)``;
- ``pitch`` int64 ``(B, T)`` coarse 1..255 and ``pitchf`` float32 ``(B, T)`` Hz (only for pitch-guided models);
- ``sid`` int64 ``(B,)`` speaker;
- ``rnd`` float32 ``(B, inter_channels, T)``: the prior noise, already scaled: ``noise_scale * N(0, 1)``
  (RVC uses ``noise_scale = 0.66666``; zeros give the prior mean).

Output ``audio`` float32 ``(B, 1, T * hop)``. Items of a batch should share one length: the vocoder is not masked
per item in the graph (its per-stage masks do not trace with a dynamic length), so the last samples of a shorter,
zero-padded item can differ from what it gives alone; RVC clients run one item at a time. Weight norm is folded in fp32 and the vocoder's harmonic source is
exported without its random initial phase / additive noise (the fixtures' zero-noise convention), so the graph is
a deterministic function of its inputs.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from arvc.atomic import atomic_path
from arvc.constants import ONNX_OPSET as DEFAULT_OPSET
from arvc.errors import ArvcError
from arvc.formats.rvc_pth import build_synthesizer, load_synthesizer, load_weights_into

if TYPE_CHECKING:
    import torch

    from arvc.models.synthesizer import Synthesizer


def _inference_module(net: "Synthesizer"):
    import torch
    from torch import nn

    class InferenceGraph(nn.Module):
        """``forward(phone, phone_lengths, [pitch, pitchf,] sid, rnd) -> audio (B, 1, T * hop)``."""

        def __init__(self, synth: "Synthesizer") -> None:
            super().__init__()
            self.synth = synth
            self.use_f0 = synth.use_f0

        def _run(self, phone, phone_lengths, pitch, pitchf, sid, rnd):
            s = self.synth
            g = s.emb_g(sid).unsqueeze(-1)
            m_p, logs_p, x_mask = s.enc_p(phone, pitch, phone_lengths)
            z_p = (m_p + torch.exp(logs_p) * rnd) * x_mask
            z = s.flow(z_p, x_mask, g=g, reverse=True)
            return s.dec(z * x_mask, pitchf, g=g)

    class WithPitch(InferenceGraph):
        def forward(self, phone, phone_lengths, pitch, pitchf, sid, rnd):
            return self._run(phone, phone_lengths, pitch, pitchf, sid, rnd)

    class WithoutPitch(InferenceGraph):
        def forward(self, phone, phone_lengths, sid, rnd):
            return self._run(phone, phone_lengths, None, None, sid, rnd)

    return (WithPitch if net.use_f0 else WithoutPitch)(net).eval()


def prepare_for_export(net: "Synthesizer") -> "Synthesizer":
    """A fp32 copy without ``enc_q``, weight norm folded, random source parts off."""
    import torch

    state = {k: v.detach().float() for k, v in net.state_dict().items() if not k.startswith("enc_q.")}
    copy_ = build_synthesizer(net.cfg)
    load_weights_into(copy_, state, source="synthesizer")
    net = copy_.float().eval()
    with torch.no_grad():
        net.remove_weight_norm()
    for module in net.modules():
        if hasattr(module, "deterministic"):
            module.deterministic = True
    return net


def example_inputs(net: "Synthesizer", frames: int = 64, batch: int = 1, seed: int = 0) -> "dict[str, torch.Tensor]":
    """Plausible inputs for tracing / checking: ``{name: tensor}`` in graph input order."""
    import torch

    cfg = net.cfg
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(frames, dtype=torch.float32)
    f0 = (150.0 + 40.0 * torch.sin(t / 7.0)).repeat(batch, 1)
    f0[:, : frames // 8] = 0.0
    mel = 1127.0 * torch.log1p(f0 / 700.0)
    lo, hi = 1127.0 * torch.log1p(torch.tensor(50.0 / 700)), 1127.0 * torch.log1p(torch.tensor(1100.0 / 700))
    coarse = torch.where(mel > 0, (mel - lo) * 254 / (hi - lo) + 1, mel).clamp(1, 255).round().long()
    inputs = {
        "phone": torch.randn(batch, frames, cfg.content_dim, generator=g),
        "phone_lengths": torch.full((batch,), frames, dtype=torch.long),
    }
    if net.use_f0:
        inputs["pitch"] = coarse
        inputs["pitchf"] = f0
    inputs["sid"] = torch.zeros(batch, dtype=torch.long)
    inputs["rnd"] = torch.randn(batch, cfg.inter_channels, frames, generator=g) * 0.66666
    return inputs


def export_synthesizer(net: "Synthesizer", output: str | os.PathLike, opset: int = DEFAULT_OPSET,
                       example_frames: int = 64) -> Path:
    """Trace ``net``'s inference path into an ONNX file (written atomically). Returns the path."""
    import torch

    if getattr(net.cfg, "vocoder", "HiFi-GAN") == "RefineGAN":
        raise ArvcError(f"ONNX export of {output}: RefineGAN models are not supported (their resampler's lengths "
                        "are computed in Python and its Kaiser window needs aten::i0); HiFi-GAN and MRF HiFi-GAN are")
    graph = _inference_module(prepare_for_export(net))
    inputs = example_inputs(graph.synth, frames=example_frames)
    names = list(inputs)
    dynamic = {"phone": {0: "batch", 1: "frames"}, "phone_lengths": {0: "batch"}, "pitch": {0: "batch", 1: "frames"},
               "pitchf": {0: "batch", 1: "frames"}, "sid": {0: "batch"}, "rnd": {0: "batch", 2: "frames"},
               "audio": {0: "batch", 2: "samples"}}
    output = Path(output)
    with atomic_path(output) as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(graph, tuple(inputs.values()), str(tmp), input_names=names, output_names=["audio"],
                              dynamic_axes={k: v for k, v in dynamic.items() if k in names or k == "audio"},
                              opset_version=opset, dynamo=False, do_constant_folding=True)
        except Exception as e:  # noqa: BLE001 - the exporter raises many types; report one line
            raise ArvcError(f"ONNX export of {output} failed ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    return output


def run_onnx(path: str | os.PathLike, inputs: "dict[str, torch.Tensor]"):
    """Run an exported model with onnxruntime (CPU); returns the ``audio`` array."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in sess.get_inputs()}
    return sess.run(["audio"], {k: v.numpy() for k, v in inputs.items() if k in wanted})[0]


def check_export(net: "Synthesizer", path: str | os.PathLike, frames: int = 97) -> float:
    """Max abs difference between onnxruntime and torch on fresh inputs of another length than traced."""
    import numpy as np
    import torch

    graph = _inference_module(prepare_for_export(net))
    inputs = example_inputs(graph.synth, frames=frames, seed=1)
    with torch.no_grad():
        ref = graph(*inputs.values()).numpy()
    got = run_onnx(path, inputs)
    if got.shape != ref.shape:
        raise ArvcError(f"ONNX check of {path}: output shape {got.shape} differs from torch {ref.shape}")
    return float(np.max(np.abs(got - ref)))


def export_onnx(model: str | os.PathLike, output: str | os.PathLike, *, opset: int, check: bool,
                example_frames: int) -> tuple[Path, float | None]:
    """Load an RVC model file, export it to ONNX, optionally verify with onnxruntime (the settings of ``arvc
    export-onnx`` are :class:`arvc.stages.config.OnnxExportConfig`). Returns (path, max abs error or None)."""
    net, _ = load_synthesizer(model)
    out = export_synthesizer(net, output, opset=opset, example_frames=example_frames)
    err = check_export(net, out) if check else None
    return out, err

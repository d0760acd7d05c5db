"""Content embedders: 16 kHz audio -> (B, frames, dim) features at 50 frames/s.

``load_embedder(name, ...)`` is the one entry point. Names: ``contentvec`` (default), ``hubert_base``,
the language HuBERTs (``chinese-hubert-base``, ``japanese-hubert-base``, ``japanese-hubert-large``,
``korean-hubert-base``), ``spin``, ``spin-v2``, ``custom`` (a local folder / weight file given as
``path``), ``whisper-tiny.en`` (the packaged CTranslate2 Whisper encoder) or any Hugging Face id
``owner/name`` of a HuBERT model.
"""

from __future__ import annotations

from typing import Callable

from arvc.constants import CONTENT_DIMS
from arvc.device import resolve_precision
from arvc.features.embedders.base import Embedder, LayerMix, n_frames
from arvc.features.embedders.hubert import load_hubert
from arvc.features.embedders.whisper import load_whisper
from arvc.registry import Registry

EMBEDDERS: Registry[Callable[..., Embedder]] = Registry("embedder")


def _hubert_loader(name: str, **kw) -> Embedder:
    return load_hubert(name, **kw)


def _whisper_loader(name: str, **kw) -> Embedder:
    return load_whisper(name, **kw)


for _name in ("contentvec", "hubert_base", "spin", "spin-v2", "chinese-hubert-base", "japanese-hubert-base",
              "japanese-hubert-large", "korean-hubert-base", "custom"):
    EMBEDDERS.add(_name, _hubert_loader)
EMBEDDERS.add("whisper-tiny.en", _whisper_loader, "whisper", "whisper-tiny")


def embedder_names() -> list[str]:
    return EMBEDDERS.names()


def load_embedder(name: str = "contentvec", *, path=None, version: str = "v2", layer: int | None = None,
                  mix: LayerMix | tuple | str | None = None, device=None, precision: str = "fp32") -> Embedder:
    """Load an embedder once; call ``.extract(audio16k (B, N))`` -> ``(B, frames, .dim)`` float32.

    ``version`` "v2" gives the final hidden state (768 for base models), "v1" the 256-dim RVC v1
    features; ``layer`` picks one transformer layer's output; ``mix=(a, b, ratio)`` blends two layers.
    ``device`` None -> CPU; ``precision`` fp32 | fp16 (GPU) | bf16 | auto (:func:`arvc.device.auto_precision`).
    """
    import torch

    device = torch.device(device) if device is not None else torch.device("cpu")
    canonical = name if name not in EMBEDDERS and "/" in name else EMBEDDERS.resolve(name)
    if not (precision == "auto" and canonical == "whisper-tiny.en"):  # CTranslate2 decides its own auto
        precision = resolve_precision(precision, device)
    kwargs = dict(path=path, version=version, layer=layer, mix=mix, device=device, precision=precision)
    if name not in EMBEDDERS and "/" in name:
        return _hubert_loader(name, **kwargs)
    return EMBEDDERS.get(canonical)(canonical, **kwargs)


__all__ = ["EMBEDDERS", "CONTENT_DIMS", "Embedder", "LayerMix", "load_embedder", "embedder_names", "n_frames"]

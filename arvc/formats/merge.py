"""Model fusion: the weighted average of two compatible RVC models (RVC WebUI's "ckpt merge").

``merged = ratio * A + (1 - ratio) * B`` for every tensor, computed in fp32 and stored fp16. Both models must have
the same architecture: version, pitch guidance, vocoder, sample rate and every config item except ``spk_embed_dim``,
and the same tensor names and shapes. Speaker embeddings (``emb_g.weight``) may have different row counts: the merged
model keeps the first ``min(rows_A, rows_B)`` speakers, each averaged (speaker id ``i`` of the result mixes speaker
``i`` of both models), as RVC WebUI does. Content embedders must agree when both files name one.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from arvc.errors import ArvcError
from arvc.formats.rvc_pth import CONFIG_FIELD_NAMES, ModelFile, ModelMetadata, read_model, write_model

if TYPE_CHECKING:
    import torch

SPEAKER_KEY = "emb_g.weight"


def _name(m: ModelFile) -> str:
    return str(m.path) if m.path else (m.metadata.model_name or "model")


def check_compatible(a: ModelFile, b: ModelFile) -> None:
    """Raise ArvcError naming the first architectural difference between ``a`` and ``b``."""
    ma, mb = a.metadata, b.metadata
    for label, va, vb in (("version", ma.version, mb.version), ("pitch guidance (f0)", ma.f0, mb.f0),
                          ("vocoder", ma.vocoder, mb.vocoder)):
        if va != vb:
            raise ArvcError(f"cannot merge {_name(a)} and {_name(b)}: different {label} ({va} vs {vb})")
    for i, (va, vb) in enumerate(zip(a.config_list, b.config_list)):
        if CONFIG_FIELD_NAMES[i] == "spk_embed_dim":
            continue
        if va != vb:
            raise ArvcError(f"cannot merge {_name(a)} and {_name(b)}: different {CONFIG_FIELD_NAMES[i]} ({va} vs {vb})")
    if ma.embedder_model and mb.embedder_model and ma.embedder_model != mb.embedder_model:
        raise ArvcError(f"cannot merge {_name(a)} and {_name(b)}: trained on different content embedders "
                        f"({ma.embedder_model} vs {mb.embedder_model})")
    ka, kb = set(a.weights), set(b.weights)
    if ka != kb:
        extra = sorted(ka ^ kb)[0]
        raise ArvcError(f"cannot merge {_name(a)} and {_name(b)}: tensor {extra} exists in only one of them")
    for k, ta in a.weights.items():
        tb = b.weights[k]
        if k == SPEAKER_KEY:
            if ta.shape[1:] != tb.shape[1:]:
                raise ArvcError(f"cannot merge: {k} widths differ ({tuple(ta.shape)} vs {tuple(tb.shape)})")
        elif ta.shape != tb.shape:
            raise ArvcError(f"cannot merge {_name(a)} and {_name(b)}: {k} has shape {tuple(ta.shape)} vs {tuple(tb.shape)}")


def merge_weights(a: ModelFile, b: ModelFile, ratio: float) -> "OrderedDict[str, torch.Tensor]":
    """``ratio * a + (1 - ratio) * b`` in fp32 for every tensor (in ``a``'s order); see the module rule for emb_g."""
    if not 0.0 <= ratio <= 1.0:
        raise ArvcError(f"--ratio must be between 0 and 1, got {ratio}")
    check_compatible(a, b)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, ta in a.weights.items():
        tb = b.weights[k]
        if k == SPEAKER_KEY and ta.shape[0] != tb.shape[0]:
            n = min(ta.shape[0], tb.shape[0])
            ta, tb = ta[:n], tb[:n]
        if ta.is_floating_point():
            out[k] = ta.float() * ratio + tb.float() * (1.0 - ratio)
        else:
            out[k] = ta.clone()
    return out


def merge_models(model_a: str | os.PathLike, model_b: str | os.PathLike, output: str | os.PathLike, ratio: float,
                 model_name: str | None = None, author: str | None = None) -> Path:
    """Read both models, write ``ratio * A + (1 - ratio) * B`` to ``output`` (an RVC .pth any client loads; the
    settings of ``arvc model-merge`` are :class:`arvc.stages.config.MergeConfig`). Returns its path."""
    a = read_model(model_a)
    b = read_model(model_b)
    weights = merge_weights(a, b, float(ratio))
    config_list = list(a.config_list)
    config_list[15] = int(weights[SPEAKER_KEY].shape[0]) if SPEAKER_KEY in weights else config_list[15]
    name_a = a.metadata.model_name or Path(model_a).stem
    name_b = b.metadata.model_name or Path(model_b).stem
    metadata = ModelMetadata(
        sr=a.metadata.sr,
        f0=a.metadata.f0,
        version=a.metadata.version,
        vocoder=a.metadata.vocoder,
        embedder_model=a.metadata.embedder_model or b.metadata.embedder_model,
        model_name=model_name or Path(output).stem,
        author=author,
        speakers_id=int(config_list[15]),
        info=f"merge: {ratio:g} x {name_a} + {1 - ratio:g} x {name_b}",
    )
    return write_model(output, weights, config_list, metadata)

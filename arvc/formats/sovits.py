"""so-vits-svc 4.0 / 4.1 voices: a ``G_<step>.pth`` training checkpoint plus its ``config.json``.

The checkpoint is a torch-saved dict ``{"model": state_dict, "optimizer": ..., "learning_rate": ..., "iteration":
...}``; only ``model`` is used. It is read with the safe loader (``weights_only``: a pickle that would import or
run code is refused before anything of it runs), every tensor must be finite, and the config is validated before
a module is built. Optional companions in a voice folder: a k-means cluster model (``kmeans*.pt``, torch-saved
``{speaker: {"cluster_centers_": array (K, D), ...}}``) and a FAISS feature index (``*.index``).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from arvc.errors import ArvcError
from arvc.formats.finite import check_finite
from arvc.formats.naming import to_legacy_names
from arvc.formats.safe_load import safe_torch_load
from arvc.models.sovits_config import SovitsConfig

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
FEATURE_INDEX_NAME = "feature_and_index.pkl"
_G_FILE = re.compile(r"^G_(\d+)\.pth$")


@dataclass
class SovitsModelFile:
    """A loaded so-vits generator: ``weights`` (inference tensors, legacy weight-norm names), config, files."""

    weights: "OrderedDict[str, Any]"
    config: SovitsConfig
    path: Path
    config_path: Path
    step: int | None = None
    cluster_path: Path | None = None
    index_path: Path | None = None
    ignored: list[str] = field(default_factory=list)

    @property
    def n_params(self) -> int:
        return sum(int(t.numel()) for t in self.weights.values())

    def describe(self) -> str:
        c = self.config
        names = ", ".join(c.speaker_names()[:8]) or "-"
        return (f"so-vits-svc {c.version}: {c.sample_rate} Hz, hop {c.hop_length}, encoder {c.speech_encoder}, "
                f"{c.n_speakers} speaker row(s) ({names})")


@dataclass
class SovitsVoice:
    """The files of a so-vits voice: generator, config, optional cluster model and feature index."""

    generator: Path
    config: Path
    cluster: Path | None = None
    index: Path | None = None


def is_sovits_checkpoint(raw: Any) -> bool:
    """A so-vits ``G_*.pth`` dict: ``model`` holds ``pre.weight`` and ``enc_p.f0_emb.weight``."""
    model = raw.get("model") if isinstance(raw, Mapping) else None
    return isinstance(model, Mapping) and "pre.weight" in model and "enc_p.f0_emb.weight" in model


def find_voice_files(folder: str | os.PathLike, config: str | os.PathLike | None = None) -> SovitsVoice:
    """The generator (``G_<step>.pth`` with the highest step, else the only ``*.pth`` that is not a D_/kmeans file),
    ``config.json`` (or ``config``), ``kmeans*.pt`` and ``*.index`` of a voice folder."""
    folder = Path(folder)
    gens = sorted((int(m.group(1)), p) for p in folder.glob("G_*.pth") if (m := _G_FILE.match(p.name)))
    if gens:
        generator = gens[-1][1]
    else:
        others = [p for p in folder.glob("*.pth") if not p.name.startswith(("D_", "kmeans"))]
        if len(others) != 1:
            raise ArvcError(f"{folder}: expected one so-vits generator (G_<step>.pth), found {len(others)} .pth file(s)")
        generator = others[0]
    cfg = Path(config) if config else folder / CONFIG_NAME
    if not cfg.is_file():
        raise ArvcError(f"{folder}: no {CONFIG_NAME} beside {generator.name} (pass --config)")
    return SovitsVoice(generator, cfg, *companions(folder))


def companions(folder: Path) -> tuple[Path | None, Path | None]:
    """``(kmeans*.pt, the feature index)`` beside a generator: the first k-means file, the only ``*.index``
    (else 4.1's ``feature_and_index.pkl``); None where there is none."""
    clusters = sorted(folder.glob("kmeans*.pt"))
    indexes = sorted(folder.glob("*.index")) or sorted(folder.glob(FEATURE_INDEX_NAME))
    return clusters[0] if clusters else None, indexes[0] if len(indexes) == 1 else None


def weights_of(raw: Any, path: Path) -> tuple["OrderedDict[str, Any]", list[str]]:
    """The inference tensors of a loaded checkpoint dict (``model``, minus ``enc_q``/``f0_decoder``)."""
    import torch

    if not is_sovits_checkpoint(raw):
        keys = ", ".join(list(map(str, raw.keys()))[:6]) if isinstance(raw, Mapping) else type(raw).__name__
        raise ArvcError(f"{path} is not a so-vits-svc generator (no model/pre.weight/enc_p.f0_emb; found: {keys})")
    model = raw["model"]
    bad = [k for k, v in model.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ArvcError(f"{path}: model entry {bad[0]!r} is not a tensor")
    ignored = sorted({k.split(".")[0] for k in model if k.startswith(("enc_q.", "f0_decoder."))})
    weights = OrderedDict((k, v) for k, v in to_legacy_names(model).items()
                          if not k.startswith(("enc_q.", "f0_decoder.")))
    check_finite(weights, path)
    return weights, ignored


def read_sovits(path: str | os.PathLike, config: str | os.PathLike | None = None) -> SovitsModelFile:
    """Read a so-vits voice: a folder, or a ``G_*.pth`` with ``config`` (default: ``config.json`` beside it; a
    k-means model and feature index beside the file are its companions, as in a folder).

    The config is read and validated first, then the checkpoint (safe loader); the ``model`` tensors must match
    what the config describes (checked when they are loaded into :class:`~arvc.models.sovits.SovitsSynthesizer`).
    """
    path = Path(path)
    if path.is_dir():
        files = find_voice_files(path, config)
    else:
        cfg = Path(config) if config else path.parent / CONFIG_NAME
        if not cfg.is_file():
            raise ArvcError(f"{path}: a so-vits generator needs its config.json (none at {cfg}; pass --config)")
        files = SovitsVoice(path, cfg, *companions(path.parent))
    cfg = SovitsConfig.read(files.config)
    raw = safe_torch_load(files.generator, what="so-vits model")
    weights, ignored = weights_of(raw, files.generator)
    _check_shapes(weights, cfg, files)
    step = raw.get("iteration") if isinstance(raw.get("iteration"), int) else None
    return SovitsModelFile(weights, cfg, files.generator, files.config, step, files.cluster, files.index, ignored)


def _check_shapes(weights: Mapping[str, Any], cfg: SovitsConfig, files: SovitsVoice) -> None:
    pre = weights.get("pre.weight")
    emb = weights.get("emb_g.weight")
    if pre is None or tuple(pre.shape[:2]) != (cfg.hidden_channels, cfg.ssl_dim):
        raise ArvcError(f"{files.generator}: pre.weight is {tuple(pre.shape) if pre is not None else 'missing'}, "
                        f"but {files.config} says hidden {cfg.hidden_channels} x ssl_dim {cfg.ssl_dim}")
    if emb is None or tuple(emb.shape) != (cfg.n_speakers, cfg.gin_channels):
        raise ArvcError(f"{files.generator}: emb_g.weight is {tuple(emb.shape) if emb is not None else 'missing'}, "
                        f"but {files.config} says {cfg.n_speakers} speakers x gin {cfg.gin_channels}")
    if cfg.vol_embedding != ("emb_vol.weight" in weights):
        raise ArvcError(f"{files.generator}: vol_embedding is {cfg.vol_embedding} in {files.config} but the weights "
                        f"{'lack' if cfg.vol_embedding else 'have'} emb_vol")


def load_sovits_synthesizer(path: str | os.PathLike, config: str | os.PathLike | None = None, device: Any = "cpu"):
    """``(SovitsSynthesizer (fp32, eval), SovitsModelFile)``; weights strictly loaded (mismatches named)."""
    from arvc.formats.rvc_pth import load_weights_into
    from arvc.models.sovits import SovitsSynthesizer

    model = read_sovits(path, config)
    net = SovitsSynthesizer(model.config)
    load_weights_into(net, model.weights, source=str(model.path))
    return net.float().eval().to(device), model


# ------------------------------------------------------------------------------------------------ cluster model


def read_cluster_model(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """so-vits' k-means file: ``{speaker name: centres float32 (K, D)}``.

    Torch-saved dicts of numpy arrays: read with ``weights_only`` plus numpy's plain-array reconstruction allowed
    (nothing else); centres must be finite 2-D float arrays.
    """
    path = Path(path)
    raw = safe_torch_load(path, what="cluster model", allow_numpy=True)
    if not isinstance(raw, Mapping) or not raw:
        raise ArvcError(f"cluster model {path}: expected {{speaker: {{cluster_centers_: ...}}}}, got {type(raw).__name__}")
    out: dict[str, np.ndarray] = {}
    for spk, entry in raw.items():
        centres = entry.get("cluster_centers_") if isinstance(entry, Mapping) else None
        arr = np.asarray(centres.numpy() if hasattr(centres, "numpy") else centres) if centres is not None else None
        if arr is None or arr.ndim != 2 or arr.dtype.kind != "f" or not arr.size or not np.isfinite(arr).all():
            raise ArvcError(f"cluster model {path}: speaker {spk!r} has no finite 2-D cluster_centers_")
        out[str(spk)] = np.ascontiguousarray(arr, dtype=np.float32)
    return out


# ------------------------------------------------------------------------------------------ 4.1 feature index


class _SerializedIndex:
    """Stand-in for a pickled FAISS index: keeps the serialized bytes its ``__setstate__`` receives."""

    def __setstate__(self, state: Any) -> None:
        blob = state.get("this") if isinstance(state, dict) else None
        if not isinstance(blob, (bytes, bytearray)):
            raise pickle.UnpicklingError("a FAISS index entry without its serialized bytes")
        self.blob = bytes(blob)


class _FeatureIndexUnpickler(pickle.Unpickler):
    """Admits only FAISS index classes (replaced by :class:`_SerializedIndex`, so no faiss code runs while
    unpickling); every other global is refused."""

    def find_class(self, module: str, name: str):
        if (module == "faiss" or module.startswith("faiss.swigfaiss")) and name.startswith("Index") and name.isidentifier():
            return _SerializedIndex
        raise pickle.UnpicklingError(f"Unsupported global {module}.{name}")


def read_feature_index(path: str | os.PathLike) -> dict[int, Any]:
    """so-vits-svc 4.1's ``feature_and_index.pkl`` (a plain pickle of ``{speaker id: faiss index}``) ->
    ``{speaker id: faiss index}``, read without running any code from the file: only FAISS index records are
    admitted and each is rebuilt with ``faiss.deserialize_index`` from its bytes."""
    import faiss

    path = Path(path)
    if not path.is_file():
        raise ArvcError(f"feature index not found: {path}")
    try:
        with open(path, "rb") as f:
            raw = _FeatureIndexUnpickler(f).load()
    except pickle.UnpicklingError as e:
        raise ArvcError(f"refused to load feature index {path}: {str(e)[:160]}; only FAISS indexes are accepted") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as e:
        raise ArvcError(f"feature index {path} is corrupt ({type(e).__name__})") from None
    if not isinstance(raw, dict) or not raw or not all(isinstance(v, _SerializedIndex) for v in raw.values()):
        raise ArvcError(f"feature index {path}: expected {{speaker id: FAISS index}}")
    out: dict[int, Any] = {}
    for sid, entry in raw.items():
        try:
            out[int(sid)] = faiss.deserialize_index(np.frombuffer(entry.blob, dtype=np.uint8))
        except (RuntimeError, TypeError, ValueError) as e:
            raise ArvcError(f"feature index {path}: speaker {sid!r}: not a FAISS index ({str(e).splitlines()[0][:100]})") from None
    return out

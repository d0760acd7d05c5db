"""The community RVC inference model file (``<name>.pth``), read and written in one place.

A model file is a torch-saved dict:

- ``weight``: the generator state dict without ``enc_q.*`` (the posterior encoder is only used in training), every
  tensor fp16, weight norm stored as ``<module>.weight_g`` / ``<module>.weight_v``;
- ``config``: the 18-item list (spec_channels, 32, inter, hidden, filter, heads, layers, kernel, p_dropout, "1",
  resblock kernels, dilations, upsample rates, upsample_initial_channel, upsample kernels, spk_embed_dim,
  gin_channels, sample rate);
- metadata. Applio writes (in this order) ``epoch, step, sr (int), f0 (bool), version, creation_date, model_hash,
  dataset_length, model_name, author, embedder_model, speakers_id, vocoder``; mainline RVC writes ``info
  ('<n>epoch'), sr ('40k'), f0 (int), version``. Both are read; Applio's layout is written.

``model_hash`` is computed as Applio's ``extract_model`` does: sha256 of the text
``f"{model_name}-{epoch}-{step}-{sr}-{version}-{config_list}"`` (it identifies a training run, not the tensors);
:func:`weights_sha256` hashes the tensors themselves.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import math
import os
import re
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from arvc.atomic import atomic_path
from arvc.constants import (
    SAMPLE_RATES,
    VOCODER_NAMES,
    find_vocoder,
    format_duration,
    parse_sample_rate,
    version_of_content_dim,
)
from arvc.errors import ArvcError
from arvc.formats.finite import check_finite
from arvc.formats.naming import to_legacy_names
from arvc.formats.safe_load import safe_torch_load
from arvc.formats.state_fit import assign_state, fit_shapes, fit_state
from arvc.models.config import MAX_PARAMS, ModelConfig, check_hop
from arvc.models.synthesizer import Synthesizer

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

CONFIG_LENGTH = 18
CONFIG_FIELD_NAMES = (
    "spec_channels", "segment_size", "inter_channels", "hidden_channels", "filter_channels", "n_heads", "n_layers",
    "kernel_size", "p_dropout", "resblock", "resblock_kernel_sizes", "resblock_dilation_sizes", "upsample_rates",
    "upsample_initial_channel", "upsample_kernel_sizes", "spk_embed_dim", "gin_channels", "sample_rate",
)
SAFETENSORS_SUFFIX = ".safetensors"


@dataclass
class ModelMetadata:
    """Everything an inference file says besides weights and config (``None`` = not stored)."""

    sr: int | None = None
    f0: bool | None = None
    version: str | None = None
    vocoder: str | None = None
    embedder_model: str | None = None
    epoch: int | None = None
    step: int | None = None
    dataset_length: str | None = None
    overtrain_info: str | None = None
    model_name: str | None = None
    author: str | None = None
    creation_date: str | None = None
    model_hash: str | None = None
    speakers_id: int | None = None
    info: str | None = None
    pretrain: str | None = None  # the pretrain training started from (arvc; absent in other clients' files)
    f0_median: float | None = None  # arvc: median F0 (Hz) of the training voice, for ``--pitch auto``

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ModelFile:
    """A loaded inference model: ``weights`` (legacy names, dtype as stored, no ``enc_q``), config, metadata."""

    weights: "OrderedDict[str, torch.Tensor]"
    config: "ModelConfig"
    metadata: ModelMetadata
    config_list: list = field(default_factory=list)
    path: Path | None = None

    @property
    def n_params(self) -> int:
        return sum(int(t.numel()) for t in self.weights.values())

    @property
    def n_speakers(self) -> int:
        emb = self.weights.get("emb_g.weight")
        return int(emb.shape[0]) if emb is not None else int(self.config_list[-3])


# ---------------------------------------------------------------------------------------------------------------- hashes


def applio_model_hash(model_name: str | None, epoch: Any, step: Any, sr: Any, version: Any, config_list: list) -> str:
    """Applio's ``model_hash``: sha256 of ``"{name}-{epoch}-{step}-{sr}-{version}-{config}"`` (Python reprs)."""
    text = f"{model_name}-{epoch}-{step}-{sr}-{version}-{config_list}"
    return hashlib.sha256(text.encode()).hexdigest()


def weights_sha256(weights: Mapping[str, "torch.Tensor"]) -> str:
    """sha256 over the tensors in file order: for each, ``name|dtype|shape`` then its contiguous bytes."""
    import torch

    h = hashlib.sha256()
    for name, t in weights.items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{str(t.dtype).removeprefix('torch.')}|{tuple(t.shape)}\n".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------------ field parsing


def _as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_positive_float(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _as_str(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def detect_version(weights: Mapping[str, "torch.Tensor"]) -> str | None:
    """v1 feeds 256-dim content features to ``enc_p.emb_phone``, v2 768."""
    emb = weights.get("enc_p.emb_phone.weight")
    if emb is None or emb.ndim != 2:
        return None
    return version_of_content_dim(emb.shape[1])


def detect_vocoder(weights: Mapping[str, Any]) -> str:
    """The decoder family from its key names (MRF: ``dec.mrfs``; RefineGAN: ``dec.downsample_blocks``)."""
    if any(k.startswith("dec.mrfs.") for k in weights):
        return "MRF HiFi-GAN"
    if any(k.startswith(("dec.downsample_blocks.", "dec.pre_conv.")) for k in weights):
        return "RefineGAN"
    return "HiFi-GAN"


# ---------------------------------------------------------------------------------------------------------- reading


def _check_config_list(config: Any, path: Path) -> list:
    if not isinstance(config, (list, tuple)) or len(config) != CONFIG_LENGTH:
        n = len(config) if isinstance(config, (list, tuple)) else type(config).__name__
        raise ArvcError(f"model {path}: 'config' must be the {CONFIG_LENGTH}-item RVC list, got {n}")
    return list(config)


def _checked_weights(raw: Any, path: Path) -> OrderedDict:
    """The synthesizer tensors of ``raw["weight"]`` (legacy names, no ``enc_q``); ArvcError for anything else."""
    import torch

    if not isinstance(raw, Mapping):
        raise ArvcError(f"{path} is not an RVC model: expected a dict, found {type(raw).__name__}")
    if "weight" not in raw or "config" not in raw:
        if "model" in raw and isinstance(raw["model"], Mapping):
            raise ArvcError(
                f"{path} is a training checkpoint (G_*/D_*.pth: model/optimizer), not an inference model; "
                "use it with train --pretrained_g/--pretrained_d, or take the <name>_<E>e_<S>s.pth model file"
            )
        keys = ", ".join(list(map(str, raw.keys()))[:6])
        raise ArvcError(f"{path} is not an RVC model: no 'weight'/'config' entries (found: {keys or 'nothing'})")
    weights_in = raw["weight"]
    if not isinstance(weights_in, Mapping) or not weights_in:
        raise ArvcError(f"model {path}: 'weight' must be a non-empty dict of tensors")
    bad = [k for k, v in weights_in.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ArvcError(f"model {path}: 'weight' entry {bad[0]!r} is not a tensor")
    weights = OrderedDict((k, v) for k, v in to_legacy_names(weights_in).items() if "enc_q" not in k)
    check_finite(weights, path)
    if "enc_p.emb_phone.weight" not in weights or not any(k.startswith("dec.") for k in weights):
        raise ArvcError(f"model {path}: weights lack enc_p.emb_phone / dec.* tensors, not an RVC synthesizer")
    return weights


def _version(raw: Mapping, weights: Mapping, path: Path) -> str:
    """The stored version; a file whose content layer (``enc_p.emb_phone.weight``) is another version's width is
    refused (it would be fed the wrong embedder's features)."""
    detected = detect_version(weights)
    stored = _as_str(raw.get("version"))
    if stored is not None and stored not in ("v1", "v2"):
        raise ArvcError(f"model {path}: unknown version {stored[:20]!r} (expected v1 or v2)")
    if detected is None:
        emb = weights["enc_p.emb_phone.weight"]
        raise ArvcError(f"model {path}: enc_p.emb_phone.weight has shape {tuple(emb.shape)}; expected "
                        "(hidden, 256) for v1 or (hidden, 768) for v2")
    if stored and stored != detected:
        raise ArvcError(f"model {path}: labelled {stored} but enc_p.emb_phone.weight {tuple(weights['enc_p.emb_phone.weight'].shape)} "
                        f"is {detected}-sized; the file is inconsistent")
    return detected


def _vocoder(raw: Mapping, weights: Mapping, path: Path) -> str:
    """The stored vocoder name (any alias), unless the decoder's key names say otherwise."""
    detected = detect_vocoder(weights)
    vocoder = find_vocoder(raw.get("vocoder")) or _as_str(raw.get("vocoder")) or detected
    if vocoder not in VOCODER_NAMES:
        raise ArvcError(f"model {path}: unknown vocoder {vocoder!r} (known: {', '.join(VOCODER_NAMES)})")
    if vocoder != detected:
        log.warning("%s says vocoder %s but its decoder weights are %s; using %s", path, vocoder, detected, detected)
    return detected


def _metadata(raw: Mapping, sr: int, f0: bool, version: str, vocoder: str) -> ModelMetadata:
    info = _as_str(raw.get("info"))
    epoch = _as_int(raw.get("epoch"))
    if epoch is None and info:
        m = re.search(r"(\d+)\s*epoch", info)
        epoch = int(m.group(1)) if m else None
    dataset_length = raw.get("dataset_length")
    if isinstance(dataset_length, (int, float)) and not isinstance(dataset_length, bool):
        dataset_length = format_duration(float(dataset_length))
    return ModelMetadata(
        sr=sr,
        f0=f0,
        version=version,
        vocoder=vocoder,
        embedder_model=_as_str(raw.get("embedder_model")),
        epoch=epoch,
        step=_as_int(raw.get("step")),
        dataset_length=_as_str(dataset_length),
        overtrain_info=_as_str(raw.get("overtrain_info")),
        model_name=_as_str(raw.get("model_name")),
        author=_as_str(raw.get("author")),
        creation_date=_as_str(raw.get("creation_date")),
        model_hash=_as_str(raw.get("model_hash")),
        speakers_id=_as_int(raw.get("speakers_id")),
        info=info,
        pretrain=_as_str(raw.get("pretrain")),
        f0_median=_as_positive_float(raw.get("f0_median")),
    )


def model_from_dict(raw: Any, path: str | os.PathLike = "<memory>") -> ModelFile:
    """Interpret a loaded inference-file dict (Applio, mainline, arvc) as a :class:`ModelFile`."""
    path = Path(path)
    weights = _checked_weights(raw, path)
    config_list = _check_config_list(raw["config"], path)
    if "emb_g.weight" in weights:
        config_list[-3] = int(weights["emb_g.weight"].shape[0])  # as Applio's loader: rows stored win
    version = _version(raw, weights, path)
    has_pitch = "enc_p.emb_pitch.weight" in weights
    f0 = _as_bool(raw.get("f0"))
    if f0 is None or f0 != has_pitch:
        f0 = has_pitch
    vocoder = _vocoder(raw, weights, path)
    sr = parse_sample_rate(raw.get("sr")) or parse_sample_rate(config_list[-1])
    if sr not in SAMPLE_RATES or parse_sample_rate(config_list[-1]) not in (sr, None):
        raise ArvcError(f"model {path}: no usable sample rate (sr={str(raw.get('sr'))[:20]!r}, "
                        f"config[-1]={str(config_list[-1])[:20]!r}; expected one of {', '.join(map(str, SAMPLE_RATES))})")
    metadata = _metadata(raw, sr, f0, version, vocoder)
    try:
        config = ModelConfig.from_list(config_list, version=version, use_f0=f0, vocoder=vocoder)
        check_hop(config)
    except ArvcError as e:
        raise ArvcError(f"model {path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - any malformed list becomes one line naming the file
        raise ArvcError(f"model {path}: invalid config list ({type(e).__name__}: {e})") from None
    return ModelFile(weights=weights, config=config, metadata=metadata, config_list=config_list,
                     path=path if str(path) != "<memory>" else None)


def read_model(path: str | os.PathLike) -> ModelFile:
    """Read an RVC inference model (``.pth`` of Applio / mainline / arvc, or arvc's ``.safetensors``)."""
    path = Path(path)
    if path.suffix.lower() == SAFETENSORS_SUFFIX:
        from arvc.formats.safetensors_io import read_model_safetensors

        raw = read_model_safetensors(path)
    else:
        raw = safe_torch_load(path, what="model")
    return model_from_dict(raw, path)


def load_synthesizer(path: str | os.PathLike, device: Any = "cpu") -> "tuple[Synthesizer, ModelFile]":
    """Build the synthesizer a model file describes and load its weights (fp16 -> fp32, eval, no ``enc_q``)."""
    model = read_model(path)
    check_weights_fit(model.config, model.weights, str(path))
    net = build_synthesizer(model.config)
    load_weights_into(net, model.weights, source=str(path))
    net = net.float().eval().to(device)
    return net, model


def check_weights_fit(config: "ModelConfig", weights: Mapping[str, "torch.Tensor"], source: str) -> int:
    """Before allocating: the architecture ``config`` describes, built on the ``meta`` device (no memory), must
    hold at most :data:`MAX_PARAMS` parameters and have exactly the file's tensor names and shapes. Returns the
    parameter count; ArvcError naming the first differing tensor."""
    import torch

    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in build_synthesizer(config).state_dict().items()}
    n = sum(math.prod(s) for s in shapes.values())
    if n > MAX_PARAMS:
        raise ArvcError(f"{source}: its config describes {n:,} parameters, more than the limit of {MAX_PARAMS:,}")
    fit = fit_shapes(weights, shapes)
    if not fit.ok:
        raise ArvcError(f"{source}: weights do not fit the architecture its config describes: "
                        f"{fit.summary(' from the config')}")
    return n


def build_synthesizer(config: "ModelConfig") -> "Synthesizer":
    """An inference synthesizer (no posterior encoder ``enc_q``) for ``config``."""
    try:
        net = Synthesizer(config, with_posterior=False)
    except TypeError:
        net = Synthesizer(config)
    if hasattr(net, "enc_q"):
        del net.enc_q
    return net


def load_weights_into(net: "torch.nn.Module", weights: Mapping[str, "torch.Tensor"], source: str = "model") -> None:
    """Strictly load file weights (either naming) into ``net``; names the first mismatches on failure."""
    fit = fit_state(net, weights)
    if not fit.ok:
        raise ArvcError(f"{source}: weights do not fit the architecture its config describes: {fit.summary()}")
    assign_state(net, fit.state)


# ---------------------------------------------------------------------------------------------------------- writing


def inference_weights(source: "torch.nn.Module | Mapping[str, torch.Tensor]") -> "dict[str, torch.Tensor]":
    """The ``weight`` entry (a plain dict, as Applio writes): state dict without ``enc_q``, legacy weight-norm
    names, fp16, compact CPU copies."""
    import torch

    state = source.state_dict() if isinstance(source, torch.nn.Module) else source
    out: dict[str, torch.Tensor] = {}
    for k, v in to_legacy_names(state).items():
        if "enc_q" in k:
            continue
        t = v.detach().to("cpu")
        t = t.half() if t.is_floating_point() else t
        compact = t.is_contiguous() and t.storage_offset() == 0 and t.untyped_storage().nbytes() == t.numel() * t.element_size()
        out[k] = t if compact and t is not v else t.clone(memory_format=torch.contiguous_format)
    return out


def _config_list_of(config: "ModelConfig | list") -> list:
    if isinstance(config, (list, tuple)):
        return list(config)
    return list(config.to_list())


def build_model_dict(
    weights: "Mapping[str, torch.Tensor]",
    config: "ModelConfig | list",
    metadata: ModelMetadata | None = None,
) -> "OrderedDict[str, Any]":
    """The object :func:`write_model` saves, keys in Applio's order (``overtrain_info``/``info`` only when set)."""
    md = metadata or ModelMetadata()
    config_list = _config_list_of(config)
    if len(config_list) != CONFIG_LENGTH:
        raise ArvcError(f"config must have {CONFIG_LENGTH} items, got {len(config_list)}")
    if "emb_g.weight" in weights:
        config_list[-3] = int(weights["emb_g.weight"].shape[0])
    cfg_version = getattr(config, "version", None)
    cfg_f0 = getattr(config, "use_f0", None)
    cfg_vocoder = getattr(config, "vocoder", None)
    version = md.version or cfg_version or detect_version(weights) or "v2"
    f0 = md.f0 if md.f0 is not None else (cfg_f0 if cfg_f0 is not None else "enc_p.emb_pitch.weight" in weights)
    vocoder = (find_vocoder(md.vocoder or cfg_vocoder) or _as_str(md.vocoder or cfg_vocoder)
               or detect_vocoder(weights))
    sr = int(md.sr or config_list[-1])
    epoch = int(md.epoch or 0)
    step = int(md.step or 0)
    name = md.model_name
    opt: OrderedDict[str, Any] = OrderedDict()
    opt["weight"] = weights
    opt["config"] = config_list
    opt["epoch"] = epoch
    opt["step"] = step
    opt["sr"] = sr
    opt["f0"] = bool(f0)
    opt["version"] = version
    opt["creation_date"] = md.creation_date or datetime.datetime.now().isoformat()
    opt["model_hash"] = md.model_hash or applio_model_hash(name, epoch, step, sr, version, config_list)
    if md.overtrain_info is not None:
        opt["overtrain_info"] = md.overtrain_info
    dataset_length = md.dataset_length
    if isinstance(dataset_length, (int, float)) and not isinstance(dataset_length, bool):
        dataset_length = format_duration(float(dataset_length))
    opt["dataset_length"] = dataset_length
    opt["model_name"] = name
    opt["author"] = md.author
    opt["embedder_model"] = md.embedder_model
    opt["speakers_id"] = int(md.speakers_id) if md.speakers_id is not None else 1
    opt["vocoder"] = vocoder
    if md.info is not None:
        opt["info"] = md.info
    if md.pretrain is not None:
        opt["pretrain"] = md.pretrain
    if md.f0_median:
        opt["f0_median"] = float(md.f0_median)
    return opt


def write_model(
    path: str | os.PathLike,
    synthesizer_or_state_dict: "torch.nn.Module | Mapping[str, torch.Tensor]",
    config: "ModelConfig | list",
    metadata: ModelMetadata | None = None,
) -> Path:
    """Write an RVC inference model atomically (``.pth``; ``.safetensors`` when the path says so).

    ``metadata.model_name`` defaults to the file stem; ``model_hash`` and ``creation_date`` are filled in when unset.
    Returns the path written.
    """
    import torch

    path = Path(path)
    md = ModelMetadata(**{f.name: getattr(metadata, f.name) for f in fields(ModelMetadata)}) if metadata else ModelMetadata()
    if md.model_name is None:
        md.model_name = path.stem
    opt = build_model_dict(inference_weights(synthesizer_or_state_dict), config, md)
    if path.suffix.lower() == SAFETENSORS_SUFFIX:
        from arvc.formats.safetensors_io import write_model_safetensors

        write_model_safetensors(path, opt)
    else:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            torch.save(opt, f)  # a file object: the zip's inner folder is "archive", not the temp name
    return path

"""so-vits-svc 4.0 / 4.1 generator hyper-parameters, read from the ``config.json`` that comes with ``G_*.pth``.

The file has ``data`` (sampling_rate, hop_length, unit_interpolate_mode), ``model`` (the generator's sizes and
4.1's switches) and ``spk`` (speaker name -> embedding row). Every value is checked against a sane range before
any tensor is built, so a hostile or broken config cannot ask for a 10^12-element layer.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from arvc.constants import CONTENT_DIMS
from arvc.errors import ArvcError

# speech_encoder -> (arvc embedder version, feature width): v2 = ContentVec's last layer (12), v1 = layer 9 + final_proj
SPEECH_ENCODERS = {"vec768l12": ("v2", CONTENT_DIMS["v2"]), "vec256l9": ("v1", CONTENT_DIMS["v1"])}
UNSUPPORTED_ENCODERS = ("vec256l9-onnx", "vec256l12-onnx", "vec768l9-onnx", "vec768l12-onnx", "hubertsoft",
                        "hubertsoft-onnx", "hubertsoft-onnx-old", "whisper-ppg", "whisper-ppg-large",
                        "cnhubertlarge", "dphubert", "wavlmbase+")
UNIT_MODES = ("left", "nearest", "linear")
MAX_SPEAKERS = 10000


def _int(model: Mapping, key: str, lo: int, hi: int, where: str, default: Any = None) -> int:
    value = model.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or not lo <= value <= hi:
        raise ArvcError(f"{where}: {key} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def _int_list(model: Mapping, key: str, lo: int, hi: int, where: str, max_len: int = 8) -> list[int]:
    value = model.get(key)
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= max_len:
        raise ArvcError(f"{where}: {key} must be a list of 1..{max_len} integers, got {value!r}")
    return [_int({key: v}, key, lo, hi, where) for v in value]


def _flag(model: Mapping, key: str, where: str, default: bool = False) -> bool:
    value = model.get(key, default)
    if not isinstance(value, bool):
        raise ArvcError(f"{where}: {key} must be true or false, got {value!r}")
    return value


@dataclass
class SovitsConfig:
    """The generator config (``model`` section) plus what inference needs from ``data`` and ``spk``.

    ``version`` is "4.1" when the file names a ``speech_encoder`` (4.1 writes it), else "4.0". ``hop_length`` =
    prod(upsample_rates) samples per frame at ``sample_rate`` (e.g. 512 at 44.1 kHz: 86.1 frames/s).
    ``n_flow_layer``: WaveNet layers of each of the flow's 4 couplings (so-vits' name; default 4).
    ``unit_interpolate_mode``: how 50 Hz units are stretched to frames (4.1 default "left"; 4.0 "nearest").
    """

    sample_rate: int
    hop_length: int
    inter_channels: int
    hidden_channels: int
    filter_channels: int
    n_heads: int
    n_layers: int
    kernel_size: int
    resblock: str
    resblock_kernel_sizes: list[int]
    resblock_dilation_sizes: list[list[int]]
    upsample_rates: list[int]
    upsample_initial_channel: int
    upsample_kernel_sizes: list[int]
    gin_channels: int
    ssl_dim: int
    n_speakers: int
    speech_encoder: str = "vec768l12"
    version: str = "4.0"
    vol_embedding: bool = False
    n_flow_layer: int = 4
    flow_share_parameter: bool = False
    unit_interpolate_mode: str = "nearest"
    speakers: dict[str, int] = field(default_factory=dict)

    @property
    def embedder_version(self) -> str:
        return SPEECH_ENCODERS[self.speech_encoder][0]

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    def speaker_id(self, speaker: str | int | None) -> int:
        """Row of ``speaker`` (a name from ``spk`` or an id); None -> 0. ArvcError naming the choices otherwise."""
        if speaker is None or speaker == "":
            return 0
        if isinstance(speaker, str) and speaker in self.speakers:
            return self.speakers[speaker]
        try:
            sid = int(speaker)
        except (TypeError, ValueError):
            names = ", ".join(list(self.speakers)[:20]) or "none named"
            raise ArvcError(f"--speaker {speaker!r}: not a speaker of this model (speakers: {names})") from None
        if not 0 <= sid < self.n_speakers:
            raise ArvcError(f"--speaker {sid}: out of range, this model has {self.n_speakers} speaker rows (0..{self.n_speakers - 1})")
        return sid

    def speaker_names(self) -> list[str]:
        return [name for name, _ in sorted(self.speakers.items(), key=lambda kv: kv[1])]

    @classmethod
    def from_dict(cls, raw: Any, where: str = "config.json") -> "SovitsConfig":
        """Validate a parsed ``config.json``; ArvcError (one line naming ``where``) for anything off."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("model"), Mapping) or not isinstance(raw.get("data"), Mapping):
            raise ArvcError(f"{where}: not a so-vits-svc config (needs 'data' and 'model' sections)")
        model, data = raw["model"], raw["data"]
        _check_supported(model, where)
        rates = _int_list(model, "upsample_rates", 1, 32, where)
        kernels = _int_list(model, "upsample_kernel_sizes", 1, 64, where)
        rb_kernels = _int_list(model, "resblock_kernel_sizes", 1, 31, where)
        dilations = model.get("resblock_dilation_sizes")
        if not isinstance(dilations, (list, tuple)) or len(dilations) != len(rb_kernels):
            raise ArvcError(f"{where}: resblock_dilation_sizes must hold one list per resblock kernel")
        dilations = [_int_list({"d": d}, "d", 1, 64, where) for d in dilations]
        if len(kernels) != len(rates):
            raise ArvcError(f"{where}: upsample_rates and upsample_kernel_sizes differ in length")
        sr = _int(data, "sampling_rate", 8000, 96000, where)
        hop = math.prod(rates)
        if "hop_length" in data and _int(data, "hop_length", 1, 4096, where) != hop:
            raise ArvcError(f"{where}: hop_length {data['hop_length']} differs from prod(upsample_rates) = {hop}")
        ssl_dim = _int(model, "ssl_dim", 1, 4096, where)
        version = "4.1" if "speech_encoder" in model else "4.0"
        encoder = model.get("speech_encoder") or ("vec256l9" if ssl_dim == 256 else "vec768l12")
        if encoder not in SPEECH_ENCODERS:
            raise ArvcError(f"{where}: speech_encoder {encoder!r} is not supported by arvc (supported: "
                            f"{', '.join(SPEECH_ENCODERS)}; its weights cannot be had here)")
        if SPEECH_ENCODERS[encoder][1] != ssl_dim:
            raise ArvcError(f"{where}: speech_encoder {encoder} gives {SPEECH_ENCODERS[encoder][1]}-dim features but ssl_dim is {ssl_dim}")
        hidden = _int(model, "hidden_channels", 2, 2048, where)
        heads = _int(model, "n_heads", 1, 64, where)
        inter = _int(model, "inter_channels", 2, 2048, where)
        if hidden % heads or inter % 2:
            raise ArvcError(f"{where}: hidden_channels must be divisible by n_heads and inter_channels even")
        up0 = _int(model, "upsample_initial_channel", 2 ** len(rates), 4096, where)
        n_speakers = _int(model, "n_speakers", 1, MAX_SPEAKERS, where)
        mode = data.get("unit_interpolate_mode", "nearest" if version == "4.0" else "left")
        if mode not in UNIT_MODES:
            raise ArvcError(f"{where}: unit_interpolate_mode {mode!r} (choices: {', '.join(UNIT_MODES)})")
        return cls(
            sample_rate=sr, hop_length=hop, inter_channels=inter, hidden_channels=hidden,
            filter_channels=_int(model, "filter_channels", 1, 8192, where), n_heads=heads,
            n_layers=_int(model, "n_layers", 1, 32, where), kernel_size=_int(model, "kernel_size", 1, 31, where),
            resblock=str(model.get("resblock", "1")), resblock_kernel_sizes=rb_kernels,
            resblock_dilation_sizes=dilations, upsample_rates=rates, upsample_initial_channel=up0,
            upsample_kernel_sizes=kernels, gin_channels=_int(model, "gin_channels", 1, 4096, where), ssl_dim=ssl_dim,
            n_speakers=n_speakers, speech_encoder=encoder, version=version,
            vol_embedding=_flag(model, "vol_embedding", where),
            n_flow_layer=_int(model, "n_flow_layer", 1, 16, where, default=4),
            flow_share_parameter=_flag(model, "flow_share_parameter", where), unit_interpolate_mode=mode,
            speakers=_speakers(raw.get("spk", {}), n_speakers, where),
        )

    @classmethod
    def read(cls, path: str | os.PathLike) -> "SovitsConfig":
        path = Path(path)
        if not path.is_file():
            raise ArvcError(f"so-vits config not found: {path}")
        if path.stat().st_size > 1 << 20:
            raise ArvcError(f"{path}: {path.stat().st_size} bytes is too large for a so-vits config.json")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise ArvcError(f"{path}: not valid JSON ({str(e).splitlines()[0][:120]})") from None
        return cls.from_dict(raw, str(path))


def _check_supported(model: Mapping, where: str) -> None:
    """Switches whose networks arvc does not implement: one line naming the switch."""
    if model.get("type_", "hifi-gan") != "hifi-gan":
        raise ArvcError(f"{where}: decoder type_ {model.get('type_')!r} is not supported (only hifi-gan)")
    if model.get("vocoder_name", "nsf-hifigan") != "nsf-hifigan":
        raise ArvcError(f"{where}: vocoder_name {model.get('vocoder_name')!r} is not supported (only nsf-hifigan)")
    for key in ("use_depthwise_conv", "use_transformer_flow", "speaker_embedding"):
        if model.get(key):
            raise ArvcError(f"{where}: {key}=true is not supported by arvc (so-vits-svc 4.1 option)")
    if str(model.get("resblock", "1")) not in ("1", "2"):
        raise ArvcError(f"{where}: resblock must be \"1\" or \"2\", got {model.get('resblock')!r}")


def _speakers(spk: Any, n_speakers: int, where: str) -> dict[str, int]:
    if not isinstance(spk, Mapping):
        raise ArvcError(f"{where}: 'spk' must map speaker names to ids")
    out: dict[str, int] = {}
    for name, sid in spk.items():
        if isinstance(sid, bool) or not isinstance(sid, int) or not 0 <= sid < n_speakers:
            raise ArvcError(f"{where}: speaker {name!r} has id {sid!r}, outside 0..{n_speakers - 1}")
        out[str(name)] = sid
    return out

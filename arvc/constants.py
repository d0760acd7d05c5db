"""RVC's fixed facts, defined once: model versions and their content dims, vocoder names and aliases,
sample rates (and their ``"40k"`` spellings), and the dataset-duration text."""

from __future__ import annotations

import re
from typing import Any

from arvc.errors import ArvcError

VERSIONS = ("v1", "v2")
CONTENT_DIMS = {"v1": 256, "v2": 768}  # content-feature width each model version reads (enc_p.emb_phone)

VOCODER_NAMES = ("HiFi-GAN", "MRF HiFi-GAN", "RefineGAN")  # as RVC/Applio files store them
# alias (lower case, letters only) -> stored name
VOCODER_ALIASES = {
    "hifigan": "HiFi-GAN", "nsfhifigan": "HiFi-GAN", "hifigannsf": "HiFi-GAN", "nsf": "HiFi-GAN",
    "mrfhifigan": "MRF HiFi-GAN", "mrf": "MRF HiFi-GAN",
    "refinegan": "RefineGAN",
}

SAMPLE_RATES = (32000, 40000, 48000)  # the rates RVC models are trained at
SR_16K = 16000  # the content embedders' and F0 estimators' input rate
F0_HOP = 160  # 10 ms F0 frames at 16 kHz: the trainer's pitch rate


def version_of_content_dim(dim: int) -> str | None:
    """``256`` -> ``"v1"``, ``768`` -> ``"v2"``, anything else None."""
    return next((v for v, d in CONTENT_DIMS.items() if d == int(dim)), None)


def _vocoder_key(name: Any) -> str:
    return re.sub(r"[^a-z]", "", str(name).lower())


def vocoder_aliases(name: str) -> list[str]:
    """The aliases of one stored vocoder name (for registries)."""
    return [alias for alias, canonical in VOCODER_ALIASES.items() if canonical == name]


def find_vocoder(name: Any) -> str | None:
    """``"hifigan"``/``"HiFi-GAN (NSF)"``/``"mrf_hifigan"``/``"refine-gan"``... -> the stored name, or None."""
    return None if name is None else VOCODER_ALIASES.get(_vocoder_key(name))


def canonical_vocoder(name: str) -> str:
    """Like :func:`find_vocoder`; an unknown name is an ArvcError listing the choices."""
    found = find_vocoder(name)
    if found is None:
        raise ArvcError(f"unknown vocoder {name!r}; choices: {', '.join(VOCODER_NAMES)}")
    return found


def parse_sample_rate(value: Any, fallback: int | None = None) -> int | None:
    """``40000`` / ``"40000"`` / ``"40k"`` / ``"48 kHz"`` / ``"32.0k"`` -> Hz; ``fallback`` when unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return fallback
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*k(?:hz)?", text)
    if m:
        return int(round(float(m.group(1)) * 1000))
    return int(text) if text.isdigit() else fallback


def require_sample_rate(value: Any, what: str = "sample rate") -> int:
    """:func:`parse_sample_rate` that raises ``ArvcError("<what>: bad sample rate ...")`` instead of a fallback."""
    sr = parse_sample_rate(value)
    if sr is None:
        raise ArvcError(f"{what}: bad sample rate {value!r}")
    return sr


def format_duration(seconds: float) -> str:
    """Seconds -> ``HH:MM:SS`` (floored, as Applio writes ``total_dataset_duration``)."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"

ONNX_OPSET = 17  # the ONNX opset arvc exports (onnxruntime >= 1.12 runs it)

"""Stem separation through the ``audio-separator`` package (UVR's VR / MDX / MDX23C / Roformer / Demucs models).

audio-separator loads (and, online, downloads on first use) its models into ``models_dir``; offline a
model that is not there is one error line naming it. Its own loading and separation code runs; arvc only
maps its output files to stem names. Needs Debian's ``ffmpeg`` (audio-separator checks for it).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from arvc.errors import ArvcError

DEFAULT_VOCAL_MODEL = "model_bs_roformer_ep_317_sdr_12.9755.ckpt"  # audio-separator's default (BS-Roformer)
DEFAULT_BACKING_MODEL = "6_HP-Karaoke-UVR.pth"  # VR karaoke model: lead vocal vs backing vocals
DEFAULT_DEREVERB_MODEL = "UVR-DeEcho-DeReverb.pth"  # VR model: dry vocal vs echo/reverb


def separator_dir() -> Path:
    """Where audio-separator keeps its models: $ARVC_MODELS_DIR/audio-separator (default ~/.cache/arvc/...)."""
    from arvc.paths import models_root

    return models_root() / "audio-separator"


def _offline_error(model: str, models_dir: Path, err: BaseException) -> ArvcError:
    req = getattr(err, "request", None)
    host = req.url.split("/")[2] if req is not None and getattr(req, "url", None) else None
    detail = f"{type(err).__name__} reaching {host}" if host else (str(err).splitlines()[0] if str(err) else type(err).__name__)
    return ArvcError(f"separator model {model} is not in {models_dir} and could not be downloaded ({detail}); "
                     f"run 'arvc prerequisites' or put the model file (and audio-separator's model lists) there")


def separate(audio: str | os.PathLike, model: str, out_dir: str | os.PathLike,
             models_dir: str | os.PathLike | None = None, sample_rate: int = 44100) -> dict[str, Path]:
    """Separate ``audio`` with the audio-separator ``model`` into ``out_dir``; {stem name (lower case): file}.

    Stem names are the model's (``vocals``/``instrumental`` for vocal models, ``no reverb``/``reverb``...).
    """
    try:
        from audio_separator.separator import Separator
    except ImportError as e:
        raise ArvcError(f"vocal separation needs the 'audio-separator' package ({e})") from None
    if shutil.which("ffmpeg") is None:
        raise ArvcError("vocal separation needs ffmpeg (apt-get install ffmpeg), which audio-separator requires")
    mdir = Path(models_dir) if models_dir else separator_dir()
    mdir.mkdir(parents=True, exist_ok=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".separate-", dir=out) as tmp:
        sep = Separator(log_level=logging.WARNING, model_file_dir=str(mdir), output_dir=tmp, output_format="WAV",
                        use_soundfile=True, sample_rate=sample_rate)
        try:
            sep.load_model(model)
        except Exception as e:  # noqa: BLE001 - download failures, unknown names, bad files: one line
            import requests

            if isinstance(e, (requests.RequestException, OSError)) or "download" in str(e).lower():
                raise _offline_error(model, mdir, e) from None
            raise ArvcError(f"separator model {model}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        try:
            files = sep.separate(str(audio))
        except Exception as e:  # noqa: BLE001
            raise ArvcError(f"{audio}: separation with {model} failed ({type(e).__name__}: {e})") from None
        stems: dict[str, Path] = {}
        for f in files:
            p = Path(f) if Path(f).is_absolute() else Path(tmp) / f
            name = p.stem.rsplit("_(", 1)[-1].split(")")[0].strip().lower() if "_(" in p.stem else p.stem.lower()
            target = out / f"{name.replace(' ', '_')}.wav"
            os.replace(p, target)
            stems[name] = target
    if not stems:
        raise ArvcError(f"{audio}: {model} produced no stems")
    return stems


def pick(stems: dict[str, Path], *names: str) -> Path:
    """The first stem whose name contains one of ``names`` (case-insensitive)."""
    for want in names:
        for name, path in stems.items():
            if want in name:
                return path
    raise ArvcError(f"the separator gave stems {', '.join(stems)}; none is {' or '.join(names)}")

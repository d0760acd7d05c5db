"""Load any common audio format to mono float at a requested rate; save wav/flac/mp3/ogg.

soundfile (libsndfile) reads what it can (wav, flac, ogg, opus, mp3, aiff); PyAV (bundled
FFmpeg) reads the rest (m4a, mp4, aac, alac, wma, webm, ac3, ...). Resampling uses soxr VHQ,
as Applio does through ``librosa.resample(res_type="soxr_vhq")``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from arvc.atomic import atomic_path
from arvc.audio.sniff import non_audio_kind
from arvc.constants import SR_16K
from arvc.errors import ArvcError

AUDIO_EXTENSIONS = (
    ".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a", ".mp4", ".aac",
    ".alac", ".wma", ".aiff", ".aif", ".webm", ".ac3",
)
SAVE_FORMATS = ("wav", "flac", "mp3", "ogg")
MP3_RATES = (8000, 11025, 12000, SR_16K, 22050, 24000, 32000, 44100, 48000)  # others are resampled up (40 kHz -> 44.1 kHz)
_MAX_CODEC_PADDING = 4096  # samples; a larger gap to the declared length is distrusted metadata, not padding
_SOUNDFILE_FIRST = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif"}


class AudioReadError(ArvcError):
    """A file that cannot be decoded (missing, corrupt, unsupported or empty)."""


def is_audio_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    return data.T, int(sr)  # (C, T)


def _read_av(path: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise ValueError("no audio stream")
        stream = streams[0]
        sr = stream.codec_context.sample_rate or stream.rate
        chunks = []
        for frame in container.decode(stream):
            arr = frame.to_ndarray()
            if frame.format.is_planar:
                arr = arr.reshape(len(frame.layout.channels), -1)
            else:
                arr = arr.reshape(-1, len(frame.layout.channels)).T
            if arr.dtype == np.uint8:
                arr = (arr.astype(np.float64) - 128.0) / 128.0
            elif np.issubdtype(arr.dtype, np.integer):
                arr = arr.astype(np.float64) / float(np.iinfo(arr.dtype).max + 1)
            chunks.append(arr.astype(np.float64))
            sr = frame.sample_rate or sr
        declared = _declared_samples(stream, int(sr))
    if not chunks:
        raise ValueError("no audio frames decoded")
    data = np.concatenate(chunks, axis=1)
    if declared and 0 < data.shape[1] - declared <= _MAX_CODEC_PADDING:
        data = data[:, :declared]  # drop encoder end padding (AAC/AC-3 frames are whole)
    return data, int(sr)


def _declared_samples(stream, sr: int) -> int | None:
    """Sample count the container declares for ``stream`` (e.g. from an MP4 edit list), if any."""
    if not stream.duration or stream.time_base is None:
        return None
    return int(round(float(stream.duration * stream.time_base) * sr))


def resample(audio: np.ndarray, orig_sr: int, target_sr: int, quality: str = "VHQ") -> np.ndarray:
    """Resample a 1-D signal with soxr (dtype kept: float32 or float64)."""
    if orig_sr == target_sr:
        return audio
    return soxr.resample(audio, orig_sr, target_sr, quality=quality)


MIN_INPUT_RATE = 4_000
MAX_INPUT_RATE = 768_000


def load_audio(
    path: str | os.PathLike,
    sr: int | None = None,
    *,
    dtype: type = np.float32,
) -> np.ndarray:
    """Decode ``path`` to a mono 1-D array at ``sr`` Hz (native rate if None).

    Channels are averaged; integer samples are scaled to [-1, 1). Raises AudioReadError naming
    the file for anything that cannot be decoded or holds no samples.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioReadError(f"{p}: file not found")
    kind = non_audio_kind(p)
    if kind:
        raise AudioReadError(f"{p}: not an audio file (it is {kind})")
    errors = []
    readers = (_read_soundfile, _read_av) if p.suffix.lower() in _SOUNDFILE_FIRST else (_read_av, _read_soundfile)
    data = native_sr = None
    for reader in readers:
        try:
            data, native_sr = reader(p)
            break
        except Exception as e:  # noqa: BLE001 - every decoder failure is reported below
            errors.append(f"{type(e).__name__}: {e}".strip())
    if data is None:
        raise AudioReadError(f"{p}: cannot decode audio ({errors[-1].splitlines()[0] if errors else 'unknown'})")
    if data.size == 0 or data.shape[-1] == 0:
        raise AudioReadError(f"{p}: file holds no audio samples")
    if not MIN_INPUT_RATE <= int(native_sr) <= MAX_INPUT_RATE:  # a 1 Hz file would resample to hours of samples
        raise AudioReadError(f"{p}: sample rate {native_sr} Hz is outside {MIN_INPUT_RATE}..{MAX_INPUT_RATE} Hz")
    mono = data.mean(axis=0) if data.shape[0] > 1 else data[0]
    if not np.all(np.isfinite(mono)):
        raise AudioReadError(f"{p}: audio contains NaN or infinite samples")
    if sr is not None and native_sr != sr:
        mono = resample(mono, native_sr, sr)
    return np.ascontiguousarray(mono, dtype=dtype)


def audio_info(path: str | os.PathLike) -> tuple[int, float]:
    """(sample rate, duration in seconds) without resampling."""
    p = Path(path)
    try:
        info = sf.info(str(p))
        return int(info.samplerate), float(info.frames) / info.samplerate
    except Exception:  # noqa: BLE001
        x = load_audio(p, None, dtype=np.float32)
        import av

        with av.open(str(p)) as c:
            rate = next(s for s in c.streams if s.type == "audio").rate
        return int(rate), len(x) / rate


def check_finite_audio(x: np.ndarray, path: str | os.PathLike) -> None:
    """ArvcError naming ``path`` when ``x`` holds NaN or infinite samples (every audio write calls this first)."""
    if x.size and not np.isfinite(x).all():
        raise ArvcError(f"{path}: the audio holds NaN or infinite samples; nothing was written")


def save_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sr: int,
    format: str | None = None,
    subtype: str | None = None,
) -> Path:
    """Write ``audio`` (N,) mono or (N, C) atomically as wav (PCM_16 unless ``subtype``), flac (PCM_24), mp3 or
    ogg (vorbis); non-finite samples are refused.

    The format is taken from ``format`` or the file suffix. MPEG audio has no 40 kHz mode: an mp3 at a
    rate it lacks is resampled to the next supported one.
    """
    p = Path(path)
    fmt = (format or p.suffix.lstrip(".") or "wav").lower()
    if fmt not in SAVE_FORMATS:
        raise ArvcError(f"{p}: cannot write format {fmt!r}; choices: {', '.join(SAVE_FORMATS)}")
    x = np.asarray(audio, dtype=np.float32)
    x = x if x.ndim == 2 else x.reshape(-1)
    check_finite_audio(x, p)
    sf_format = {"wav": "WAV", "flac": "FLAC", "mp3": "MP3", "ogg": "OGG"}[fmt]
    sf_subtype = subtype or {"wav": "PCM_16", "flac": "PCM_24", "mp3": "MPEG_LAYER_III", "ogg": "VORBIS"}[fmt]
    if sf_subtype.startswith("PCM"):
        x = np.clip(x, -1.0, 1.0)
    sr = int(sr)
    if fmt == "mp3" and sr not in MP3_RATES:
        target = min((r for r in MP3_RATES if r >= sr), default=MP3_RATES[-1])
        x, sr = resample(x, sr, target).astype(np.float32), target
    try:
        with atomic_path(p) as tmp:
            sf.write(str(tmp), x, sr, format=sf_format, subtype=sf_subtype)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as e:
        raise ArvcError(f"{p}: cannot write {fmt} ({str(e).splitlines()[0]})") from e
    return p

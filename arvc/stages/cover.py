"""Stage: a song cover (``arvc cover``): separate the vocal, optionally split lead/backing and remove reverb,
convert the lead vocal, shift the accompaniment with it when asked, mix with per-stem gains.

Separation results are cached by the input file's hash and the separation settings, so a second run
with another pitch or model skips straight to the conversion.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from arvc import events
from arvc.audio.separation import DEFAULT_VOCAL_MODEL
from arvc.errors import ArvcError
from arvc.inference.config import InferenceConfig
from arvc.library.download import sha256_of

log = logging.getLogger(__name__)

MIX_PEAK = 0.99


@dataclass
class CoverRun:
    """song: the mixed track (separated with ``separator_model``), or ``vocals`` + ``instrumental`` stems the user
    has (then nothing is separated). ``backing_model``: also split lead from backing vocals (only the lead is
    converted); ``dereverb_model``: remove the lead vocal's reverb before conversion. ``pitch_all``: shift the
    instrumental and backing by the conversion's semitones too. Gains in dB per stem."""

    model: str | os.PathLike
    output_dir: str | os.PathLike
    song: str | os.PathLike | None = None
    vocals: str | os.PathLike | None = None
    instrumental: str | os.PathLike | None = None
    index: str | os.PathLike | None = None
    separator_model: str = DEFAULT_VOCAL_MODEL
    backing_model: str | None = None
    dereverb_model: str | None = None
    separator_dir: str | os.PathLike | None = None
    cache_dir: str | os.PathLike | None = None
    pitch_all: bool = False
    vocal_gain: float = 0.0
    instrumental_gain: float = 0.0
    backing_gain: float = 0.0
    name: str | None = None
    format: str = "wav"
    config: InferenceConfig = field(default_factory=InferenceConfig)


@dataclass
class CoverResult:
    mix: Path
    stems: dict[str, Path]
    separated: bool  # False when the separation came from the cache or the user's stems
    peak_scale: float  # 1.0 unless the mix was scaled down to avoid clipping


def cache_root(override: str | os.PathLike | None = None) -> Path:
    from arvc.paths import models_root

    return Path(override) if override else models_root() / "cover_cache"


def _cached_step(cache: Path, source: Path, model: str, separator_dir, kind: str) -> tuple[dict[str, Path], bool]:
    """Run (or reuse) one separation step; the key is the source's content hash, the model and the step."""
    from arvc.audio.separation import separate

    key = hashlib.sha256(json.dumps([sha256_of(source), model, kind]).encode()).hexdigest()[:20]
    folder = cache / key
    manifest = folder / "stems.json"
    if manifest.is_file():
        stems = {k: folder / v for k, v in json.loads(manifest.read_text()).items()}
        if all(p.is_file() for p in stems.values()):
            log.info("%s: %s stems from the cache (%s)", source.name, kind, folder)
            return stems, False
    log.info("%s: %s with %s ...", source.name, kind, model)
    stems = separate(source, model, folder, models_dir=separator_dir)
    from arvc.atomic import write_json

    write_json(manifest, {k: p.name for k, p in stems.items()})
    return stems, True


def _read(path: Path) -> tuple[np.ndarray, int]:
    """(N, C) float32 and the rate."""
    import soundfile as sf

    from arvc.audio.io import load_audio

    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return x, int(sr)
    except Exception:  # noqa: BLE001 - formats soundfile cannot read are decoded (mono) by arvc's reader
        from arvc.audio.io import audio_info

        sr = audio_info(path)[0]
        return load_audio(path, None)[:, None], sr


def _fit(x: np.ndarray, n: int, channels: int) -> np.ndarray:
    """(M, C) -> (n, channels): trimmed or zero-padded, mono spread to every channel."""
    x = x[:n]
    if len(x) < n:
        x = np.pad(x, ((0, n - len(x)), (0, 0)))
    if x.shape[1] != channels:
        x = np.repeat(x.mean(axis=1, keepdims=True), channels, axis=1)
    return x


def _shift(x: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    if not semitones:
        return x
    from arvc.inference.effects.post import apply_post

    return np.stack([apply_post(x[:, c], sr, {"pitch_shift": {"pitch_shift_semitones": semitones}})
                     for c in range(x.shape[1])], axis=1)


def _write(path: Path, x: np.ndarray, sr: int, fmt: str) -> Path:
    """A stem or the mix: float WAV (headroom for remixing), else the format's own subtype."""
    from arvc.audio.io import save_audio

    return save_audio(path, x, sr, format=fmt, subtype="FLOAT" if fmt == "wav" else None)


@events.staged("cover")
def cover(run: CoverRun) -> CoverResult:
    from arvc.audio.io import resample
    from arvc.audio.separation import pick
    from arvc.inference.pipeline import load_input
    from arvc.inference.sovits import open_converter

    if run.format not in ("wav", "flac", "ogg"):
        raise ArvcError(f"--format {run.format}: cover writes wav, flac or ogg")
    if (run.vocals is None) != (run.instrumental is None):
        raise ArvcError("--vocals and --instrumental go together (give both stems, or the song alone)")
    if run.vocals is None and run.song is None:
        raise ArvcError("give the song, or --vocals and --instrumental")
    for p in (run.song, run.vocals, run.instrumental):
        if p is not None and not Path(p).is_file():
            raise ArvcError(f"{p}: file not found")
    from arvc.safe_paths import plain_name
    from arvc.stages.config import check_range

    for flag, gain in (("--vocal_gain", run.vocal_gain), ("--instrumental_gain", run.instrumental_gain),
                       ("--backing_gain", run.backing_gain)):
        check_range(flag, gain, -60.0, 24.0)
    if run.name is not None:
        plain_name(run.name, "--name")
    cfg = run.config.validate()
    if run.pitch_all and cfg.pitch_auto:
        raise ArvcError("--pitch_all needs a number of semitones, not --pitch auto")
    converter = open_converter(run.model, run.index, cfg)  # a bad model fails before any separation
    out = Path(run.output_dir)
    name = run.name or Path(run.song or run.vocals).stem
    cache = cache_root(run.cache_dir)
    separated = False
    if run.vocals is not None:
        vocals, instrumental = Path(run.vocals), Path(run.instrumental)
    else:
        stems, separated = _cached_step(cache, Path(run.song), run.separator_model, run.separator_dir, "vocals")
        vocals, instrumental = pick(stems, "vocal"), pick(stems, "instrument", "no vocal", "other")
    lead, backing = vocals, None
    if run.backing_model:
        stems, did = _cached_step(cache, vocals, run.backing_model, run.separator_dir, "backing")
        separated |= did
        lead, backing = pick(stems, "vocal", "lead"), pick(stems, "instrument", "backing", "other")
    if run.dereverb_model:
        stems, did = _cached_step(cache, lead, run.dereverb_model, run.separator_dir, "dereverb")
        separated |= did
        lead = pick(stems, "no reverb", "no echo", "dry", "noreverb")

    inst, sr = _read(instrumental)
    n, channels = len(inst), inst.shape[1]

    converted, conv_sr = converter.convert_audio(load_input(lead))
    semitones = cfg.pitch if run.pitch_all else 0.0
    voice = _fit(resample(converted.astype(np.float32), conv_sr, sr)[:, None], n, channels)
    parts = {"converted_vocals": (voice, run.vocal_gain), "instrumental": (_shift(inst, sr, semitones), run.instrumental_gain)}
    if backing is not None:
        b, bsr = _read(backing)
        b = resample(b, bsr, sr) if bsr != sr else b
        parts["backing_vocals"] = (_fit(_shift(b, sr, semitones), n, channels), run.backing_gain)
    mix = sum(x * 10 ** (g / 20) for x, g in parts.values())
    peak = float(np.abs(mix).max())
    scale = MIX_PEAK / peak if peak > MIX_PEAK else 1.0
    mix = (mix * scale).astype(np.float32)
    if scale < 1:
        log.info("mix peak %.2f: scaled by %.3f to stay below %.2f", peak, scale, MIX_PEAK)
    written = {k: _write(out / f"{name}_{k}.{run.format}", x.astype(np.float32), sr, run.format)
               for k, (x, _) in parts.items()}
    if run.vocals is None:  # separated stems: copies beside the mix (the cache may be cleared)
        written["vocals"] = _copy(vocals, out / f"{name}_vocals.wav")
    if lead != vocals:
        written["lead_vocals"] = _copy(lead, out / f"{name}_lead_vocals.wav")
    mix_path = _write(out / f"{name}_cover.{run.format}", mix, sr, run.format)
    for stem, path in written.items():
        events.artifact("audio", path, stem=stem)
    events.artifact("audio", mix_path, stem="mix")
    _write_json(out / f"{name}_cover.json", {"mix": str(mix_path), "stems": {k: str(v) for k, v in written.items()},
                                              "separated": separated, "peak_scale": scale, "gains_db": {
                                                  k: g for k, (_, g) in parts.items()}, "semitones_accompaniment": semitones,
                                              "settings": {k: v for k, v in asdict(run).items() if k != "config"}})
    return CoverResult(mix_path, written, separated, scale)


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    from arvc.atomic import atomic_path

    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return dst


def _write_json(path: Path, obj) -> None:
    from arvc.atomic import write_json

    write_json(path, json.loads(json.dumps(obj, default=str)))

"""Stage: text to speech, then conversion with a voice model (``arvc tts``)."""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from arvc.errors import ArvcError
from arvc.inference.config import InferenceConfig

log = logging.getLogger(__name__)


@dataclass
class TtsRun:
    """text: what to say; engine: auto | espeak | edge; voice: the engine's voice name; rate: -100..100 (%).
    output: the converted speech; output_tts: where to keep the plain TTS audio (None: a temporary file)."""

    text: str
    model: str | os.PathLike
    output: str | os.PathLike
    index: str | os.PathLike | None = None
    engine: str = "auto"
    voice: str | None = None
    rate: int = 0
    output_tts: str | os.PathLike | None = None
    config: InferenceConfig = field(default_factory=InferenceConfig)


@dataclass
class TtsResult:
    output: Path
    tts_audio: Path | None  # None when it was a temporary file
    engine: str
    voice: str


def read_text(text: str | None, text_file: str | os.PathLike | None) -> str:
    """The text to speak: the file's content when a file is given (Applio's rule), else ``text``."""
    if text_file:
        p = Path(text_file)
        if not p.is_file():
            raise ArvcError(f"--tts_file {p}: file not found")
        text = p.read_text(encoding="utf-8")
    text = (text or "").strip()
    if not text:
        raise ArvcError("nothing to say: give the text or --tts_file")
    return text


def tts(run: TtsRun) -> TtsResult:
    """Synthesize ``run.text`` with the TTS engine, then convert it with the voice model."""
    from arvc.inference.sovits import open_converter
    from arvc.tts import pick_engine

    if not -100 <= run.rate <= 100:
        raise ArvcError(f"--tts_rate must be between -100 and 100, got {run.rate}")
    cfg = run.config.validate()
    engine = pick_engine(run.engine, run.voice)
    voice = run.voice or engine.default_voice
    converter = open_converter(run.model, run.index, cfg)
    with tempfile.TemporaryDirectory(prefix="arvc-tts-") as tmp:
        speech = Path(run.output_tts) if run.output_tts else Path(tmp) / ("speech.mp3" if engine.name == "edge" else "speech.wav")
        if run.output_tts:
            speech.parent.mkdir(parents=True, exist_ok=True)
            speech = _synthesize_atomic(engine, run.text, speech, voice, run.rate)
        else:
            engine.synthesize(run.text, speech, voice, run.rate)
        log.info("%s (%s) spoke %d characters -> converting with %s", engine.name, voice, len(run.text), run.model)
        out = converter.convert_file(speech, run.output)
    return TtsResult(Path(out), Path(run.output_tts) if run.output_tts else None, engine.name, voice)


def _synthesize_atomic(engine, text: str, path: Path, voice: str, rate: int) -> Path:
    from arvc.atomic import atomic_path

    with atomic_path(path) as tmp:
        engine.synthesize(text, tmp, voice, rate)
    return path

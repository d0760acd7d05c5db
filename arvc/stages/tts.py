"""Stage: text to speech, then conversion with a voice model (``arvc tts``)."""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from arvc import events
from arvc.errors import ArvcError
from arvc.inference.config import InferenceConfig

log = logging.getLogger(__name__)

MAX_TTS_CHARS = 10_000  # about ten minutes of speech; longer texts are refused (split them into several runs)


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
    """The text to speak: the file's content when a file is given (Applio's rule), else ``text``; at most
    :data:`MAX_TTS_CHARS` characters of UTF-8 text (a binary file is refused by its bytes, never echoed)."""
    if text_file:
        p = Path(text_file)
        if not p.is_file():
            raise ArvcError(f"--tts_file {p}: file not found")
        if p.stat().st_size > 4 * MAX_TTS_CHARS:
            raise ArvcError(f"--tts_file {p}: {p.stat().st_size} bytes, more than the {MAX_TTS_CHARS}-character "
                            "limit of one run; split the text")
        data = p.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ArvcError(f"--tts_file {p}: not UTF-8 text") from None
        if any(c in text for c in "\0\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x1b\x7f"):
            raise ArvcError(f"--tts_file {p}: holds control characters; not a text file")
    text = (text or "").strip()
    if not text:
        raise ArvcError("nothing to say: give the text or --tts_file")
    if len(text) > MAX_TTS_CHARS:
        raise ArvcError(f"the text has {len(text)} characters, more than the limit of {MAX_TTS_CHARS} for one run; "
                        "split it")
    return text


@events.staged("tts")
def tts(run: TtsRun) -> TtsResult:
    """Synthesize ``run.text`` with the TTS engine, then convert it with the voice model."""
    from arvc.inference.sovits import open_converter
    from arvc.tts import pick_engine

    if not -100 <= run.rate <= 100:
        raise ArvcError(f"--tts_rate must be between -100 and 100, got {run.rate}")
    run.text = read_text(run.text, None)  # the same limits for text given directly (API, UI)
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
    events.artifact("audio", out)
    return TtsResult(Path(out), Path(run.output_tts) if run.output_tts else None, engine.name, voice)


def _synthesize_atomic(engine, text: str, path: Path, voice: str, rate: int) -> Path:
    from arvc.atomic import atomic_path

    with atomic_path(path) as tmp:
        engine.synthesize(text, tmp, voice, rate)
    return path

"""Text-to-speech engines for ``arvc tts`` (a registry): ``espeak`` (espeak-ng, offline) and ``edge``
(Microsoft Edge's online voices through ``edge-tts``, Applio's engine)."""

from __future__ import annotations

import re

from arvc.registry import Registry
from arvc.tts.base import TtsEngine
from arvc.tts.edge import EdgeTts
from arvc.tts.espeak import EspeakTts

TTS_ENGINES: Registry[type[TtsEngine]] = Registry("TTS engine")
TTS_ENGINES.add("espeak", EspeakTts, "espeak-ng")
TTS_ENGINES.add("edge", EdgeTts, "edge-tts")

_EDGE_VOICE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}(-[A-Za-z]+)?-\w+Neural$")


def pick_engine(engine: str, voice: str | None) -> TtsEngine:
    """``auto``: edge for an Edge voice name (``en-US-AriaNeural``), else espeak. No silent fallback."""
    if engine == "auto":
        engine = "edge" if voice and _EDGE_VOICE.match(voice) else "espeak"
    return TTS_ENGINES.get(engine)()


__all__ = ["TTS_ENGINES", "TtsEngine", "pick_engine"]

"""The interface of a text-to-speech engine."""

from __future__ import annotations

import os
from pathlib import Path


class TtsEngine:
    """Writes speech for ``text`` to an audio file. ``rate``: Applio's -100..100 (percent faster/slower)."""

    name = "base"
    default_voice = ""

    def synthesize(self, text: str, path: str | os.PathLike, voice: str | None = None, rate: int = 0) -> Path:
        raise NotImplementedError

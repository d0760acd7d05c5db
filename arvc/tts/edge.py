"""Microsoft Edge's online neural voices through the ``edge-tts`` package (Applio's TTS); needs the internet."""

from __future__ import annotations

import os
from pathlib import Path

from arvc.errors import ArvcError
from arvc.tts.base import TtsEngine


class EdgeTts(TtsEngine):
    name = "edge"
    default_voice = "en-US-AriaNeural"

    def synthesize(self, text: str, path: str | os.PathLike, voice: str | None = None, rate: int = 0) -> Path:
        try:
            import edge_tts
        except ImportError:
            raise ArvcError("the edge TTS engine needs the 'edge-tts' package (pip install edge-tts)") from None
        import asyncio

        out = Path(path)
        comm = edge_tts.Communicate(text, voice or self.default_voice, rate=f"{int(rate):+d}%")
        try:
            asyncio.run(comm.save(str(out)))
        except Exception as e:  # noqa: BLE001 - network and service errors become one line
            out.unlink(missing_ok=True)
            raise ArvcError(f"edge-tts could not synthesize with voice {voice or self.default_voice!r} "
                            f"(it needs the internet): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                            " -- use --tts_engine espeak offline") from None
        if not out.is_file() or out.stat().st_size == 0:
            raise ArvcError(f"edge-tts returned no audio for voice {voice or self.default_voice!r}")
        return out

"""espeak-ng (Debian package ``espeak-ng``): offline formant speech, WAV at 22.05 kHz."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from arvc.errors import ArvcError
from arvc.tts.base import TtsEngine

WORDS_PER_MINUTE = 175  # espeak-ng's default speed


class EspeakTts(TtsEngine):
    name = "espeak"
    default_voice = "en-us"

    def synthesize(self, text: str, path: str | os.PathLike, voice: str | None = None, rate: int = 0) -> Path:
        exe = shutil.which("espeak-ng") or shutil.which("espeak")
        if exe is None:
            raise ArvcError("the offline TTS engine needs espeak-ng (apt-get install espeak-ng)")
        speed = int(min(max(WORDS_PER_MINUTE * (1 + rate / 100), 80), 450))
        out = Path(path)
        cmd = [exe, "-v", voice or self.default_voice, "-s", str(speed), "-w", str(out), "--stdin"]
        proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=600)
        err = proc.stderr.decode("utf-8", "replace").strip()
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size <= 44 or err:
            raise ArvcError(f"espeak-ng failed for voice {voice or self.default_voice!r}: "
                            f"{err.splitlines()[0] if err else f'exit {proc.returncode}'} (list voices: espeak-ng --voices)")
        return out

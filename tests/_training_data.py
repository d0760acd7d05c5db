"""Synthetic extracted experiments for the training/data tests (the layout `arvc extract` writes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf


def make_experiment(root: Path, *, n_items: int = 6, seconds: float = 0.5, sample_rate: int = 40000,
                    content_dim: int = 768, speakers: int = 1, seed: int = 0, equal_lengths: bool = False) -> Path:
    """Write sliced_audios/, extracted/, f0/, f0_voiced/, filelist.txt and model_info.json under ``root``.

    Audio is a harmonic tone with a glide (so there is something to learn); features are per-file Gaussian
    vectors that drift slowly; pitch matches the tone.
    """
    rng = np.random.default_rng(seed)
    for sub in ("sliced_audios", "extracted", "f0", "f0_voiced"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n_items):
        dur = seconds if equal_lengths else seconds * (1 + 0.5 * (i % 3))
        n = int(dur * sample_rate)
        t = np.arange(n) / sample_rate
        f0_start = 110 + 20 * (i % 5)
        f0 = f0_start * (1 + 0.3 * t / dur)
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        wav = sum(0.3 / k * np.sin(k * phase) for k in range(1, 6)).astype(np.float32)
        name = f"{i % speakers}_{i}_0.wav"
        sf.write(root / "sliced_audios" / name, wav, sample_rate, subtype="FLOAT")
        frames50 = (int(dur * 16000) - 400) // 320 + 1
        feat = (rng.standard_normal((1, content_dim)) + 0.1 * np.cumsum(
            rng.standard_normal((frames50, content_dim)), axis=0)).astype(np.float32)
        np.save(root / "extracted" / f"{name}.npy", feat)
        frames100 = int(dur * 100)
        hz = (f0_start * (1 + 0.3 * np.arange(frames100) / 100 / dur)).astype(np.float32)
        mel = 1127 * np.log(1 + hz / 700)
        lo, hi = 1127 * np.log(1 + 50 / 700), 1127 * np.log(1 + 1100 / 700)
        coarse = np.clip(np.rint((mel - lo) * 254 / (hi - lo) + 1), 1, 255).astype(np.int64)
        np.save(root / "f0" / f"{name}.npy", coarse)
        np.save(root / "f0_voiced" / f"{name}.npy", hz)
        lines.append("|".join(str((root / d / f).resolve()) for d, f in (
            ("sliced_audios", name), ("extracted", f"{name}.npy"), ("f0", f"{name}.npy"),
            ("f0_voiced", f"{name}.npy"))) + f"|{i % speakers}")
    (root / "filelist.txt").write_text("\n".join(lines) + "\n")
    (root / "model_info.json").write_text(json.dumps({
        "sample_rate": sample_rate, "version": "v2" if content_dim == 768 else "v1", "content_dim": content_dim,
        "embedder_model": "contentvec", "f0_method": "synthetic", "total_dataset_duration": "0h 0m 5s"}))
    return root

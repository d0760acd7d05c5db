"""Effects around a conversion, in Applio's order: formant shifting of the 16 kHz input, then (after
conversion) noise cleaning, then the pedalboard post-processing chain. All off = the plain conversion,
bit for bit (no code runs)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from arvc.constants import SR_16K
from arvc.inference.effects.post import POST_EFFECTS, PostEffect


@dataclass
class EffectsConfig:
    """formant_*: stftpitchshift formant/timbre shift of the input (Applio ``--formant_shifting``).
    clean_*: noisereduce spectral gating of the output (``--clean_audio``).
    post: enabled pedalboard effects, name -> parameters (``--post_process --reverb ...``), applied in
    :data:`POST_EFFECTS` order."""

    formant_shifting: bool = False
    formant_qfrency: float = 1.0
    formant_timbre: float = 1.0
    clean_audio: bool = False
    clean_strength: float = 0.7
    post: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def any_output(self) -> bool:
        return self.clean_audio or bool(self.post)


def apply_input_effects(audio16k: np.ndarray, cfg: EffectsConfig, sr: int = SR_16K) -> np.ndarray:
    """(N,) input before conversion -> (N,)."""
    if not cfg.formant_shifting:
        return audio16k
    from arvc.inference.effects.formant import formant_shift

    return formant_shift(audio16k, sr, cfg.formant_qfrency, cfg.formant_timbre)


def apply_output_effects(audio: np.ndarray, sr: int, cfg: EffectsConfig) -> np.ndarray:
    """(M,) converted float32 audio at ``sr`` -> (M,) float32 (clean, then the post chain)."""
    if cfg.clean_audio:
        from arvc.inference.effects.clean import clean

        audio = clean(audio, sr, cfg.clean_strength)
    if cfg.post:
        from arvc.inference.effects.post import apply_post

        audio = apply_post(audio, sr, cfg.post)
    return audio


__all__ = ["EffectsConfig", "POST_EFFECTS", "PostEffect", "apply_input_effects", "apply_output_effects"]

"""Post-processing effects through Spotify's ``pedalboard``, with Applio's flag names and CLI defaults.

Each effect is an on/off flag (``--reverb``) plus parameters (``--reverb_room_size``...). They run in the
order of :data:`POST_EFFECTS` (Applio's), only when ``--post_process`` is on. One default differs from
Applio's CLI: ``--reverb_freeze_mode`` is 0 (Applio's web UI default); the CLI's 0.5 turns JUCE's freeze on,
which mutes the reverb's input so ``--reverb`` alone would add nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from arvc.errors import ArvcError
from arvc.registry import Registry


@dataclass(frozen=True)
class PostEffect:
    """One pedalboard effect: its Applio parameter flags with defaults, and how to build the plugin."""

    name: str
    params: dict[str, float]
    build: Callable[..., object]  # (pedalboard module, **params) -> plugin
    help: str = ""


POST_EFFECTS: Registry[PostEffect] = Registry("post-processing effect")


def _add(name: str, params: dict[str, float], build, help: str) -> None:
    POST_EFFECTS.add(name, PostEffect(name, params, build, help))


_add("reverb", {"reverb_room_size": 0.5, "reverb_damping": 0.5, "reverb_wet_gain": 0.5, "reverb_dry_gain": 0.5,
                "reverb_width": 0.5, "reverb_freeze_mode": 0.0},
     lambda pb, reverb_room_size, reverb_damping, reverb_wet_gain, reverb_dry_gain, reverb_width, reverb_freeze_mode:
     pb.Reverb(room_size=reverb_room_size, damping=reverb_damping, wet_level=reverb_wet_gain,
               dry_level=reverb_dry_gain, width=reverb_width, freeze_mode=reverb_freeze_mode), "room reverb")
_add("pitch_shift", {"pitch_shift_semitones": 0.0},
     lambda pb, pitch_shift_semitones: pb.PitchShift(semitones=pitch_shift_semitones), "shift the output's pitch")
_add("limiter", {"limiter_threshold": -6.0, "limiter_release_time": 0.01},
     lambda pb, limiter_threshold, limiter_release_time: pb.Limiter(threshold_db=limiter_threshold,
                                                                    release_ms=limiter_release_time),
     "peak limiter (threshold dB, release ms)")
_add("gain", {"gain_db": 0.0}, lambda pb, gain_db: pb.Gain(gain_db=gain_db), "gain in dB")
_add("distortion", {"distortion_gain": 25.0}, lambda pb, distortion_gain: pb.Distortion(drive_db=distortion_gain),
     "tanh distortion (drive dB)")
_add("chorus", {"chorus_rate": 1.0, "chorus_depth": 0.25, "chorus_center_delay": 7.0, "chorus_feedback": 0.0,
                "chorus_mix": 0.5},
     lambda pb, chorus_rate, chorus_depth, chorus_center_delay, chorus_feedback, chorus_mix:
     pb.Chorus(rate_hz=chorus_rate, depth=chorus_depth, centre_delay_ms=chorus_center_delay,
               feedback=chorus_feedback, mix=chorus_mix), "chorus")
_add("bitcrush", {"bitcrush_bit_depth": 8}, lambda pb, bitcrush_bit_depth: pb.Bitcrush(bit_depth=bitcrush_bit_depth),
     "bit-depth reduction")
_add("clipping", {"clipping_threshold": -6.0}, lambda pb, clipping_threshold: pb.Clipping(threshold_db=clipping_threshold),
     "hard clipping (threshold dB)")
_add("compressor", {"compressor_threshold": 0.0, "compressor_ratio": 1.0, "compressor_attack": 1.0,
                    "compressor_release": 100.0},
     lambda pb, compressor_threshold, compressor_ratio, compressor_attack, compressor_release:
     pb.Compressor(threshold_db=compressor_threshold, ratio=compressor_ratio, attack_ms=compressor_attack,
                   release_ms=compressor_release), "dynamic range compressor")
_add("delay", {"delay_seconds": 0.5, "delay_feedback": 0.0, "delay_mix": 0.5},
     lambda pb, delay_seconds, delay_feedback, delay_mix: pb.Delay(delay_seconds=delay_seconds,
                                                                  feedback=delay_feedback, mix=delay_mix),
     "echo")


def build_board(effects: dict[str, dict[str, float]]):
    """A ``pedalboard.Pedalboard`` of the enabled effects in registry order; missing parameters take defaults."""
    try:
        import pedalboard as pb
    except ImportError:
        raise ArvcError("--post_process needs the 'pedalboard' package (pip install pedalboard)") from None
    plugins = []
    for name in POST_EFFECTS.names():
        if name in effects:
            fx = POST_EFFECTS.get(name)
            unknown = set(effects[name]) - set(fx.params)
            if unknown:
                raise ArvcError(f"{name}: unknown parameter(s) {', '.join(sorted(unknown))}")
            plugins.append(fx.build(pb, **{**fx.params, **effects[name]}))
    for name in effects:
        POST_EFFECTS.resolve(name)  # an unknown effect name is an error
    return pb.Pedalboard(plugins)


def apply_post(audio: np.ndarray, sr: int, effects: dict[str, dict[str, float]]) -> np.ndarray:
    """(N,) float -> (N,) float32 through the enabled effects (output length = input length)."""
    board = build_board(effects)
    y = board(np.asarray(audio, dtype=np.float32)[None, :], float(sr))
    return np.asarray(y[0], dtype=np.float32)

"""What the commands that convert audio (infer, tts, cover) make of their conversion flags (the ``INFER`` /
``CONVERSION`` options of :mod:`arvc.api.options`): the effects, ``--pitch auto`` and ``--proposed_pitch``."""

from __future__ import annotations

import argparse


def effects_from_args(args: argparse.Namespace):
    """The :class:`EffectsConfig` the parsed flags ask for."""
    from arvc.inference.effects import POST_EFFECTS, EffectsConfig

    post = {}
    if args.post_process:
        post = {fx.name: {p: getattr(args, p) for p in fx.params} for fx in map(POST_EFFECTS.get, POST_EFFECTS.names())
                if getattr(args, fx.name)}
    return EffectsConfig(formant_shifting=args.formant_shifting, formant_qfrency=args.formant_qfrency,
                         formant_timbre=args.formant_timbre, clean_audio=args.clean_audio,
                         clean_strength=args.clean_strength, post=post)


def pitch_settings(args: argparse.Namespace) -> dict:
    """InferenceConfig keyword arguments for ``--pitch`` (number or auto) and ``--proposed_pitch``."""
    auto = args.pitch == "auto"
    return {"pitch": 0.0 if auto else args.pitch, "pitch_auto": auto, "proposed_pitch": args.proposed_pitch,
            "proposed_pitch_threshold": args.proposed_pitch_threshold}

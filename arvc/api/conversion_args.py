"""What the commands that convert audio (infer, tts, cover) make of their conversion flags (defined in
:data:`arvc.api.options.INFER`): the effects, ``--pitch auto`` and ``--proposed_pitch``."""

from __future__ import annotations

import argparse


def pitch_value(value: str) -> float | str:
    """``--pitch``: semitones, or ``auto`` (to the model's training median F0)."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected semitones or 'auto', got {value!r}") from None


def allow_pitch_auto(parser: argparse.ArgumentParser) -> None:
    """Let ``--pitch`` (defined in the option table as semitones) also take ``auto``."""
    for action in parser._actions:
        if action.dest == "pitch":
            action.type = pitch_value
            action.help = (action.help or "") + ", or 'auto': to the model's training voice"


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


def add_conversion_arguments(parser: argparse.ArgumentParser,
                             exclude: tuple[str, ...] = ("input", "output", "skip_existing", "quiet")) -> None:
    """``arvc infer``'s model and conversion flags (-m, --index, --pitch, effects, ...) on another command."""
    from arvc.api.commands import infer

    donor = argparse.ArgumentParser(add_help=False)
    infer.add_arguments(donor)
    for action in donor._actions:
        if action.dest not in exclude:
            parser._add_action(action)

"""Flags shared by the commands that convert audio (infer, tts, cover): Applio's conversion options
(formant shifting, cleaning, post-processing effects, proposed pitch) and ``--pitch auto``."""

from __future__ import annotations

import argparse

from arvc.api.argtypes import add_bool


def pitch_value(value: str) -> float | str:
    """``--pitch``: semitones, or ``auto`` (to the model's training median F0)."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected semitones or 'auto', got {value!r}") from None


def gate_db(text: str) -> float | None:
    """``--silence_gate_db``: a level in dBFS, or ``off``."""
    if text.strip().lower() in ("off", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level in dBFS or 'off', got {text!r}") from None


def allow_pitch_auto(parser: argparse.ArgumentParser) -> None:
    """Let ``--pitch`` (defined in the option table as semitones) also take ``auto``."""
    for action in parser._actions:
        if action.dest == "pitch":
            action.type = pitch_value
            action.help = (action.help or "") + ", or 'auto': to the model's training voice"


def add_effect_arguments(parser: argparse.ArgumentParser) -> None:
    from arvc.inference.effects import POST_EFFECTS

    g = parser.add_argument_group("pitch helpers")
    add_bool(g, "--proposed_pitch", False, "transpose the source towards --proposed_pitch_threshold (Applio's)")
    g.add_argument("--proposed_pitch_threshold", type=float, default=155.0,
                   help="target median F0 in Hz of --proposed_pitch (155 male, 255 female; default 155)")
    g = parser.add_argument_group("effects (Applio's order: formant shift of the input, clean, post-process)")
    add_bool(g, "--formant_shifting", False, "shift the input's formants (stftpitchshift) before conversion")
    g.add_argument("--formant_qfrency", type=float, default=1.0, help="formant lifter quefrency in ms (default 1.0)")
    g.add_argument("--formant_timbre", type=float, default=1.0,
                   help="formant frequency factor: > 1 brighter / smaller, < 1 darker / bigger (default 1.0)")
    add_bool(g, "--clean_audio", False, "reduce noise in the output (noisereduce spectral gating)")
    g.add_argument("--clean_strength", type=float, default=0.7, help="cleaning strength 0..1 (default 0.7)")
    add_bool(g, "--post_process", False, "apply the enabled pedalboard effects below to the output")
    for fx in map(POST_EFFECTS.get, POST_EFFECTS.names()):
        add_bool(g, f"--{fx.name}", False, f"post-process: {fx.help}")
        for name, default in fx.params.items():
            g.add_argument(f"--{name}", type=type(default), default=default, help=f"(default {default})")


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

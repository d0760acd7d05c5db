"""``arvc cover SONG -m model.pth``: a song cover. Separates the vocal (audio-separator; UVR/MDX/Roformer
models downloaded on first use into the models folder), converts the lead vocal, mixes it back over the
instrumental. ``--vocals``/``--instrumental`` use stems you already have. Every ``arvc infer`` flag applies
to the vocal conversion (pitch, index, effects ...)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from arvc.api.commands.infer import config_from_args
    from arvc.stages.cover import CoverRun, cover

    result = cover(CoverRun(
        model=args.model, index=args.index, output_dir=args.output_dir, song=args.song, vocals=args.vocals,
        instrumental=args.instrumental, separator_model=args.separator_model,
        backing_model=args.backing_model if args.split_backing else None,
        dereverb_model=args.dereverb_model if args.dereverb else None, separator_dir=args.separator_dir,
        cache_dir=args.cache_dir, pitch_all=args.pitch_all, vocal_gain=args.vocal_gain,
        instrumental_gain=args.instrumental_gain, backing_gain=args.backing_gain, name=args.name, format=args.format,
        config=config_from_args(args, "wav"),
    ))
    for name, path in result.stems.items():
        print(f"{name}: {path}")
    print(f"mix: {result.mix}")
    return 0

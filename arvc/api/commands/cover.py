"""``arvc cover SONG -m model.pth``: a song cover. Separates the vocal (audio-separator; UVR/MDX/Roformer
models downloaded on first use into the models folder), converts the lead vocal, mixes it back over the
instrumental. ``--vocals``/``--instrumental`` use stems you already have. Every ``arvc infer`` flag applies
to the vocal conversion (pitch, index, effects ...)."""

from __future__ import annotations

import argparse

from arvc.api.argtypes import add_bool
from arvc.api.conversion_args import add_conversion_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from arvc.audio.separation import DEFAULT_BACKING_MODEL, DEFAULT_DEREVERB_MODEL, DEFAULT_VOCAL_MODEL

    p = parser
    p.add_argument("song", nargs="?", default=None, help="the song (any audio format); omit with --vocals/--instrumental")
    p.add_argument("--vocals", default=None, help="vocal stem you already have (no separation)")
    p.add_argument("--instrumental", default=None, help="instrumental stem you already have (with --vocals)")
    p.add_argument("-o", "--output_dir", default="covers", help="folder for the mix and every stem (default ./covers)")
    p.add_argument("--name", default=None, help="file name prefix (default: the song's name)")
    p.add_argument("--separator_model", default=DEFAULT_VOCAL_MODEL,
                   help=f"audio-separator model that splits vocals / instrumental (default {DEFAULT_VOCAL_MODEL})")
    add_bool(p, "--split_backing", False, f"also split lead and backing vocals (--backing_model, default "
                                          f"{DEFAULT_BACKING_MODEL}); only the lead is converted")
    p.add_argument("--backing_model", default=DEFAULT_BACKING_MODEL, help="model of --split_backing")
    add_bool(p, "--dereverb", False, f"remove the lead vocal's reverb/echo before conversion (--dereverb_model, "
                                     f"default {DEFAULT_DEREVERB_MODEL})")
    p.add_argument("--dereverb_model", default=DEFAULT_DEREVERB_MODEL, help="model of --dereverb")
    p.add_argument("--separator_dir", default=None,
                   help="audio-separator's model folder (default $ARVC_MODELS_DIR/audio-separator)")
    p.add_argument("--cache_dir", default=None, help="stem cache (default $ARVC_MODELS_DIR/cover_cache)")
    add_bool(p, "--pitch_all", False, "shift the instrumental and backing vocals by --pitch too (keeps the song in tune)")
    p.add_argument("--vocal_gain", type=float, default=0.0, help="dB applied to the converted vocal in the mix")
    p.add_argument("--instrumental_gain", type=float, default=0.0, help="dB applied to the instrumental in the mix")
    p.add_argument("--backing_gain", type=float, default=0.0, help="dB applied to the backing vocals in the mix")
    add_conversion_arguments(p, exclude=("input", "output", "skip_existing", "quiet", "format"))
    p.add_argument("--format", choices=("wav", "flac", "ogg"), default="wav", help="format of the mix and stems")


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

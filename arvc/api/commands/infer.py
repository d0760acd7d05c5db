"""``arvc infer -m model.pth [--index model.index] -i input(s) -o output``: voice conversion."""

from __future__ import annotations

import argparse
import sys

from arvc.api.conversion_args import effects_from_args, pitch_settings
from arvc.api.options import INFER
from arvc.inference.config import InferenceConfig


def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    from pathlib import Path

    if args.output and len(args.input) == 1 and Path(args.input[0]).is_file():
        suffix = Path(args.output).suffix.lower().lstrip(".")
        if suffix in ("wav", "flac", "mp3", "ogg"):
            return suffix
    return "wav"


def config_from_args(args: argparse.Namespace, export_format: str):
    """The :class:`InferenceConfig` of the conversion flags (shared by infer, tts and cover)."""
    kwargs = {**INFER.config_kwargs(args), **pitch_settings(args)}
    return InferenceConfig(**kwargs, effects=effects_from_args(args), export_format=export_format)


def run(args: argparse.Namespace) -> int:
    import os

    # oneDNN caches compiled kernels per input shape. The decoder runs in fixed 250-frame tiles (a few shapes),
    # but the encoder and embedder see every chunk's own length: 256 primitives hold the tiles' kernels
    # without growing by a chunk's worth each time.
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")
    from arvc.stages.infer import InferRun, infer

    cfg = config_from_args(args, _format_of(args))
    result = infer(InferRun(model=args.model, inputs=args.input, output=args.output, index=args.index, config=cfg,
                            skip_existing=args.skip_existing, quiet=args.quiet))
    for path in result.converted:
        print(path)
    for _, msg in result.failed:
        print(f"error: {msg}", file=sys.stderr)
    if result.failed:
        print(f"{len(result.failed)} of {len(result.failed) + len(result.converted)} file(s) failed", file=sys.stderr)
        return 1
    return 0

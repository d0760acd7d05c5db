"""``arvc infer -m model.pth [--index model.index] -i input(s) -o output``: voice conversion."""

from __future__ import annotations

import argparse
import sys

from arvc.api.options import INFER


def add_arguments(parser: argparse.ArgumentParser) -> None:
    INFER.add_arguments(parser)

def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    from pathlib import Path

    if args.output and len(args.input) == 1 and Path(args.input[0]).is_file():
        suffix = Path(args.output).suffix.lower().lstrip(".")
        if suffix in ("wav", "flac", "mp3", "ogg"):
            return suffix
    return "wav"


def run(args: argparse.Namespace) -> int:
    import os

    # oneDNN caches compiled kernels per input shape; every chunk of a long file has its own length, so the
    # default cache (1024 primitives, each with its buffers) grows by hundreds of MB per chunk. Keep it small.
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
    from arvc.inference.config import InferenceConfig
    from arvc.stages.infer import InferRun, infer

    cfg = InferenceConfig(**INFER.config_kwargs(args), export_format=_format_of(args))
    result = infer(InferRun(model=args.model, inputs=args.input, output=args.output, index=args.index, config=cfg))
    for path in result.converted:
        print(path)
    for _, msg in result.failed:
        print(f"error: {msg}", file=sys.stderr)
    if result.failed:
        print(f"{len(result.failed)} of {len(result.failed) + len(result.converted)} file(s) failed", file=sys.stderr)
        return 1
    return 0

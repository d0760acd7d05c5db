"""``arvc model-merge a.pth b.pth -o out.pth --ratio 0.5``: weighted average of two compatible models."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Both models need the same version, pitch guidance, vocoder, sample rate and layer sizes. "
                     "Speaker tables may differ in size: the result keeps the first min(n_A, n_B) speakers, "
                     "speaker i being the average of speaker i of both models (RVC WebUI's rule).")
    parser.add_argument("model_a", type=Path, help="first model (.pth)")
    parser.add_argument("model_b", type=Path, help="second model (.pth), same architecture as the first")
    parser.add_argument("-o", "--output", type=Path, required=True, help="merged model to write (.pth or .safetensors)")
    parser.add_argument("--ratio", type=float, default=0.5,
                        help="weight of model_a in 0..1 (result = ratio*A + (1-ratio)*B; default 0.5)")
    parser.add_argument("--name", default=None, help="model_name stored in the file (default: output file name)")
    parser.add_argument("--author", default=None, help="author stored in the file")


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.formats.merge import MergeConfig, merge_models

    if not 0.0 <= args.ratio <= 1.0:
        raise ArvcError(f"--ratio must be between 0 and 1, got {args.ratio}")
    cfg = MergeConfig(args.model_a, args.model_b, args.output, args.ratio, args.name, args.author)
    try:
        out = merge_models(cfg)
    except OSError as e:
        if e.filename and Path(e.filename) in (args.model_a, args.model_b):
            raise ArvcError(f"cannot read {e.filename}: {e.strerror or e}") from None
        raise ArvcError(f"cannot write {args.output}: {e.strerror or e}") from None
    print(f"wrote {out} ({args.ratio:g} x {args.model_a} + {1 - args.ratio:g} x {args.model_b})")
    return 0

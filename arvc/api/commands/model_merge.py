"""``arvc model-merge a.pth b.pth -o out.pth --ratio 0.5``: weighted average of two compatible models."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from arvc.api.options_tools import MODEL_MERGE


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.formats.merge import merge_models
    from arvc.stages.config import MergeConfig

    args.model_a, args.model_b, args.output = Path(args.model_a), Path(args.model_b), Path(args.output)
    cfg = MergeConfig(**MODEL_MERGE.config_kwargs(args))
    try:
        out = merge_models(**asdict(cfg))
    except OSError as e:
        if e.filename and Path(e.filename) in (args.model_a, args.model_b):
            raise ArvcError(f"cannot read {e.filename}: {e.strerror or e}") from None
        raise ArvcError(f"cannot write {args.output}: {e.strerror or e}") from None
    print(f"wrote {out} ({args.ratio:g} x {args.model_a} + {1 - args.ratio:g} x {args.model_b})")
    return 0

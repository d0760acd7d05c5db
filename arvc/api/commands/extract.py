"""``arvc extract <model>``: F0 and content features of the preprocessed chunks (flags as Applio), whole or one
``--shard I/N`` of them."""

from __future__ import annotations

import argparse

from arvc.api.options import EXTRACT


def run(args: argparse.Namespace) -> int:
    from arvc.stages.extract import ExtractConfig, extract

    result = extract(ExtractConfig(**EXTRACT.config_kwargs(args)))
    counts = (f"{result.chunks} chunks ({result.f0_computed} F0 and {result.features_computed} feature files "
              f"computed, the rest reused)")
    left_out = f"; {len(result.skipped)} chunk(s) left out" if result.skipped else ""
    if args.shard:
        print(f"{result.paths.root}: shard {args.shard}: {counts}{left_out}; once every shard is done, "
              f"`arvc extract {args.model_name}` without --shard writes {result.paths.filelist.name}")
        return 0
    print(f"{result.paths.root}: {counts}, {result.content_dim}-dim features, "
          f"{result.filelist_lines} lines in {result.paths.filelist.name}{left_out}")
    return 0

"""``arvc extract <model>``: F0 and content features of the preprocessed chunks (flags as Applio)."""

from __future__ import annotations

import argparse

from arvc.api.options import EXTRACT


def run(args: argparse.Namespace) -> int:
    from arvc.stages.extract import ExtractConfig, extract

    result = extract(ExtractConfig(**EXTRACT.config_kwargs(args)))
    print(
        f"{result.paths.root}: {result.chunks} chunks ({result.f0_computed} F0 and {result.features_computed} "
        f"feature files computed, the rest reused), {result.content_dim}-dim features, "
        f"{result.filelist_lines} lines in {result.paths.filelist.name}"
        + (f"; {len(result.skipped)} chunk(s) left out" if result.skipped else "")
    )
    return 0

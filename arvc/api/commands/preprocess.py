"""``arvc preprocess <model>``: slice a dataset folder into training chunks (flags as Advanced-RVC-Inference)."""

from __future__ import annotations

import argparse

from arvc.api.options import PREPROCESS


def run(args: argparse.Namespace) -> int:
    from arvc.stages.preprocess import PreprocessConfig, format_duration, preprocess

    result = preprocess(PreprocessConfig(**PREPROCESS.config_kwargs(args)))
    print(
        f"{result.paths.root}: {result.chunk_count} chunks from {result.files_used} of {result.files_found} files "
        f"({format_duration(result.total_seconds)}, {len(result.speakers)} speaker(s)); "
        f"{len(result.unreadable)} unreadable, {len(result.without_chunks)} without chunks"
    )
    return 0

"""``arvc create-index <model>``: build the FAISS retrieval index of an extracted experiment."""

from __future__ import annotations

import argparse

from arvc.api.options import CREATE_INDEX


def run(args: argparse.Namespace) -> int:
    from arvc.stages.create_index import CreateIndexConfig, create_index

    out = create_index(CreateIndexConfig(**CREATE_INDEX.config_kwargs(args)))
    print(out)
    return 0

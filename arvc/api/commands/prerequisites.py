"""``arvc prerequisites``: fetch what the defaults need in one go (RMVPE, ContentVec, the standard pretrains),
so a machine can work offline later."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    from arvc.paths import models_root
    from arvc.stages.library import prerequisites

    items = prerequisites(sample_rates=args.sample_rates, versions=args.versions, embedders=args.embedders,
                          rmvpe=args.rmvpe, f0_weights=args.f0_weights, pretrains=args.pretrains, no_f0_pretrains=args.no_f0_pretrains,
                          check=args.check, catalog_url=args.catalog_url)
    print(f"models folder: {models_root()}")
    width = max((len(i.what) for i in items), default=0)
    for i in items:
        print(f"  {i.what.ljust(width)}  {i.status:<10}  {i.detail or i.path}")
    bad = [i for i in items if i.status in ("failed", "missing")]
    if bad and not args.check:
        print(f"error: {len(bad)} of {len(items)} could not be fetched (see above)", file=sys.stderr)
    return 1 if bad else 0

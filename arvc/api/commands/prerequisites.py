"""``arvc prerequisites``: fetch what the defaults need in one go (RMVPE, ContentVec, the standard pretrains),
so a machine can work offline later."""

from __future__ import annotations

import argparse
import sys

from arvc.constants import SAMPLE_RATES, VERSIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from arvc.api.argtypes import add_bool

    parser.add_argument("--sample_rates", type=int, nargs="+", default=[40000], choices=SAMPLE_RATES,
                        help="pretrain sample rates (default 40000)")
    parser.add_argument("--versions", nargs="+", default=["v2"], choices=VERSIONS, help="pretrain versions (default v2)")
    parser.add_argument("--embedders", nargs="*", default=["contentvec"], help="embedders to fetch (default contentvec)")
    add_bool(parser, "--rmvpe", True, "fetch the RMVPE pitch weights (default true)")
    add_bool(parser, "--pretrains", True, "fetch the standard pretrains (default true)")
    add_bool(parser, "--no_f0_pretrains", False, "also the pretrains of models without pitch guidance")
    parser.add_argument("--check", action="store_true", help="only show what is there and what is missing")
    parser.add_argument("--catalog_url", default=None, help="pretrain catalog URL (default $ARVC_CATALOG_URL)")


def run(args: argparse.Namespace) -> int:
    from arvc.paths import models_root
    from arvc.stages.library import prerequisites

    items = prerequisites(sample_rates=args.sample_rates, versions=args.versions, embedders=args.embedders,
                          rmvpe=args.rmvpe, pretrains=args.pretrains, no_f0_pretrains=args.no_f0_pretrains,
                          check=args.check, catalog_url=args.catalog_url)
    print(f"models folder: {models_root()}")
    width = max((len(i.what) for i in items), default=0)
    for i in items:
        print(f"  {i.what.ljust(width)}  {i.status:<10}  {i.detail or i.path}")
    bad = [i for i in items if i.status in ("failed", "missing")]
    if bad and not args.check:
        print(f"error: {len(bad)} of {len(items)} could not be fetched (see above)", file=sys.stderr)
    return 1 if bad else 0

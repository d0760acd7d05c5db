"""``arvc download model URL`` / ``arvc download pretrain NAME`` / ``arvc download f0 NAME...``: fill the models
folder from the internet."""

from __future__ import annotations

import argparse


def _catalog_table(entries) -> str:
    from arvc.library.catalog import Pretrain

    def row(e: Pretrain):
        rates = ",".join(f"{r // 1000}k" for r in e.sample_rates)
        local = ",".join(f"{r // 1000}k" for r in e.sample_rates if e.is_local(r)) or "-"
        return (e.id, e.name, e.version, "yes" if e.f0 else "no", rates, local, e.author)

    head = ("id", "name", "ver", "f0", "rates", "downloaded", "author")
    rows = [head, *map(row, entries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError

    if args.what == "model":
        from arvc.stages.library import download_model

        for v in download_model(args.url, args.name, max_size=args.max_size, sha256=args.sha256):
            print(f"{v.name}: {v.model_path}" + (f" + {v.index_file}" if v.index_file else " (no index)")
                  + f"  {(v.sample_rate or 0) // 1000}k {v.version} {v.vocoder}")
        return 0
    if args.what == "f0":
        from arvc.library.f0_weights import F0_WEIGHTS

        unknown = [n for n in args.names if n not in F0_WEIGHTS]
        if unknown:
            raise ArvcError(f"download f0: no downloadable weights for {', '.join(unknown)}; choices: {', '.join(F0_WEIGHTS)}")
        for name in args.names:
            entry = F0_WEIGHTS[name]
            present = entry.present()
            print(f"{name}: {present or entry.fetch()}" + ("  (already there)" if present else "")
                  + f"  from {entry.source}; licence: {entry.licence}")
        return 0
    from arvc.library.catalog import load_catalog

    if args.list:
        print(_catalog_table(load_catalog(args.catalog_url)))
        return 0
    if not args.name:
        raise ArvcError("download pretrain: name a catalog entry (see `arvc download pretrain --list`)")
    from arvc.stages.library import download_pretrain

    for sr, g, d in download_pretrain(args.name, args.sample_rate, catalog_url=args.catalog_url):
        print(f"{args.name} {sr}: {g}  {d}")
    return 0

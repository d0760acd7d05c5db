"""``arvc evaluate``: score conversions (-i) against target references, or rank a run's epochs (--model_dir)."""

from __future__ import annotations

import argparse
from pathlib import Path

from arvc.api.options_tools import EVALUATE


def _paths(values) -> list[Path]:
    return [Path(v) for v in values or []]


def _maybe_path(value) -> Path | None:
    return Path(value) if value else None


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.evaluation.report import render_table

    if args.model_dir is not None:
        from arvc.stages.rank_epochs import RankConfig, rank_epochs

        res = rank_epochs(RankConfig(
            model_dir=Path(args.model_dir), clips=_paths(args.clips), references=_paths(args.reference),
            text=_maybe_path(args.text), pitch=args.pitch, index=_maybe_path(args.index),
            f0_method=args.f0_method_convert, embedder_model=args.embedder_model, embedder_path=args.embedder_path,
            output_dir=_maybe_path(args.output_dir), score_f0_method=args.f0_method, asr=args.asr, mos=args.mos,
            last=args.last,
        ))
        print(res.table)
        print(f"ranking written to {res.json_path}")
        return 0
    if not args.input:
        raise ArvcError("evaluate needs -i/--input (converted audio) or --model_dir")
    from arvc.stages.evaluate import EvaluateConfig, evaluate

    kwargs = EVALUATE.config_kwargs(args)
    kwargs.update(inputs=_paths(args.input), references=_paths(args.reference), sources=_paths(args.source),
                  text=_maybe_path(args.text))
    if args.output_dir:
        kwargs["output_dir"] = Path(args.output_dir)
    res = evaluate(EvaluateConfig(**kwargs), progress=lambda f: print(f"scoring {f}", flush=True))
    for m in res.messages:
        print(f"note: {m}")
    print(render_table(res.rows, res.mean))
    print(f"scores written to {res.json_path} and {res.csv_path}")
    return 1 if res.failed else 0

"""``arvc evaluate``: score conversions (-i) against target references, or rank a run's epochs (--model_dir)."""

from __future__ import annotations

import argparse
from pathlib import Path

from arvc.api.argtypes import add_bool


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--input", nargs="+", type=Path, help="converted files or folders to score")
    p.add_argument("-r", "--reference", nargs="+", type=Path, default=[], help="recordings of the target speaker")
    p.add_argument("-s", "--source", nargs="+", type=Path, default=[], help="the unconverted inputs (matched by file stem)")
    p.add_argument("-t", "--text", type=Path, help="transcripts: folder of <stem>.txt, 'stem|text' lines, or numbered sentences")
    p.add_argument("--pitch", type=float, default=0.0, help="semitones the conversion applied")
    p.add_argument("-o", "--output_dir", type=Path, default=Path("eval"), help="where scores.json/csv and plots go")
    p.add_argument("--f0_method", default="fcpe", help="F0 method used to compare pitch tracks")
    add_bool(p, "--asr", True, "transcribe and compute CER when text is given")
    add_bool(p, "--mos", True, "DNSMOS predicted quality")
    add_bool(p, "--plots", True, "write a spectrogram/F0 PNG per file")
    p.add_argument("--model_dir", type=Path, help="rank every saved weights file of a training run (logs/<model>)")
    p.add_argument("--clips", nargs="+", type=Path, default=[], help="clips converted with each epoch (--model_dir)")
    p.add_argument("--index", type=Path, help="index used for --model_dir conversions (default: the run's)")
    p.add_argument("--f0_method_convert", default="rmvpe", help="F0 method for --model_dir conversions")
    p.add_argument("--embedder_model", default=None, help="embedder for --model_dir conversions (default: the model's)")
    p.add_argument("--embedder_path", default=None)
    p.add_argument("--last", type=int, default=None, help="rank only the last N saved weights files (--model_dir)")


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.evaluation.report import render_table

    if args.model_dir is not None:
        from arvc.stages.rank_epochs import RankConfig, rank_epochs

        res = rank_epochs(RankConfig(
            model_dir=args.model_dir, clips=args.clips, references=args.reference, text=args.text,
            pitch=args.pitch, index=args.index, f0_method=args.f0_method_convert,
            embedder_model=args.embedder_model, embedder_path=args.embedder_path,
            output_dir=args.output_dir if args.output_dir != Path("eval") else None,
            score_f0_method=args.f0_method, asr=args.asr, mos=args.mos, last=args.last,
        ))
        print(res.table)
        print(f"ranking written to {res.json_path}")
        return 0
    if not args.input:
        raise ArvcError("evaluate needs -i/--input (converted audio) or --model_dir")
    from arvc.stages.evaluate import EvaluateConfig, evaluate

    res = evaluate(EvaluateConfig(
        inputs=args.input, references=args.reference, sources=args.source, text=args.text,
        pitch=args.pitch, output_dir=args.output_dir, f0_method=args.f0_method,
        asr=args.asr, mos=args.mos, plots=args.plots,
    ), progress=lambda f: print(f"scoring {f}", flush=True))
    for m in res.messages:
        print(f"note: {m}")
    print(render_table(res.rows, res.mean))
    print(f"scores written to {res.json_path} and {res.csv_path}")
    return 1 if res.failed else 0

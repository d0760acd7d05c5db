"""``arvc audio-analyzer FILE``: duration, sample rate, loudness, F0 range and a spectrogram PNG."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="audio file")
    parser.add_argument("--plot", default=None,
                        help="spectrogram PNG to write (default <input name>_analysis.png beside the input)")
    parser.add_argument("--f0_method", default="pm", help="pitch estimator for the F0 range (default pm)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from arvc.audio.analysis import analyze, plot_analysis

    result, arrays = analyze(args.input, f0_method=args.f0_method)
    src = Path(args.input)
    png = plot_analysis(result, arrays, args.plot or src.with_name(f"{src.stem}_analysis.png"))
    if args.json:
        print(json.dumps({**result.to_dict(), "plot": str(png)}, indent=2))
    else:
        print(result.format())
        print(f"spectrogram:     {png}")
    return 0

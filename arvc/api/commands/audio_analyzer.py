"""``arvc audio-analyzer FILE``: duration, sample rate, loudness, F0 range and a spectrogram PNG."""

from __future__ import annotations

import argparse
import json


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

"""``arvc tts "text" -m model.pth -o out.wav``: text to speech (espeak-ng offline, edge-tts online), then
conversion with the voice model. Every ``arvc infer`` conversion flag applies."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from arvc.api.commands.infer import config_from_args
    from arvc.stages.tts import TtsRun, read_text, tts

    suffix = Path(args.output).suffix.lower().lstrip(".")
    fmt = args.format or (suffix if suffix in ("wav", "flac", "mp3", "ogg") else "wav")
    result = tts(TtsRun(text=read_text(args.text, args.tts_file), model=args.model, output=args.output,
                        index=args.index, engine=args.tts_engine, voice=args.tts_voice, rate=args.tts_rate,
                        output_tts=args.output_tts, config=config_from_args(args, fmt)))
    if result.tts_audio:
        print(result.tts_audio)
    print(result.output)
    return 0

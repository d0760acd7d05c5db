"""``arvc tts "text" -m model.pth -o out.wav``: text to speech (espeak-ng offline, edge-tts online), then
conversion with the voice model. Every ``arvc infer`` conversion flag applies."""

from __future__ import annotations

import argparse

from arvc.api.conversion_args import add_conversion_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.add_argument("text", nargs="?", default=None, help="what to say (or --tts_file)")
    p.add_argument("--tts_file", default=None, help="UTF-8 text file to say (used instead of the text when given)")
    p.add_argument("--tts_engine", choices=("auto", "espeak", "edge"), default="auto",
                   help="espeak: espeak-ng, offline; edge: Microsoft Edge voices via edge-tts, online (Applio's); "
                        "auto (default): edge for an Edge voice name like en-US-AriaNeural, else espeak")
    p.add_argument("--tts_voice", default=None,
                   help="voice: espeak-ng's (en-us, de, fr, en+f3 ...; espeak-ng --voices) or Edge's (en-US-AriaNeural)")
    p.add_argument("--tts_rate", type=int, default=0, help="speaking rate -100..100, percent slower/faster (default 0)")
    p.add_argument("-o", "--output", required=True, help="converted speech file (.wav/.flac/.mp3/.ogg)")
    p.add_argument("--output_tts", default=None, help="also keep the plain TTS audio here")
    add_conversion_arguments(p)


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

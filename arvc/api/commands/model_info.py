"""``arvc model-info <model.pth>``: print what a model file holds."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="RVC inference model (.pth from arvc/Applio/RVC WebUI, or arvc .safetensors), "
                        "a so-vits-svc voice (folder, or G_*.pth with config.json beside it); "
                        "other G_/D_ checkpoints are summarised too")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    from arvc.formats.summary import describe_file, format_description

    info = describe_file(args.model)
    print(json.dumps(info, indent=2, ensure_ascii=False) if args.json else format_description(info))
    return 0

"""``arvc model-info <model.pth>``: print what a model file holds."""

from __future__ import annotations

import argparse
import json


def run(args: argparse.Namespace) -> int:
    from arvc.formats.summary import describe_file, format_description

    info = describe_file(args.model)
    print(json.dumps(info, indent=2, ensure_ascii=False) if args.json else format_description(info))
    return 0

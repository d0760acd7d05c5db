"""``arvc models list|info|add|remove``: the voices of the models folder ($ARVC_MODELS_DIR/voices)."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="action")
    p = sub.add_parser("list", help="a table of the library's voices")
    p.add_argument("--json", action="store_true", help="one JSON list instead of the table")
    p = sub.add_parser("info", help="info.json and the model summary of one voice")
    p.add_argument("name")
    p = sub.add_parser("add", help="add an experiment folder (logs/my_model), a model file or a so-vits-svc voice "
                       "(folder or .zip) to the library")
    p.add_argument("source", help="experiment folder (picks <model>.pth or the newest <model>_<E>e_<S>s.pth and "
                   "the .index), a .pth/.safetensors model file, or a so-vits-svc voice folder / .zip "
                   "(G_*.pth + config.json, optional kmeans*.pt / .index)")
    p.add_argument("--name", default=None, help="voice name (default: the folder or model name)")
    p.add_argument("--weights", default=None, help="the weights file to take from the experiment folder")
    p.add_argument("--index", default=None, help="index file to go with a model file")
    p = sub.add_parser("remove", help="delete a voice from the library")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask (required when there is no terminal)")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def format_table(voices) -> str:
    head = ("name", "rate", "ver", "vocoder", "f0", "index", "size", "source")
    rows = [(v.name, f"{(v.sample_rate or 0) // 1000}k", v.version or "-", v.vocoder or "-",
             "yes" if v.f0 else "no", "yes" if v.index_file else "no", _size(v.size_bytes), v.source or "-")
            for v in voices]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + str(r[-1]) for r in [head, *rows])


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.library import models_dir

    if args.action == "list":
        voices = models_dir.list_voices()
        if args.json:
            print(json.dumps([v.to_dict() for v in voices], indent=2, ensure_ascii=False))
        elif not voices:
            print(f"no voices in {models_dir.voices_root()} (add one: `arvc models add logs/<model>` or "
                  "`arvc download model URL`)")
        else:
            print(format_table(voices))
        return 0
    if args.action == "info":
        from arvc.formats.summary import describe_model, describe_sovits, format_description

        v = models_dir.read_voice(args.name)
        print(json.dumps(v.to_dict(), indent=2, ensure_ascii=False))
        described = describe_sovits(v.folder) if v.family == "so-vits-svc" else describe_model(v.model_path)
        print(format_description(described))
        return 0
    if args.action == "add":
        from pathlib import Path

        from arvc.stages.library import add_experiment, add_files

        from arvc.library.sovits_voice import add_sovits_voice, is_sovits_source

        src = Path(args.source)
        if is_sovits_source(src):
            v = add_sovits_voice(src, name=args.name)
        elif src.is_dir():
            v = add_experiment(src, args.name, args.weights)
        else:
            v = add_files(src, args.index, args.name)
        print(f"added {v.name}: {v.model_path}" + (f" + {v.index_path.name}" if v.index_file else " (no index)"))
        return 0
    v = models_dir.read_voice(args.name)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ArvcError(f"models remove {args.name}: no terminal to confirm on; pass --yes")
        answer = input(f"delete {v.folder} ({_size(v.size_bytes)})? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("kept")
            return 1
    models_dir.remove_voice(args.name)
    print(f"removed {args.name}")
    return 0

"""``arvc models list|info|add|remove``: the voices of the models folder ($ARVC_MODELS_DIR/voices)."""

from __future__ import annotations

import argparse
import json
import sys


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def format_table(voices) -> str:
    head = ("name", "rate", "ver", "vocoder", "f0", "index", "size", "source")
    rows = [(v.name, f"{(v.sample_rate or 0) // 1000}k", v.version or "-", v.vocoder or "-",
             "yes" if v.f0 else "no", "yes" if v.index_file else "no", _size(v.size_bytes), v.source or "-")
            for v in voices]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + str(r[-1]) for r in [head, *rows])


def _zip_has_config(path) -> bool:
    """Whether a zip holds a ``config.json`` (a so-vits-svc voice; RVC zips hold only models and indexes)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return any(n.rsplit("/", 1)[-1] == "config.json" for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return True  # the so-vits reader names the file and the problem


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

        from arvc import events
        from arvc.library.sovits_voice import add_sovits_voice, is_sovits_source
        from arvc.stages.library import add_experiment, add_files, add_upload

        src = Path(args.source)
        if is_sovits_source(src) and (src.is_dir() or _zip_has_config(src)):
            added = [add_sovits_voice(src, name=args.name)]
        elif src.is_dir():
            added = [add_experiment(src, args.name, args.weights)]
        elif src.suffix.lower() in (".zip", ".index"):  # RVC models and indexes, judged by their content
            added = add_upload(src, args.name)
        else:
            added = [add_files(src, args.index, args.name)]
        for v in added:
            events.artifact("model", v.model_path, name=v.name)
            print(f"added {v.name}: {v.model_path}" + (f" + {v.index_path.name}" if v.index_file else " (no index)"))
        return 0
    folder = models_dir.voice_dir(args.name)
    if not (folder / models_dir.INFO_FILE).is_file():
        raise ArvcError(f"no voice {args.name!r} in {models_dir.voices_root()} (see `arvc models list`)")
    if not args.yes:
        if not sys.stdin.isatty():
            raise ArvcError(f"models remove {args.name}: no terminal to confirm on; pass --yes")
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        answer = input(f"delete {folder} ({_size(size)})? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("kept")
            return 1
    models_dir.remove_voice(args.name)
    print(f"removed {args.name}")
    return 0

"""Where each command's option table lives, and :func:`argv_for`: the one way to write an ``arvc`` command line
from values (the web UI builds every job's argv with it).

Tables are imported on first use, so ``infer`` never loads ``train``'s table (it reads arvc.training's config).
"""

from __future__ import annotations

import importlib
from typing import Any

from arvc.api.optionspec import CommandOptions, opt

# command -> "module:TABLE"
TABLES: dict[str, str] = {
    "preprocess": "arvc.api.options:PREPROCESS",
    "extract": "arvc.api.options:EXTRACT",
    "create-index": "arvc.api.options:CREATE_INDEX",
    "train": "arvc.api.options_train:TRAIN",
    "infer": "arvc.api.options:INFER",
    "model-info": "arvc.api.options_tools:MODEL_INFO",
    "model-merge": "arvc.api.options_tools:MODEL_MERGE",
    "export-onnx": "arvc.api.options_tools:EXPORT_ONNX",
    "evaluate": "arvc.api.options_tools:EVALUATE",
    "realtime": "arvc.api.options:REALTIME",
    "quickstart": "arvc.api.options_tools:QUICKSTART",
    "ui": "arvc.api.options_tools:UI",
    "prerequisites": "arvc.api.options_tools:PREREQUISITES",
    "download": "arvc.api.options_tools:DOWNLOAD",
    "models": "arvc.api.options_tools:MODELS",
    "pretrain": "arvc.api.options_tools:PRETRAIN",
    "tts": "arvc.api.options:TTS",
    "cover": "arvc.api.options:COVER",
    "audio-analyzer": "arvc.api.options_tools:AUDIO_ANALYZER",
    "tensorboard": "arvc.api.options_tools:TENSORBOARD",
}

# every command's global option (arvc.api.cli adds it to each parser; arvc.events reads it)
EVENTS = opt("--events", metavar="PATH", field=None, ui=False,
             help="also write progress, metrics, results and errors as JSON lines to PATH (or fd:N, an open file "
                  "descriptor); schema: ARCHITECTURE.md")


def table(command: str) -> CommandOptions:
    """The option table of ``command``; ``"download model"`` names a subcommand's."""
    first, *rest = command.split()
    module, name = TABLES[first].split(":")
    found: CommandOptions = getattr(importlib.import_module(module), name)
    for word in rest:
        found = found.sub(word)
    return found


def argv_for(command: str, values: dict[str, Any] | None = None) -> list[str]:
    """``arvc`` argv (without the program) of ``command`` with ``values`` (``{dest: value}``; None or "" = the
    default): ``argv_for("model-merge", {"model_a": a, "model_b": b, "output": o})``."""
    return [*command.split(), *table(command).to_argv(values or {})]

"""Applio's command line (``python core.py <mode> --flag value ...``, Applio 3.6.4) translated to arvc's.

:func:`translate` rewrites an argv before arvc parses it: Applio's mode names become arvc commands and
Applio's flags become arvc flags (``--pth_path`` -> ``--model``, ``--model_name X`` -> positional ``X``,
``--export_format WAV`` -> ``--format wav``, ...). Flags with the same name and meaning in both pass through
unchanged. Every Applio flag is matched in both spellings (``--pth_path`` and ``--pth-path``). When a
command line uses Applio's mode name or an Applio-only flag, Applio's CLI defaults that differ from arvc's
(``--index_rate 0.3``, ``--protect 0.33``) are applied unless given, so a script gets Applio's settings.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

Rule = str | Callable[[str], list[str]] | int  # arvc flag | value -> argv tokens | positional slot


def _positional(slot: int) -> int:
    return slot


def _fmt(value: str) -> list[str]:
    return ["--format", value.lower()]


def _index(value: str) -> list[str]:
    value = value.strip().strip('"')
    return ["--index", value] if value else []


def _gpu(value: str) -> list[str]:
    return [] if value.strip() in ("", "-") else ["--gpu", value]


def _blend_output(name: str) -> list[str]:
    from arvc.paths import logs_root

    return ["-o", os.path.join(logs_root(), f"{name}.pth"), "--name", name]


def _ignored(flag: str, why: str) -> Callable[[str], list[str]]:
    def rule(value: str) -> list[str]:
        print(f"note: Applio's {flag} {value} is ignored: {why}", file=sys.stderr)
        return []

    return rule


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "y", "on", "t")


def _pretrained(value: str) -> list[str]:
    """Applio's ``--pretrained True|False`` (use the standard pretrains or not); any other value is arvc's
    ``--pretrained NAME`` (a catalog pretrain)."""
    if value.strip().lower() in ("1", "true", "yes", "y", "on", "t"):
        return []  # arvc trains on the catalog's standard pretrain by default
    if value.strip().lower() in ("0", "false", "no", "n", "off", "f"):
        return ["--from_scratch"]
    return ["--pretrained", value]


_CONVERSION: dict[str, Rule] = {
    "pth_path": "--model",
    "index_path": _index,
    "embedder_model_custom": "--embedder_path",
    "export_format": _fmt,
}

# Applio flags that arvc's own commands also accept: they alone don't make a command line Applio's.
_SHARED = {"index_path", "embedder_model_custom", "export_format", "gpu", "g_pretrained_path", "d_pretrained_path",
           "total_epoch", "save_every_epoch", "cut_preprocess", "normalization_mode"}

_APPLIO_DEFAULTS = {"--index_rate": "0.3", "--protect": "0.33"}


@dataclass(frozen=True)
class Mode:
    """One Applio mode: the arvc command it runs, its flag rules, and Applio defaults that differ from arvc's."""

    command: str
    rules: dict[str, Rule] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)


MODES: dict[str, Mode] = {
    "infer": Mode("infer", {**_CONVERSION, "input_path": "--input", "output_path": "--output"}, _APPLIO_DEFAULTS),
    "batch_infer": Mode("infer", {**_CONVERSION, "input_folder": "--input", "output_folder": "--output"},
                        _APPLIO_DEFAULTS),
    "tts": Mode("tts", {**_CONVERSION, "tts_text": _positional(0), "output_tts_path": "--output_tts",
                        "output_rvc_path": "--output"}, _APPLIO_DEFAULTS),
    "preprocess": Mode("preprocess", {"model_name": _positional(0), "cut_preprocess": "--cut_method",
                                      "noise_reduction_strength": "--clean_strength",
                                      "normalization_mode": "--normalization"}),
    "extract": Mode("extract", {"model_name": _positional(0), "embedder_model_custom": "--embedder_path",
                                "gpu": _gpu}),
    "train": Mode("train", {
        "model_name": _positional(0), "g_pretrained_path": "--pretrained_g", "d_pretrained_path": "--pretrained_d",
        "total_epoch": "--epochs", "save_every_epoch": "--save_every", "gpu": _gpu,
        "pretrained": _pretrained,
        "custom_pretrained": _ignored("--custom_pretrained", "give the pretrain files with --g_pretrained_path"),
        "cleanup": _ignored("--cleanup", "arvc resumes a run; delete logs/<model>/ to start over"),
        "index_algorithm": _ignored("--index_algorithm", "build the index with 'arvc create-index --algorithm'"),
    }),
    "index": Mode("create-index", {"model_name": _positional(0), "index_algorithm": "--algorithm"}),
    "model_information": Mode("model-info", {"pth_path": _positional(0)}),
    "model_blender": Mode("model-merge", {"pth_path_1": _positional(0), "pth_path_2": _positional(1),
                                          "model_name": _blend_output}),
    "tensorboard": Mode("tensorboard"),
    "download": Mode("download", {"model_link": lambda url: ["model", url]}),
    "prerequisites": Mode("prerequisites", {
        "pretraineds_hifigan": lambda v: ["--pretrains", v],
        "models": lambda v: [] if _truthy(v) else ["--rmvpe", "false", "--embedders"],
        "exe": _ignored("--exe", "arvc needs no Windows executables"),
    }),
    "audio_analyzer": Mode("audio-analyzer", {"input_path": _positional(0)}),
}

# Applio spells a command with '_' where arvc uses '-'; arvc's own names are kept as they are.
ALIASES = {name: mode.command for name, mode in MODES.items()}


def _split(token: str) -> tuple[str, str | None]:
    name, eq, value = token.partition("=")
    return name, (value if eq else None)


def translate(argv: list[str], arvc_commands: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Rewrite an Applio-style argv (``[mode, --flag, value, ...]``) into arvc's; arvc argv passes unchanged.

    ``arvc_commands``: arvc's own command names. ``infer``/``preprocess``/``extract``/``train``/``tts`` are
    both; their Applio flags are translated and their arvc flags pass through.
    """
    if not argv:
        return argv
    mode_name = argv[0].replace("-", "_")
    mode = MODES.get(mode_name)
    if mode is None:
        return argv
    applio_style = argv[0] not in arvc_commands
    out: list[str] = []
    positionals: dict[int, str] = {}
    tokens = argv[1:]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            out.extend(tokens[i:])
            break
        if not token.startswith("--"):
            out.append(token)
            i += 1
            continue
        name, value = _split(token)
        key = name[2:].replace("-", "_")
        rule = mode.rules.get(key)
        if rule is None:
            out.append(token)
            i += 1
            continue
        if value is None:
            if i + 1 >= len(tokens):
                out.append(token)  # let the parser report the missing value
                break
            value = tokens[i + 1]
            i += 1
        i += 1
        applio_style = applio_style or key not in _SHARED
        if isinstance(rule, int):
            positionals[rule] = value
        elif isinstance(rule, str):
            out.extend([rule, value])
        else:
            out.extend(rule(value))
    if applio_style:
        given = {"--" + _split(t)[0][2:].replace("-", "_") for t in out if t.startswith("--")}
        for flag, default in mode.defaults.items():
            if flag not in given:
                out.extend([flag, default])
    return [mode.command, *(positionals[k] for k in sorted(positionals)), *out]

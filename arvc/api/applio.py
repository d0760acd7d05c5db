"""Applio's command line (``python core.py <mode> --flag value ...``, Applio 3.6.4) translated to arvc's.

:func:`translate` rewrites an argv before arvc parses it: Applio's mode names become arvc commands and
Applio's flags become arvc flags (``--pth_path`` -> ``--model``, ``--model_name X`` -> positional ``X``, ...: the
``applio`` spellings of each command's option table; :data:`MODES` adds the rules a table cannot say). Flags with the same name and meaning in both pass through
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


# Applio spellings that only normalise a value: arvc's own command lines use them too, so they alone don't make a
# command line Applio's (nor do Applio flags that are arvc flags as well, e.g. --total_epoch).
_VALUE_ONLY = {"index_path", "embedder_model_custom"}

_APPLIO_DEFAULTS = {"--index_rate": "0.3", "--protect": "0.33"}


@dataclass(frozen=True)
class Mode:
    """One Applio mode: the arvc command it runs, the rules its option table cannot say (a value changed, a flag
    ignored, a subcommand), and Applio defaults that differ from arvc's. Plain renames (``--pth_path`` ->
    ``--model``, ``--model_name X`` -> positional ``X``) are the ``applio`` spellings of the command's table."""

    command: str
    rules: dict[str, Rule] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)


MODES: dict[str, Mode] = {
    "infer": Mode("infer", {"index_path": _index}, _APPLIO_DEFAULTS),
    "batch_infer": Mode("infer", {"index_path": _index}, _APPLIO_DEFAULTS),
    "tts": Mode("tts", {"index_path": _index}, _APPLIO_DEFAULTS),
    "preprocess": Mode("preprocess"),
    "extract": Mode("extract", {"gpu": _gpu}),
    "train": Mode("train", {
        "gpu": _gpu,
        "pretrained": _pretrained,
        "custom_pretrained": _ignored("--custom_pretrained", "give the pretrain files with --g_pretrained_path"),
        "cleanup": _ignored("--cleanup", "arvc resumes a run; delete logs/<model>/ to start over"),
        "index_algorithm": _ignored("--index_algorithm", "build the index with 'arvc create-index --algorithm'"),
    }),
    "index": Mode("create-index"),
    "model_information": Mode("model-info"),
    "model_blender": Mode("model-merge", {"model_name": _blend_output}),
    "tensorboard": Mode("tensorboard"),
    "download": Mode("download", {"model_link": lambda url: ["model", url]}),
    "prerequisites": Mode("prerequisites", {
        "pretraineds_hifigan": lambda v: ["--pretrains", v],
        "models": lambda v: [] if _truthy(v) else ["--rmvpe", "false", "--embedders"],
        "exe": _ignored("--exe", "arvc needs no Windows executables"),
    }),
    "audio_analyzer": Mode("audio-analyzer"),
}


def spellings(command: str) -> tuple[dict[str, Rule], set[str]]:
    """From ``command``'s option table: ``{Applio name: arvc flag or positional slot}`` and the names (``_``
    spelling, no dashes) that arvc's parser takes as they are."""
    from arvc.api.tables import table

    rules: dict[str, Rule] = {}
    accepted: set[str] = set()
    slot = 0
    for o in table(command).options:
        for name in o.applio:
            rules[name] = _positional(slot) if o.positional else o.flag
        slot += o.positional
        accepted |= {f[2:].replace("-", "_") for f in o.flags if f.startswith("--")}
    return rules, accepted


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
    renames, accepted = spellings(mode.command)
    rules = {**renames, **mode.rules}
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
        rule = rules.get(key)
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
        applio_style = applio_style or key not in accepted | _VALUE_ONLY
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

"""One option system: every command's parser, the Applio renames and the UI's command lines come from the option
tables; numbers are range-checked; no argparse private API; stage configs import without torch."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from arvc.api.cli import COMMANDS, build_parser, main
from arvc.api.optionspec import CommandOptions, Option
from arvc.api.tables import TABLES, argv_for, table

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "arvc"


def _tables() -> list[CommandOptions]:
    """Every command's table and every subcommand's."""
    out = []
    for command in COMMANDS:
        t = table(command)
        out += [t, *t.subcommands]
    return out


def _parser_of(t: CommandOptions) -> argparse.ArgumentParser:
    return build_parser(t.command)[0] if " " not in t.command else t.parser()


# ------------------------------------------------------------------------------------------------ tables
def test_every_command_has_a_table_of_options():
    assert set(TABLES) == set(COMMANDS)
    for command in COMMANDS:
        t = table(command)
        assert isinstance(t, CommandOptions) and t.command == command
        assert t.options or t.subcommands, command
        for s in [t, *t.subcommands]:
            assert all(isinstance(o, Option) for o in s.options), s.command
            assert all(o.help for o in s.options if not o.positional or o.help), s.command


def test_help_lists_every_option_once_in_its_own_spelling():
    for t in _tables():
        if t.subcommands:
            continue
        text = " ".join(_parser_of(t).format_help().split())
        for o in t.options:
            assert o.flag in text, (t.command, o.flag)
            for f in o.flags:
                if f.startswith("--") and any(c in f[2:] for c in "-_"):
                    hidden = "--" + (f[2:].replace("_", "-") if "_" in f[2:] else f[2:].replace("-", "_"))
                    if not any(hidden in x.flags for x in t.options):
                        assert f"{hidden} " not in text + " " and f"{hidden}," not in text, (t.command, hidden)


def test_no_command_module_adds_flags_by_hand():
    offenders = []
    for path in sorted((PACKAGE / "api" / "commands").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("add_argument", "add_subparsers", "add_parser",
                                                                 "add_argument_group"):
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.FunctionDef) and node.name == "add_arguments":
                offenders.append(f"{path.name}:{node.lineno} def add_arguments")
    assert not offenders, offenders


def test_every_number_has_a_range_that_holds_its_default():
    for t in _tables():
        for o in t.options:
            if not o.numeric:
                continue
            assert o.range is not None and len(o.range) == 2, (t.command, o.dest)
            lo, hi = o.range
            assert lo is not None or hi is not None, (t.command, o.dest)
            assert lo is None or hi is None or lo <= hi, (t.command, o.dest)
            default = o.default_from(t.config)
            for v in default if isinstance(default, list) else [default]:
                if v is not None:
                    o.check_range(v)


def test_defaults_are_written_once():
    """An option that fills a config field takes that field's default; a table never repeats it."""
    for t in _tables():
        if t.config is None:
            continue
        fields = {f.name: f for f in dataclasses.fields(t.config)}
        for o in t.options:
            f = fields.get(o.config_field() or "")
            if f is not None and o.own_default and f.default is not dataclasses.MISSING:
                assert o.default != f.default, f"{t.command} {o.flag}: default {o.default!r} also in {t.config.__name__}"


@pytest.mark.parametrize("argv, flag", [
    (["train", "voice", "--grad_clip", "-1"], "--grad_clip"),
    (["train", "voice", "--num-workers", "-2"], "--num_workers"),
    (["train", "voice", "--epochs", "0"], "--epochs"),
    (["create-index", "voice", "--seed", "-1"], "--seed"),
    (["cover", "song.wav", "-m", "m.pth", "--vocal_gain", "100"], "--vocal_gain"),
    (["tts", "hi", "-m", "m.pth", "-o", "o.wav", "--tts_rate", "500"], "--tts_rate"),
    (["infer", "-m", "m.pth", "-i", "x.wav", "--protect", "0.9"], "--protect"),
    (["model-merge", "a.pth", "b.pth", "-o", "c.pth", "--ratio", "1.5"], "--ratio"),
    (["realtime", "--block_ms", "-250"], "--block_ms"),
    (["ui", "--port", "70000"], "--port"),
    (["preprocess", "voice", "--sample_rate", "44100"], "--sample_rate"),
])
def test_out_of_range_numbers_are_one_line_errors(argv, flag, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # a number outside a list of choices is argparse's own error
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (1, 2) and len(err) == 1 and flag in err[0], err
    if code == 1:
        assert err[0].startswith(f"error: {flag} must be"), err


def test_the_other_spelling_satisfies_a_required_option():
    parser, _ = build_parser("model-merge")
    assert parser.parse_args(["a", "b", "--output", "o.pth"]).output == "o.pth"
    args = table("tts").parser().parse_args(["hi", "-m", "m.pth", "--output", "o.wav", "--tts-rate", "5"])
    assert (args.output, args.tts_rate) == ("o.wav", 5)
    with pytest.raises(SystemExit):
        table("tts").parser().parse_args(["hi", "-m", "m.pth"])


def test_argv_for_round_trips_every_table():
    """Each command's defaults (plus required values) written by argv_for parse back to the same values."""
    fill = {str: "x.wav", int: 1, float: 0.5}
    for t in _tables():
        if t.subcommands:
            continue
        values = {o.dest: o.default_from(t.config) for o in t.options}
        for o in t.options:
            if o.required or (o.positional and o.nargs is None):
                values[o.dest] = [fill[o.type]] if o.nargs in ("+", "*") else fill[o.type]
        argv = argv_for(t.command, values)
        assert argv[: len(t.command.split())] == t.command.split()
        parsed = vars(_parser_of(t).parse_args(argv[len(t.command.split()):]))
        for o in t.options:
            if isinstance(values[o.dest], Path):  # a config's Path default comes back as its text
                values[o.dest] = str(values[o.dest])
            if o.parse and isinstance(values[o.dest], str):  # e.g. --max_size 4G
                values[o.dest] = o.parse(values[o.dest])
            assert parsed[o.dest] == values[o.dest] or (values[o.dest] in ("", None) and parsed[o.dest] in ("", None)), (
                t.command, o.dest, parsed[o.dest], values[o.dest])


def test_argv_for_refuses_unknown_names():
    with pytest.raises(KeyError, match="nosuch"):
        argv_for("model-merge", {"model_a": "a", "nosuch": 1})
    assert argv_for("download pretrain", {"name": "x", "sample_rate": [40000]}) == [
        "download", "pretrain", "--sample_rate", "40000", "--", "x"]  # positionals after "--": never an option


def test_argv_for_values_are_never_read_as_options():
    """Positionals go after ``--``, a flag-like string value is joined to its flag (issue 27)."""
    from arvc.api.cli import build_parser

    parser = build_parser("download")[0]
    argv = argv_for("download model", {"url": "--max_size=1", "name": "-h"})
    args = parser.parse_args(argv[1:])
    assert (args.url, args.name) == ("--max_size=1", "-h")
    assert args.max_size == parser.parse_args(["model", "https://x/y.pth"]).max_size  # not set by the URL


def test_applio_renames_come_from_the_tables():
    from arvc.api.applio import MODES, spellings

    renamed = {name for t in _tables() for o in t.options for name in o.applio}
    for name in ("pth_path", "input_path", "output_folder", "model_name", "tts_text", "pth_path_1",
                 "noise_reduction_strength", "index_algorithm", "output_rvc_path"):
        assert name in renamed, name
    for mode in MODES.values():  # a mode rule never merely renames a flag the table could spell
        rules, _ = spellings(mode.command)
        assert not [k for k, v in mode.rules.items() if isinstance(v, (str, int))], mode.command
        assert all(k not in rules or callable(v) for k, v in mode.rules.items())


# ------------------------------------------------------------------------------------ argparse privacy
def _private_argparse_names() -> set[str]:
    parser = argparse.ArgumentParser()
    parser.add_subparsers()
    names = set(dir(argparse)) | set(dir(argparse.ArgumentParser)) | set(vars(parser)) | set(dir(argparse.Action))
    names |= set(dir(argparse.HelpFormatter)) | set(vars(argparse.HelpFormatter("x")))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_no_argparse_private_api_in_arvc():
    private = _private_argparse_names()
    assert {"_actions", "_option_string_actions", "_SubParsersAction", "_add_action"} <= private
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            name = (node.attr if isinstance(node, ast.Attribute) else node.name if isinstance(node, ast.FunctionDef)
                    else None)
            if name in private:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not offenders, offenders


# ---------------------------------------------------------------------------------------------- the UI
def test_ui_builds_no_command_line_by_hand():
    """No flag literal ("--x", "-m") and no list starting with a command name in arvc/ui: argv comes from the
    tables (argv_for / Controls.command_argv)."""
    flag = re.compile(r"^-{1,2}[A-Za-z]")
    # the job runner's own: `python -I -u -c <boot> <module>` / `-m <module>` (isolated mode) and the global
    # --events (arvc.api.tables.EVENTS) of every job
    runner = {("jobs.py", "-m"), ("jobs.py", "--events"), ("jobs.py", "-I"), ("jobs.py", "-u"), ("jobs.py", "-c")}
    offenders = []
    for path in sorted((PACKAGE / "ui").rglob("*.py")):
        tree = ast.parse(path.read_text())
        in_fstrings = {id(c) for j in ast.walk(tree) if isinstance(j, ast.JoinedStr) for c in j.values}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and flag.match(node.value)
                    and id(node) not in in_fstrings):
                if (path.name, node.value) not in runner:
                    offenders.append(f"{path.name}:{node.lineno} {node.value!r}")
            if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
                first, rest = node.elts[0], node.elts[1:]
                # a command name followed by values (not a plain list of names such as stage titles)
                if (isinstance(first, ast.Constant) and first.value in COMMANDS
                        and not all(isinstance(e, ast.Constant) for e in rest)):
                    offenders.append(f"{path.name}:{node.lineno} [{first.value!r}, ...]")
    assert not offenders, offenders


# ------------------------------------------------------------------------------------------ no torch
def test_tables_and_stage_configs_import_without_torch():
    code = ("import sys, dataclasses\n"
            "from arvc.api.tables import TABLES, table\n"
            "from arvc.training.config import TrainConfig\n"
            "from arvc.stages.config import QuickstartConfig, EvaluateConfig, RankConfig, MergeConfig, OnnxExportConfig\n"
            "tables = [table(c) for c in TABLES]\n"
            "configs = {t.config for t in tables if t.config} | {TrainConfig, QuickstartConfig, EvaluateConfig}\n"
            "assert all(dataclasses.is_dataclass(c) for c in configs)\n"
            "print(sorted(c.__name__ for c in configs))\n"
            "sys.exit(3 if 'torch' in sys.modules else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TrainConfig" in r.stdout and "QuickstartConfig" in r.stdout


def test_penn_and_djcm_are_offered_wherever_a_pitch_method_is_chosen():
    """``arvc extract --help`` names them, and the extract/infer/realtime tables (the UI's dropdowns) list them."""
    r = subprocess.run([sys.executable, "-m", "arvc.api.cli", "extract", "--help"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, check=False)
    text = " ".join(r.stdout.split())
    assert r.returncode == 0 and "penn (FCNF0++)" in text and "djcm" in text, r.stdout + r.stderr
    for command in ("extract", "infer", "realtime"):
        choices = next(o.choices for o in table(command).options if o.flag == "--f0_method")
        assert "penn" in choices and "djcm" in choices, command
    from arvc.library.f0_weights import F0_WEIGHTS

    prereq = next(o for o in table("prerequisites").options if o.flag == "--f0_weights")
    assert set(prereq.choices) == set(F0_WEIGHTS) == {"penn", "djcm"}

"""Shared argparse helpers."""

from __future__ import annotations

import argparse


def str2bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    v = value.strip().lower()
    if v in ("1", "true", "yes", "y", "on", "t"):
        return True
    if v in ("0", "false", "no", "n", "off", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def add_bool(parser: argparse.ArgumentParser, flag: str, default: bool = False, help: str = "") -> None:
    """A flag accepted as ``--x``, ``--x true`` and ``--x false``."""
    parser.add_argument(flag, nargs="?", const=True, default=default, type=str2bool, metavar="BOOL", help=help)


def gate_db(text: str) -> float | None:
    """``--silence_gate_db``: a level in dBFS, or ``off``."""
    if text.strip().lower() in ("off", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level in dBFS or 'off', got {text!r}") from None

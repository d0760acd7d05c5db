"""Shared argparse helpers."""

from __future__ import annotations

import argparse
import re


def str2bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    v = value.strip().lower()
    if v in ("1", "true", "yes", "y", "on", "t"):
        return True
    if v in ("0", "false", "no", "n", "off", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def pitch_value(value: str) -> float | str:
    """``--pitch``: semitones, or ``auto`` (to the model's training median F0)."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected semitones or 'auto', got {value!r}") from None


def gate_db(text: str) -> float | None:
    """``--silence_gate_db``: a level in dBFS, or ``off``."""
    if text.strip().lower() in ("off", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level in dBFS or 'off', got {text!r}") from None


def parse_size(text: str) -> int:
    """``4G``, ``500M``, ``1.5GB`` or a number of bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]?)i?b?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size such as 4G or 500M, got {text!r}")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def shard_spec(text: str) -> str:
    """``--shard``: ``I/N`` (this process does part I of N, 0 <= I < N) or ``auto`` (RANK/WORLD_SIZE of a launcher)."""
    t = text.strip().lower()
    if t == "auto":
        return t
    m = re.fullmatch(r"(\d+)\s*/\s*(\d+)", t)
    if not m or not int(m.group(1)) < int(m.group(2)):
        raise argparse.ArgumentTypeError(f"expected I/N with 0 <= I < N (e.g. 0/4) or auto, got {text!r}")
    return f"{int(m.group(1))}/{int(m.group(2))}"

"""RVC's fixed numbers are imported from ``arvc.constants``, never typed again: the 16 kHz analysis rate, the
160-sample (10 ms) F0 hop and the 768-dim v2 content width."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOP_NAME = re.compile(r"hop|window", re.IGNORECASE)
DIM_CONTEXT_OK = {"filter_channels", "noverlap"}  # 768 meaning something else


def _context_names(tree: ast.AST) -> dict[int, str]:
    """``id(constant) -> name`` of what a constant is bound to: keyword, parameter default, assignment target."""
    names: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg:
            names[id(node.value)] = node.arg
        elif isinstance(node, ast.arguments):
            positional = node.posonlyargs + node.args
            for arg, default in zip(positional[len(positional) - len(node.defaults):], node.defaults):
                names[id(default)] = arg.arg
            for arg, default in zip(node.kwonlyargs, node.kw_defaults):
                if default is not None:
                    names[id(default)] = arg.arg
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    names[id(node.value)] = t.id
    return names


def literal_offenders(source: str) -> list[tuple[int, int]]:
    """``(line, value)`` of 16000 anywhere, 160 bound to a hop/window name, 768 outside the known other uses."""
    tree = ast.parse(source)
    names = _context_names(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and type(node.value) is int):
            continue
        name = names.get(id(node), "")
        if (node.value == 16000 or (node.value == 160 and HOP_NAME.search(name))
                or (node.value == 768 and name not in DIM_CONTEXT_OK)):
            found.append((node.lineno, node.value))
    return sorted(found)


def test_the_check_catches_typed_constants():
    assert literal_offenders("x = load(f, 16000)\nHOP = 160\ndef f(hop_length=160): pass\nif d != 768: pass\n") == [
        (1, 16000), (2, 160), (3, 160), (4, 768)]
    assert literal_offenders("y = s[:160]\nconv(filter_channels=768)\n") == []


def test_no_rvc_constant_is_typed_outside_the_constants_module():
    offenders = [f"{p.relative_to(ROOT)}:{line} {value}" for p in sorted((ROOT / "arvc").rglob("*.py"))
                 if p.name != "constants.py" for line, value in literal_offenders(p.read_text())]
    assert not offenders, offenders

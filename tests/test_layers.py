"""The layers of ARCHITECTURE.md hold: a package imports only from its own layer or the layers below it, and the
two engines never import each other. Every import counts, also those inside functions (lazy imports too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# lowest first; arvc/<name>.py modules and arvc/<name>/ packages alike
LAYERS: dict[str, tuple[str, ...]] = {
    "base": ("errors", "constants", "paths", "safe_paths", "atomic", "registry", "events", "progress", "device",
             "precision", "allocator", "locks", "hub", "workers", "experiment"),
    "parts": ("models", "features", "preprocessing", "formats", "index", "data", "audio", "evaluation", "tts",
              "library"),
    "engines": ("inference", "training"),
    "stages": ("stages",),
    "interfaces": ("api", "ui"),
}
NEVER = {("inference", "training"), ("training", "inference")}


def _level() -> dict[str, int]:
    return {pkg: i for i, names in enumerate(LAYERS.values()) for pkg in names}


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def arvc_imports() -> list[tuple[str, str, int]]:
    """``(importing module, imported arvc module, line)`` for every import statement under arvc/."""
    found = []
    for path in sorted((ROOT / "arvc").rglob("*.py")):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [base] if base != "arvc" else [f"arvc.{a.name}" for a in node.names
                                                         if (ROOT / "arvc" / a.name).is_dir()
                                                         or (ROOT / "arvc" / f"{a.name}.py").is_file()]
            else:
                continue
            found += [(name, t, node.lineno) for t in targets if t.startswith("arvc.")]
    return found


def test_every_package_has_a_layer():
    level = _level()
    packages = {p.stem if p.is_file() else p.name for p in (ROOT / "arvc").iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert packages - set(level) == set(), "add the new package to LAYERS (and ARCHITECTURE.md)"


def test_no_import_goes_up_a_layer_and_the_engines_stay_apart():
    level = _level()
    offenders = []
    for importer, imported, line in arvc_imports():
        a, b = _package_of(importer), _package_of(imported)
        if a == b or not a or not b:
            continue
        if level[b] > level[a] or (a, b) in NEVER:
            offenders.append(f"{importer}:{line} imports {imported}")
    assert not offenders, offenders


def test_the_check_sees_a_violation():
    """A ``stages`` import inside a base module would be flagged (the rule can fail)."""
    level = _level()
    assert level["stages"] > level["device"] and ("inference", "training") in NEVER
    assert any(_package_of(i) == "api" and _package_of(t) == "stages" for i, t, _ in arvc_imports())

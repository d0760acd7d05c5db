"""The import graph of arvc/ has no cycle: every module's module-level imports (relative ones resolved), read
with ``ast``; imports inside a module ``__getattr__`` count too (that is the usual way a cycle is hidden)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module):
    """Import nodes run when the module loads: at module level (inside if/try blocks too, not under
    ``if TYPE_CHECKING``) and inside a module-level ``__getattr__``."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                stack += node.body + node.orelse
        elif isinstance(node, ast.Try):
            stack += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        elif isinstance(node, (ast.With,)):
            stack += node.body
        elif isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            stack += [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (ROOT / "arvc").rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _top_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    graph = import_graph()
    assert "arvc.api.options" in graph["arvc.api.options_train"]
    assert "arvc.api.optionspec" in graph["arvc.api.options"]


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_arvc():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


HEAVY = ("gradio", "transformers", "sklearn", "pandas", "matplotlib", "torch._dynamo", "arvc.training", "arvc.ui")


def test_conversion_path_loads_no_heavy_or_training_module(fixtures_dir):
    """The modules of ``arvc infer`` / ``arvc realtime`` and a loaded HuBERT embedder and synthesizer import none of
    gradio, transformers (seconds, through scikit-learn and pandas), torch._dynamo, the training or UI code."""
    import subprocess
    import sys

    pt = fixtures_dir / "pipeline_tiny"
    code = (
        "import sys\n"
        "import arvc.stages.infer, arvc.stages.realtime, arvc.inference.realtime\n"
        "from arvc.api.cli import build_parser\n"
        "build_parser('infer'); build_parser('realtime')\n"
        "from arvc.features.embedders import load_embedder\n"
        "from arvc.formats import load_synthesizer\n"
        f"load_embedder('custom', path={str(pt / 'embedder')!r})\n"
        f"load_synthesizer({str(pt / 'model.pth')!r})\n"
        f"print(sorted(m for m in sys.modules if m in {HEAVY!r} or m.startswith(('arvc.training.', 'arvc.ui.'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"

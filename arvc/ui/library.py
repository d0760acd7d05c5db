"""What the UI lists: voice models, their indexes and pretrains found on disk (file names, and a so-vits folder's
config.json; no model is loaded)."""

from __future__ import annotations

import re
from pathlib import Path

from arvc.library.voice_kind import looks_like_sovits_config
from arvc.locks import experiment_busy
from arvc.paths import WEIGHTS_NAME, logs_root

_CHECKPOINT = re.compile(r"^(G|D)_.*\.pth$")
_SOVITS_G = re.compile(r"^G_(\d+)\.pth$")
_PRETRAIN = re.compile(r"(^|[^a-z])(f0)?(G|D)(32|40|48)k|^(G|D)_|pretrain", re.IGNORECASE)


def voice_models(models_dir: Path, logs_dir: Path, extra: tuple[Path, ...] = ()) -> list[str]:
    """Inference ``.pth`` files under ``models_dir`` (any depth), ``logs_dir/*/`` and ``extra`` folders
    (training checkpoints ``G_*``/``D_*`` and pretrains left out, except the newest ``G_<step>.pth`` of a so-vits-svc
    voice folder, which is the voice), sorted."""
    found: set[Path] = set()
    for root, pattern in ((models_dir, "**/*.pth"), (logs_dir, "*/*.pth"), *((p, "**/*.pth") for p in extra)):
        if root.is_dir():
            paths = list(root.glob(pattern))
            found.update(p for p in paths if not _CHECKPOINT.match(p.name) and not is_pretrain(p))
            found.update(sovits_generators(paths))
    return sorted(str(p) for p in found)


def sovits_generators(paths: list[Path]) -> list[Path]:
    """The newest ``G_<step>.pth`` among ``paths`` of each folder that holds a so-vits-svc ``config.json``."""
    newest: dict[Path, tuple[int, Path]] = {}
    for p in paths:
        m = _SOVITS_G.match(p.name)
        if m and (p.parent not in newest or int(m.group(1)) > newest[p.parent][0]):
            newest[p.parent] = (int(m.group(1)), p)
    return [p for folder, (_, p) in newest.items() if looks_like_sovits_config(folder / "config.json")]


def is_pretrain(path: Path) -> bool:
    """G/D pretrains by their usual names (``f0G40k.pth``, ``G_*.pth``, anything under a ``pretrained*`` folder)."""
    return bool(_PRETRAIN.search(path.name)) or any(part.lower().startswith("pretrain") for part in path.parts[:-1])


def pretrains(models_dir: Path, which: str) -> list[str]:
    """Generator (``which="G"``) or discriminator (``"D"``) pretrains under ``models_dir``."""
    if not models_dir.is_dir():
        return []
    out = []
    for p in models_dir.glob("**/*.pth"):
        if not is_pretrain(p):
            continue
        m = re.search(r"(?:^|[^a-z])(?:f0)?([GD])(?:32|40|48)k|^([GD])_|_([GD])\.pth$|([GD])\.pth$", p.name,
                      re.IGNORECASE)
        kind = next((g for g in m.groups() if g), "") if m else ""
        if kind.upper() == which:
            out.append(str(p))
    return sorted(out)


def paired_index(model: str | None) -> str | None:
    """The ``.index`` beside a model: one whose name contains the model's name, else the only one in its folder."""
    if not model:
        return None
    path = Path(model)
    if not path.parent.is_dir():
        return None
    indexes = sorted(path.parent.glob("*.index"))
    named = [i for i in indexes if path.stem.split("_")[0].lower() in i.stem.lower()]
    if named:
        return str(named[0])
    return str(indexes[0]) if len(indexes) == 1 else None


def voice_label(path: str | Path, models_dir: Path, logs_dir: Path) -> str:
    """The name a voice is shown by: its library folder (``voices/<name>/``), its experiment under ``logs/``
    (``name`` for the final ``<name>.pth``, ``name (epoch 10, step 50)`` for an intermediate weights file), else
    the file's name."""
    p = Path(path)
    for root, in_logs in ((logs_dir, True), (models_dir, False)):
        try:
            rel = p.resolve().relative_to(root.resolve())
        except (ValueError, OSError):
            continue
        if in_logs:
            name = rel.parts[0]
        elif rel.parts[0] == "voices" and len(rel.parts) > 2:
            name = rel.parts[1]
        else:
            name = rel.parts[-2] if len(rel.parts) > 1 else p.stem
        weights = WEIGHTS_NAME.match(p.name) if in_logs else None
        if weights and weights["name"] == name:
            return f"{name} (epoch {int(weights['epoch'])}, step {int(weights['step'])})"
        extra = p.stem[len(name) + 1:] if p.stem.startswith(name + "_") else ("" if p.stem == name else p.stem)
        return f"{name} ({extra})" if extra else name
    return p.stem


def is_intermediate(path: str | Path, logs_dir: Path) -> bool:
    """True for a training run's intermediate weights file ``logs/<name>/<name>_<E>e_<S>s.pth`` (not a voice
    to preselect: the run's final ``<name>.pth`` is)."""
    p = Path(path)
    m = WEIGHTS_NAME.match(p.name)
    return bool(m) and m["name"] == p.parent.name and p.parent.parent.resolve() == logs_dir.resolve()


def voice_choices(models_dir: Path, logs_dir: Path, extra: tuple[Path, ...] = ()) -> list[tuple[str, str]]:
    """``(name, path)`` of every voice: the dropdowns show names, the commands get paths. Finished voices come
    first (by name), then intermediate weights of past runs, then those of a run training now (marked)."""
    paths = voice_models(models_dir, logs_dir, extra)
    labels = [voice_label(p, models_dir, logs_dir) for p in paths]
    busy = {p.parent for p in map(Path, paths) if is_intermediate(p, logs_dir) and experiment_busy(p.parent)}
    seen: dict[str, int] = {}
    out = []
    for label, p in zip(labels, paths):
        seen[label] = seen.get(label, 0) + 1
        label = label if labels.count(label) == 1 else f"{label} [{seen[label]}]"
        group = 0
        if is_intermediate(p, logs_dir):
            group = 2 if Path(p).parent in busy else 1
            label = f"{label} — training now" if group == 2 else label
        out.append((group, label, p))
    return [(label, p) for _, label, p in sorted(out, key=lambda c: (c[0], c[1].lower()))]


def first_voice(choices: list) -> str | None:
    """The voice to preselect: the first finished one (never a run's intermediate weights), else None."""
    for c in choices:
        value = c[1] if isinstance(c, tuple) else c
        if isinstance(value, str) and value.endswith(".pth") and is_intermediate(value, logs_root()):
            continue
        return value
    return None

"""Stage ``pretrain``: a training run's G/D pair as a pretrain others can start from, merges of two pretrains,
and the list of the pretrains made on this machine (``<models>/pretrains_local/<name>/``).

A pretrain folder holds ``G.pth`` / ``D.pth`` (model weights only, the layout every RVC client reads with
``--pretrained_g/--pretrained_d``; the speaker table ``emb_g`` keeps the run's speakers, as the standard
pretrains keep theirs, and a fine-tune resizes it) and ``pretrain.json`` (what it fits: embedder, F0 method,
rate, version, vocoder, model size; epoch, step, speakers, sha256). Files are replaced as a whole folder.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from arvc.errors import ArvcError
from arvc.library.models_dir import local_pretrains_root, sanitize_name
from arvc.stages.config import PretrainExportConfig, PretrainMergeConfig

log = logging.getLogger(__name__)


def _out_dir(name: str, output_dir: Path | None) -> Path:
    return Path(output_dir) if output_dir else local_pretrains_root() / sanitize_name(name, "pretrain")


def export_pretrain(cfg: PretrainExportConfig):
    """Export ``cfg.experiment``'s latest (or ``cfg.epoch``'s) G/D pair; returns the ExportedPretrain."""
    from arvc.training.pretrain_export import ExportedPretrain, export_latest, publish, run_spec

    experiment = Path(cfg.experiment)
    if not experiment.is_dir():
        raise ArvcError(f"{experiment}: no such experiment folder (expected logs/<model> after `arvc train`)")
    spec = run_spec(experiment)
    name = cfg.name or experiment.name
    spec["name"] = name
    out = _out_dir(name, cfg.output_dir)
    done = publish(lambda tmp: export_latest(experiment, tmp, spec, dtype=cfg.dtype, epoch=cfg.epoch), out)
    return ExportedPretrain(out / "G.pth", out / "D.pth", out / "pretrain.json", done.epoch, done.step)


def resolve_pretrain(text: str) -> Path:
    """A pretrain folder from a local pretrain name or a folder path."""
    p = Path(text).expanduser()
    if (p / "G.pth").is_file():
        return p
    local = local_pretrains_root() / text
    if "/" not in text and (local / "G.pth").is_file():
        return local
    raise ArvcError(f"{text}: neither a pretrain folder (G.pth, D.pth) nor a pretrain in {local_pretrains_root()} "
                    f"(see `arvc pretrain list`)")


def merge_pretrains(cfg: PretrainMergeConfig):
    from arvc.training.pretrain_export import merge_pairs

    a, b = resolve_pretrain(cfg.pretrain_a), resolve_pretrain(cfg.pretrain_b)
    return merge_pairs(a, b, _out_dir(cfg.name, cfg.output_dir), cfg.ratio)


def local_pretrains() -> list[dict]:
    """Every ``<models>/pretrains_local/<name>/`` with its manifest (``folder`` added), by name."""
    out = []
    root = local_pretrains_root()
    for manifest in sorted(root.glob("*/pretrain.json")) if root.is_dir() else []:
        try:
            info = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and (manifest.parent / "G.pth").is_file() and (manifest.parent / "D.pth").is_file():
            out.append({**info, "folder": str(manifest.parent)})
    return out

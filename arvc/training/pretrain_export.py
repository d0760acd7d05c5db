"""Turn a training run's ``G_<e>.pth`` / ``D_<e>.pth`` pair into a distributable G/D pretrain pair.

The pretrain files hold only ``{"model": state (fp16), "iteration": epoch, "optimizer": None, "learning_rate"}``
(the layout every RVC client reads as a pretrain), with the legacy weight-norm names. ``pretrain.json`` beside
them records what the pretrain fits (features, rate, version, model size), the epoch and step it was taken
at, the speaker count and the files' sha256. Inputs are read through the safe loader; outputs are atomic.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import torch

from arvc.atomic import write_json
from arvc.errors import ArvcError
from arvc.formats import load_checkpoint, save_checkpoint
from arvc.paths import ExperimentPaths
from arvc.training.checkpointing import saved_epochs, state_path


@dataclass
class ExportedPretrain:
    g: Path
    d: Path
    manifest: Path
    epoch: int
    step: int


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _half(state: "OrderedDict[str, torch.Tensor]") -> "OrderedDict[str, torch.Tensor]":
    return OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in state.items())


def export_pair(g_path: Path, d_path: Path, out_dir: Path, *, info: dict[str, Any] | None = None,
                step: int = 0, epoch: int | None = None, dtype: str = "fp16") -> ExportedPretrain:
    """Write ``out_dir/G.pth``, ``out_dir/D.pth`` (model weights only, ``dtype`` fp16 or fp32) and
    ``out_dir/pretrain.json``. ``info``: what the pretrain fits (saved into the manifest); ``epoch``: default
    the G checkpoint's ``iteration``."""
    if dtype not in ("fp16", "fp32"):
        raise ArvcError(f"pretrain export: dtype must be fp16 or fp32, got {dtype!r}")
    ckpt_g, ckpt_d = load_checkpoint(g_path), load_checkpoint(d_path)
    if ckpt_g.kind != "G" or ckpt_d.kind != "D":
        raise ArvcError(f"pretrain export: {g_path} / {d_path} are {ckpt_g.kind} / {ckpt_d.kind} checkpoints, "
                        "expected G / D")
    out_dir.mkdir(parents=True, exist_ok=True)
    convert = _half if dtype == "fp16" else (lambda s: s)
    g_out, d_out = out_dir / "G.pth", out_dir / "D.pth"
    for ckpt, out in ((ckpt_g, g_out), (ckpt_d, d_out)):
        save_checkpoint(out, convert(ckpt.model), None, ckpt.learning_rate or 0.0, ckpt.iteration)
    emb = ckpt_g.model.get("emb_g.weight")
    epoch = ckpt_g.iteration if epoch is None else int(epoch)
    manifest = {**(info or {}), "epoch": epoch, "step": int(step), "dtype": dtype,
                "speakers": int(emb.shape[0]) if emb is not None else None,
                "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in (g_out, d_out)}}
    write_json(out_dir / "pretrain.json", manifest)
    return ExportedPretrain(g_out, d_out, out_dir / "pretrain.json", epoch, int(step))


def export_latest(experiment: Path, out_dir: Path, spec: Any = None, dtype: str = "fp16") -> ExportedPretrain:
    """Export the latest complete G_/D_ pair of ``experiment`` (a ``logs/<model>`` folder)."""
    paths = ExperimentPaths.at(experiment)
    epochs = saved_epochs(paths)
    if not epochs:
        raise ArvcError(f"{experiment}: no G_<epoch>.pth / D_<epoch>.pth pair to export")
    epoch = epochs[-1]
    step = 0
    sp = state_path(paths, epoch)
    if sp.is_file():
        try:
            step = int(json.loads(sp.read_text(encoding="utf-8")).get("step", 0))
        except (OSError, ValueError):
            step = 0
    info = asdict(spec) if is_dataclass(spec) else dict(spec or {})
    info["source"] = f"{Path(experiment).name} epoch {epoch}"
    return export_pair(paths.g_checkpoint(epoch), paths.d_checkpoint(epoch), Path(out_dir), info=info,
                       step=step, epoch=epoch, dtype=dtype)

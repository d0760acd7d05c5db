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


def export_latest(experiment: Path, out_dir: Path, spec: Any = None, dtype: str = "fp16",
                  epoch: int | None = None) -> ExportedPretrain:
    """Export the latest complete G_/D_ pair of ``experiment`` (a ``logs/<model>`` folder), or that of ``epoch``."""
    paths = ExperimentPaths.at(experiment)
    epochs = saved_epochs(paths)
    if not epochs:
        raise ArvcError(f"{experiment}: no G_<epoch>.pth / D_<epoch>.pth pair to export")
    if epoch is not None and epoch not in epochs:
        raise ArvcError(f"{experiment}: no G_{epoch}.pth / D_{epoch}.pth pair (saved epochs: "
                        f"{', '.join(map(str, epochs))})")
    epoch = epochs[-1] if epoch is None else epoch
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


# ------------------------------------------------------------------------------------------ runs and merges

FIT_KEYS = ("embedder", "f0_method", "sample_rate", "version", "vocoder", "f0", "model_size")


def run_spec(experiment: Path) -> dict[str, Any]:
    """What a pretrain exported from ``experiment`` fits, from its ``config.json`` (written by train) and
    ``model_info.json`` (written by extract): embedder, F0 method, rate, version, vocoder, F0, model size."""
    paths = ExperimentPaths.at(experiment)
    try:
        config = json.loads(paths.config.read_text(encoding="utf-8"))
        model, train = config["model"], config["train"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ArvcError(f"{paths.config}: unreadable or not written by `arvc train` ({e})") from None
    try:
        info = json.loads(paths.model_info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    return {"name": paths.root.name, "embedder": info.get("embedder_model") or "contentvec",
            "f0_method": info.get("f0_method"), "sample_rate": int(model["sample_rate"]),
            "version": model.get("version", "v2"), "vocoder": model.get("vocoder", "HiFi-GAN"),
            "f0": bool(model.get("use_f0", True)), "model_size": train.get("model_size", "full")}


def publish(build, out_dir: Path):
    """Run ``build(tmp_dir)`` into a temporary sibling of ``out_dir``, then swap it in: readers see the old pair
    or the new one, never a mix."""
    import os
    import shutil
    import tempfile

    from arvc.atomic import TMP_MARK

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}{TMP_MARK}{os.getpid()}-", dir=out_dir.parent))
    old = out_dir.parent / f".{out_dir.name}{TMP_MARK}{os.getpid()}-old"
    try:
        result = build(tmp)
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return result


def read_pair(folder: Path) -> tuple[dict[str, Any], Any, Any]:
    """(manifest, G checkpoint, D checkpoint) of a pretrain folder (``G.pth``, ``D.pth``, ``pretrain.json``)."""
    folder = Path(folder)
    for name in ("G.pth", "D.pth"):
        if not (folder / name).is_file():
            raise ArvcError(f"{folder}: not a pretrain folder ({name} missing)")
    try:
        manifest = json.loads((folder / "pretrain.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        manifest = {}
    except (OSError, ValueError) as e:
        raise ArvcError(f"{folder / 'pretrain.json'}: unreadable ({e})") from None
    return manifest, load_checkpoint(folder / "G.pth"), load_checkpoint(folder / "D.pth")


def _mix(a: dict, b: dict, ratio: float, where: str) -> "OrderedDict[str, torch.Tensor]":
    """``ratio * a + (1 - ratio) * b`` in fp32, stored in ``a``'s dtypes; speaker rows: the first min(n_a, n_b)."""
    if set(a) != set(b):
        raise ArvcError(f"cannot merge {where}: tensor {sorted(set(a) ^ set(b))[0]} exists in only one of them")
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, ta in a.items():
        tb = b[k]
        if k == "emb_g.weight" and ta.shape[1:] == tb.shape[1:]:
            n = min(ta.shape[0], tb.shape[0])
            ta, tb = ta[:n], tb[:n]
        if ta.shape != tb.shape:
            raise ArvcError(f"cannot merge {where}: {k} has shape {tuple(ta.shape)} vs {tuple(tb.shape)}")
        if not ta.is_floating_point():
            out[k] = ta.clone()
            continue
        out[k] = (ratio * ta.float() + (1.0 - ratio) * tb.float()).to(ta.dtype)
    return out


def merge_pairs(a_dir: Path, b_dir: Path, out_dir: Path, ratio: float) -> ExportedPretrain:
    """``ratio * A + (1 - ratio) * B`` for G and for D of two pretrain folders that fit the same runs."""
    if not 0.0 <= ratio <= 1.0:
        raise ArvcError(f"--ratio {ratio}: expected 0..1")
    (ma, ga, da), (mb, gb, db) = read_pair(a_dir), read_pair(b_dir)
    for key in FIT_KEYS:
        if key in ma and key in mb and ma[key] != mb[key]:
            raise ArvcError(f"cannot merge {a_dir} and {b_dir}: different {key} ({ma[key]} vs {mb[key]})")
    g = _mix(ga.model, gb.model, ratio, f"{a_dir}/G.pth and {b_dir}/G.pth")
    d = _mix(da.model, db.model, ratio, f"{a_dir}/D.pth and {b_dir}/D.pth")

    def build(tmp: Path) -> ExportedPretrain:
        g_out, d_out = tmp / "G.pth", tmp / "D.pth"
        save_checkpoint(g_out, g, None, ga.learning_rate or 0.0, 0)
        save_checkpoint(d_out, d, None, da.learning_rate or 0.0, 0)
        emb = g.get("emb_g.weight")
        manifest = {**{k: ma[k] for k in FIT_KEYS if k in ma}, "name": Path(out_dir).name,
                    "merged_from": [str(Path(a_dir).resolve()), str(Path(b_dir).resolve())], "ratio": ratio,
                    "epoch": 0, "step": 0, "speakers": int(emb.shape[0]) if emb is not None else None,
                    "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in (g_out, d_out)}}
        write_json(tmp / "pretrain.json", manifest)
        return ExportedPretrain(g_out, d_out, tmp / "pretrain.json", 0, 0)

    publish(build, Path(out_dir))
    out_dir = Path(out_dir)
    return ExportedPretrain(out_dir / "G.pth", out_dir / "D.pth", out_dir / "pretrain.json", 0, 0)

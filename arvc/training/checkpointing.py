"""G_/D_ checkpoints of a run: save (atomic), find the latest, resume, and load pretrains with checks.

A save of epoch ``e`` writes ``G_e.pth``, ``D_e.pth`` (the pretrain format, :mod:`arvc.formats.checkpoints`)
and then ``train_state_e.json``; a pair counts as resumable once both G and D exist.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

import torch

from arvc.atomic import write_text
from arvc.constants import version_of_content_dim
from arvc.errors import ArvcError
from arvc.formats import load_checkpoint, save_checkpoint
from arvc.formats.state_fit import StateFit, assign_state, fit_state
from arvc.paths import ExperimentPaths
from arvc.training.state import TrainState

log = logging.getLogger(__name__)

def state_path(paths: ExperimentPaths, epoch: int) -> Path:
    return paths.train_state(epoch)


def saved_epochs(paths: ExperimentPaths) -> list[int]:
    """Epochs with both ``G_e.pth`` and ``D_e.pth`` present, ascending."""
    found: dict[int, set[str]] = {}
    for kind, epoch in paths.checkpoints():
        found.setdefault(epoch, set()).add(kind)
    return sorted(e for e, kinds in found.items() if kinds == {"G", "D"})


def save_training_checkpoint(paths: ExperimentPaths, epoch: int, *, net_g: torch.nn.Module, net_d: torch.nn.Module,
                             optim_g: torch.optim.Optimizer, optim_d: torch.optim.Optimizer, learning_rate: float,
                             state: TrainState, scaler_state: Mapping | None = None, only_latest: bool = False) -> None:
    """Write G/D/state for ``epoch``; with ``only_latest`` delete older sets afterwards (never before)."""
    save_checkpoint(paths.g_checkpoint(epoch), net_g.state_dict(), optim_g.state_dict(), learning_rate, epoch, scaler_state)
    save_checkpoint(paths.d_checkpoint(epoch), net_d.state_dict(), optim_d.state_dict(), learning_rate, epoch, scaler_state)
    write_text(state_path(paths, epoch), state.to_json())
    if only_latest:
        for old in saved_epochs(paths):
            if old != epoch:
                for p in (paths.g_checkpoint(old), paths.d_checkpoint(old), state_path(paths, old)):
                    p.unlink(missing_ok=True)


def _load_module_state(net: torch.nn.Module, weights: Mapping[str, torch.Tensor], source: str) -> None:
    fit = fit_state(net, weights)
    if not fit.ok:
        raise ArvcError(f"{source}: does not fit this model ({fit.summary()}); delete it or train under another "
                        "model name")
    assign_state(net, fit.state)


def resume(paths: ExperimentPaths, epoch: int, *, net_g: torch.nn.Module, net_d: torch.nn.Module,
           optim_g: torch.optim.Optimizer, optim_d: torch.optim.Optimizer, steps_per_epoch: int) -> tuple[TrainState, dict | None]:
    """Load the checkpoint set of ``epoch`` into models/optimizers; returns its TrainState and scaler state."""
    ckpt_g = load_checkpoint(paths.g_checkpoint(epoch))
    ckpt_d = load_checkpoint(paths.d_checkpoint(epoch))
    _load_module_state(net_g, ckpt_g.model, str(paths.g_checkpoint(epoch)))
    _load_module_state(net_d, ckpt_d.model, str(paths.d_checkpoint(epoch)))
    for optim, ckpt, name in ((optim_g, ckpt_g, "G"), (optim_d, ckpt_d, "D")):
        if ckpt.optimizer:
            try:
                optim.load_state_dict(ckpt.optimizer)
            except (ValueError, KeyError) as e:
                log.warning("%s_%d.pth: optimizer state not restored (%s); starting it fresh", name, epoch, e)
    sp = state_path(paths, epoch)
    state = TrainState.load(sp) if sp.is_file() else TrainState(epoch=epoch, step=epoch * steps_per_epoch)
    state.epoch = epoch
    return state, ckpt_g.scaler or None


# ------------------------------------------------------------------------------------------------------ pretrains


def _describe_mismatch(kind: str, path: str, wrong: list[tuple[str, tuple, tuple]], missing: list[str],
                       unexpected: list[str], expect: str) -> str:
    if kind == "G":
        for k, theirs, ours in wrong:
            if k.startswith("enc_p.emb_phone"):
                kind_of = version_of_content_dim(theirs[1]) or f"{theirs[1]}-dim"
                return (f"--pretrained_g {path} is a {kind_of} model "
                        f"(content features {theirs[1]}), this run trains {expect}")
        odd = [k for k in missing + unexpected if k.startswith("dec.")]
        if odd:
            return (f"--pretrained_g {path} has another vocoder layout (e.g. {odd[0]}); this run trains {expect}")
        if wrong and any(k.startswith("dec.") for k, *_ in wrong):
            return (f"--pretrained_g {path} has another decoder shape ({wrong[0][0]} {wrong[0][1]} vs {wrong[0][2]}): "
                    f"it was made for another sample rate or vocoder; this run trains {expect}")
    flag = "--pretrained_g" if kind == "G" else "--pretrained_d"
    summary = StateFit({}, missing, unexpected, wrong).summary()
    return f"{flag} {path} does not fit {expect}: {summary}"


def load_pretrained(net: torch.nn.Module, path: str | Path, kind: str, expect: str) -> None:
    """Load a pretrain (any client's G/D file) into ``net``, checking names and shapes.

    ``emb_g.weight`` (speaker embeddings) may have another row count: common rows are copied, extra rows keep
    the fresh initialisation.
    ``expect`` describes the run ("v2 40000 Hz HiFi-GAN") for the error message.
    """
    ckpt = load_checkpoint(path)
    if ckpt.kind not in (kind, "?"):
        raise ArvcError(f"--pretrained_{kind.lower()} {path} is a {ckpt.kind} checkpoint, expected {kind}")
    own = net.state_dict()
    fit = fit_state(net, ckpt.model, allow_shape=("emb_g.weight",))
    state = fit.state
    if not fit.ok:
        raise ArvcError(_describe_mismatch(kind, str(path), fit.wrong, fit.missing, fit.unexpected, expect))
    if "emb_g.weight" in own and "emb_g.weight" in state and state["emb_g.weight"].shape != own["emb_g.weight"].shape:
        theirs, ours = state["emb_g.weight"], own["emb_g.weight"].clone()
        if theirs.shape[1] != ours.shape[1]:
            raise ArvcError(f"--pretrained_g {path}: speaker embedding width {theirs.shape[1]} vs {ours.shape[1]}")
        n = min(theirs.shape[0], ours.shape[0])
        ours[:n] = theirs[:n]
        log.info("pretrain speaker embedding resized from %d to %d rows", theirs.shape[0], ours.shape[0])
        state["emb_g.weight"] = ours
    assign_state(net, state)

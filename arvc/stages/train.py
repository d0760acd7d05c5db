"""Stage ``train``: train (or resume) a voice model on an extracted experiment folder.

Reads ``filelist.txt`` and ``model_info.json`` (sample rate, version, embedder) from the folder ``arvc extract``
made, builds the Accelerate context (device, precision, processes), and runs :class:`arvc.training.loop.Trainer`.
Re-running the same command resumes from the latest ``G_<e>.pth``/``D_<e>.pth`` pair.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from pathlib import Path

from arvc import events
from arvc.allocator import prepare_cuda_allocator
from arvc.atomic import remove_stale_temporaries, write_json
from arvc.constants import canonical_vocoder
from arvc.data import CachedDataset, TrainingDataset, read_filelist
from arvc.device import seed_everything, supports_bf16
from arvc.errors import ArvcError
from arvc.experiment import ExperimentInfo
from arvc.locks import locks_experiment
from arvc.models.config import ModelConfig
from arvc.paths import ExperimentPaths
from arvc.stages.rank_epochs import default_clips, score_weights
from arvc.training.checkpointing import saved_epochs
from arvc.training.config import TrainConfig
from arvc.training.loop import TrainResult, Trainer
from arvc.training.pretrains import choose_pretrains
from arvc.training.runtime import configure_backends, make_accelerator

log = logging.getLogger("arvc.train")


def resolve_model_config(cfg: TrainConfig, info: ExperimentInfo, n_speakers: int):
    """The ModelConfig of this run: preset (or tiny) for rate/version/vocoder, enough speaker rows."""
    sample_rate = cfg.sample_rate or info.sample_rate
    if not sample_rate:
        raise ArvcError("no sample rate: pass --sample_rate (model_info.json has none)")
    info_version = info.version
    version = cfg.version or info_version or "v2"
    if cfg.version and info_version and cfg.version != info_version:
        raise ArvcError(f"--version {cfg.version} but the features were extracted for {info_version}; "
                        f"re-run `arvc extract --version {cfg.version}`")
    vocoder = canonical_vocoder(cfg.vocoder or "HiFi-GAN")
    mc = ModelConfig.for_size(cfg.model_size, version=version, sample_rate=int(sample_rate), vocoder=vocoder,
                              use_f0=cfg.use_f0)
    if n_speakers > mc.spk_embed_dim:
        mc = mc.replace(spk_embed_dim=n_speakers)
    return mc


def make_evaluator(cfg: TrainConfig, paths: ExperimentPaths, info: ExperimentInfo):
    """``weights -> mean scores`` for ``--eval_every``: converts the eval clips with the weights file and scores
    them as ``arvc evaluate`` does (defaults: three of the run's chunks, the run's chunks as references)."""
    clips = [Path(c) for c in cfg.eval_clips] or default_clips(paths.root)
    references = [Path(r) for r in cfg.eval_references] or [paths.sliced_16k]
    indexes = paths.index_files()

    def evaluator(weights: Path) -> dict[str, float]:
        with tempfile.TemporaryDirectory(dir=paths.root) as tmp:
            return score_weights(weights, clips, references, Path(tmp), index=indexes[0] if indexes else None,
                                 text=Path(cfg.eval_text) if cfg.eval_text else None, pitch=cfg.eval_pitch,
                                 f0_method=info.f0_method or cfg.eval_f0_method,
                                 embedder_path=info.embedder_path, score_f0_method=cfg.eval_f0_method,
                                 asr=cfg.eval_text is not None)

    return evaluator


def pick_pretrains(cfg: TrainConfig, model_cfg, paths: ExperimentPaths):
    """The run's pretrains (:func:`arvc.training.pretrains.choose_pretrains`); a resumed run keeps its label."""
    previous = None
    if paths.config.is_file():
        try:
            previous = json.loads(paths.config.read_text(encoding="utf-8")).get("pretrain")
        except (OSError, ValueError):
            previous = None
    return choose_pretrains(cfg, model_cfg, previous_label=previous, resuming=bool(saved_epochs(paths)))


def training_f0_median(paths, max_files: int = 2000) -> float | None:
    """Median F0 (Hz) over the voiced frames of the extracted ``f0_voiced/*.npy`` (``--pitch auto``'s target)."""
    import numpy as np

    files = sorted(paths.f0_hz.glob("*.npy"))[:max_files]
    voiced = [v[v > 0] for v in (np.load(f).reshape(-1) for f in files)]
    allv = np.concatenate(voiced) if voiced else np.zeros(0)
    return float(np.median(allv)) if len(allv) else None


@locks_experiment("train")
@events.staged("train")
def train(cfg: TrainConfig) -> TrainResult:
    """Train ``cfg.model_name``; returns where it stopped and the final weights path (main process)."""
    import torch

    paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
    if not paths.root.is_dir():
        raise ArvcError(f"experiment folder {paths.root} not found; run `arvc preprocess {cfg.model_name} ...` "
                        f"and `arvc extract {cfg.model_name}` first")
    info = ExperimentInfo.read(paths.model_info)
    entries = read_filelist(paths.filelist, use_f0=cfg.use_f0)
    n_speakers = max(e.sid for e in entries) + 1

    notes: list[str] = []
    if cfg.fast_train:
        prepare_cuda_allocator()  # before anything initialises CUDA
    precision = cfg.precision
    if cfg.bf16_adamw:
        precision = "bf16"
    accelerator, used_precision, acc_notes = make_accelerator(cfg.gpu, precision, log_dir=paths.root)
    notes += acc_notes
    if cfg.bf16_adamw and not supports_bf16(accelerator.device):
        raise ArvcError(f"--bf16_adamw needs bf16 support, which {accelerator.device} lacks; "
                        "use --bf16_adamw false")
    if cfg.bf16_adamw and used_precision != "bf16":
        raise ArvcError(f"--bf16_adamw needs bf16 autocast, not available on {accelerator.device}")
    notes += configure_backends(accelerator.device, fast_train=cfg.fast_train, deterministic=cfg.deterministic)
    if cfg.fast_train and accelerator.device.type != "cuda":
        notes.append("fast_train: pinned memory and the CUDA allocator config are GPU-only; data workers still used")
    seed_everything(cfg.seed)
    if accelerator.is_main_process:
        remove_stale_temporaries(paths.root)

    model_cfg = resolve_model_config(cfg, info, n_speakers)
    with accelerator.main_process_first():  # one process downloads a missing pretrain, the others then find it
        chosen = pick_pretrains(cfg, model_cfg, paths)
    if chosen.g or chosen.d:
        cfg = dataclasses.replace(cfg, pretrained_g=chosen.g, pretrained_d=chosen.d)
    dataset = TrainingDataset(entries, sample_rate=model_cfg.sample_rate, hop=model_cfg.hop_length,
                              spec_channels=model_cfg.spec_channels, content_dim=model_cfg.content_dim,
                              use_f0=model_cfg.use_f0)
    if info.content_dim and int(info.content_dim) != model_cfg.content_dim:
        raise ArvcError(f"{paths.model_info}: features are {info.content_dim}-dim but a {model_cfg.version} model "
                        f"needs {model_cfg.content_dim}; pass --version to match the extraction")
    if cfg.cache_data_in_gpu:
        dataset = CachedDataset(dataset, accelerator.device)
    if accelerator.is_main_process:
        write_json(paths.config, {"model": {**model_cfg.__dict__, "stored_list": None, "config_list": model_cfg.to_list()},
                                  "train": {k: v for k, v in cfg.to_dict().items() if k != "weights"},
                                  "loss_weights": cfg.to_dict()["weights"], "precision": used_precision,
                                  "processes": accelerator.num_processes, "device": str(accelerator.device),
                                  "pretrain": chosen.label})
        log.info("training %s: %s %d Hz %s, %d items, %d speaker(s), batch %d x %d accumulation, %s on %s x%d",
                 cfg.model_name, model_cfg.version, model_cfg.sample_rate, model_cfg.vocoder, len(dataset),
                 n_speakers, cfg.batch_size, cfg.grad_accum_steps, used_precision, accelerator.device,
                 accelerator.num_processes)
    torch.manual_seed(cfg.seed)
    evaluator = make_evaluator(cfg, paths, info) if cfg.eval_every and accelerator.is_main_process else None
    trainer = Trainer(cfg, model_cfg, dataset, paths, accelerator, precision=used_precision, notes=notes,
                      evaluator=evaluator,
                      metadata_extra={"embedder_model": info.embedder_model,
                                      "dataset_length": info.total_dataset_duration,
                                      "speakers_id": n_speakers, "pretrain": chosen.label,
                                      "f0_median": training_f0_median(paths) if model_cfg.use_f0 else None})
    return trainer.fit()

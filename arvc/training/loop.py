"""The training loop: per optimizer step, a discriminator update, then a generator update.

Read top to bottom: :class:`Trainer` builds the models/optimizers, ``fit`` runs epochs, ``train_step`` does
one optimizer step over ``grad_accum_steps`` micro-batches:

1. generator forward on every micro-batch (random ``segment_frames`` window per item);
2. discriminator: LSGAN loss on (real window, detached fake) per micro-batch, gradients averaged, clipped, step;
3. generator: adversarial + feature matching + mel + KL (+ energy) against the *updated* discriminator, step.

Accumulating this way gives exactly the update of one batch ``grad_accum_steps`` times larger (the
discriminator is frozen during the generator pass, so its gradients never mix). Multi-process runs average
gradients with one all-reduce per model (:mod:`arvc.training.distributed`; a DDP wrapper would reduce inside
``backward``, out of this two-phase order); every rank-0-only action goes through :meth:`Trainer.is_main`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from arvc import events
from arvc.data import Batch, BucketBatchSampler, collate
from arvc.allocator import tune_cpu_allocator
from arvc.errors import ArvcError
from arvc.formats import ModelMetadata, write_model
from arvc.models.commons import slice_segments
from arvc.precision.amx_workaround import route_around_amx_conv_bug
from arvc.models.discriminators import MultiPeriodDiscriminator, discriminator_version_for
from arvc.models.synthesizer import Synthesizer
from arvc.paths import ExperimentPaths
from arvc.training.checkpointing import load_pretrained, resume, save_training_checkpoint, saved_epochs
from arvc.training.config import TrainConfig
from arvc.training.distributed import any_rank, average_gradients, broadcast_parameters, sum_across
from arvc.training.reporting import NullLogger, TrainLogger
from arvc.training.losses import discriminator_adv_loss, generator_losses
from arvc.training.optimizers import build_optimizer, default_scheduler_for
from arvc.training.overtrain import OvertrainDetector
from arvc.training.runtime import dataloader_options
from arvc.training.schedulers import ScheduleConfig, build_scheduler
from arvc.training.state import Stop, StopReason, TrainState

log = logging.getLogger("arvc.train")


@dataclass
class TrainResult:
    epoch: int
    step: int
    stop_reason: str
    weights: Path | None
    first_epoch_losses: dict[str, float] = field(default_factory=dict)
    last_epoch_losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    stop: StopReason = StopReason.EPOCHS


@dataclass
class EpochRun:
    """Loss sums over the optimizer steps of one epoch, and why it ended early (None: the data ran out)."""

    sums: dict[str, float] = field(default_factory=dict)
    count: int = 0
    stop: Stop | None = None


@dataclass
class StepOutput:
    """One micro-batch's generator forward pass."""

    batch: Batch
    y_hat: torch.Tensor
    wave: torch.Tensor
    z_mask: torch.Tensor
    latents: tuple


def _plain(model: torch.nn.Module) -> torch.nn.Module:
    """The module under a torch.compile wrapper."""
    return getattr(model, "_orig_mod", model)


def build_discriminator(model_cfg, checkpointing: bool = False, size: str = "full") -> torch.nn.Module:
    """RVC's discriminator for the config (v1 / v2 periods; v3 for RefineGAN); ``size`` small/tiny = narrow."""
    version = discriminator_version_for(model_cfg.vocoder, model_cfg.version)
    if size != "full":
        from arvc.training.debug_models import WIDTHS, TinyMultiPeriodDiscriminator

        return TinyMultiPeriodDiscriminator(version, checkpointing=checkpointing, widths=WIDTHS[size])
    return MultiPeriodDiscriminator(version=version, checkpointing=checkpointing)


class Trainer:
    """One training run. ``dataset`` yields :class:`arvc.data.Item`; ``model_cfg`` is a ModelConfig."""

    def __init__(self, cfg: TrainConfig, model_cfg, dataset, paths: ExperimentPaths, accelerator, *,
                 precision: str = "fp32", metadata_extra: dict | None = None,
                 optimizer_factory: Callable | None = None, notes: list[str] | None = None,
                 evaluator: Callable[[Path], dict[str, float]] | None = None):
        self.cfg, self.model_cfg, self.dataset, self.paths = cfg, model_cfg, dataset, paths
        self.accelerator = accelerator
        self.device = accelerator.device
        tune_cpu_allocator(self.device)
        self.precision = precision
        self.metadata_extra = metadata_extra or {}
        self.evaluator = evaluator  # weights file -> mean scores, logged as eval/* every cfg.eval_every epochs
        self.hop = model_cfg.hop_length
        self.segment = model_cfg.segment_frames * self.hop

        net_g = Synthesizer(model_cfg, checkpointing=cfg.checkpointing)
        net_d = build_discriminator(model_cfg, cfg.checkpointing, size=cfg.model_size)
        expect = f"{model_cfg.version} {model_cfg.sample_rate} Hz {model_cfg.vocoder}"
        if cfg.pretrained_g:
            load_pretrained(net_g, cfg.pretrained_g, "G", expect)
        if cfg.pretrained_d:
            load_pretrained(net_d, cfg.pretrained_d, "D", expect)
        self.from_scratch = not (cfg.pretrained_g or cfg.pretrained_d)
        self.net_g, self.net_d = net_g.to(self.device), net_d.to(self.device)
        route_around_amx_conv_bug(self.net_g)
        route_around_amx_conv_bug(self.net_d)
        broadcast_parameters(self.net_g, self.net_d)

        make_opt = optimizer_factory or self._build_optimizer
        optim_g, optim_d = make_opt(self.net_g.parameters()), make_opt(self.net_d.parameters())
        self.optim_g, self.optim_d = accelerator.prepare(optim_g, optim_d)
        self.notes = list(notes or [])
        self._maybe_compile()

        self.sampler = BucketBatchSampler(
            dataset.lengths(), cfg.batch_size, seed=cfg.seed, num_replicas=accelerator.num_processes,
            rank=accelerator.process_index, group=cfg.grad_accum_steps)
        self.steps_per_epoch = max(1, len(self.sampler) // cfg.grad_accum_steps)
        self.state = TrainState()
        self.overtrain = OvertrainDetector(cfg.overtrain_threshold, cfg.overtrain_smoothing)
        self.logger: TrainLogger | NullLogger = NullLogger()
        self._steps_here = 0

    # ---------------------------------------------------------------------------------------------- setup
    def _build_optimizer(self, params) -> torch.optim.Optimizer:
        cfg = self.cfg
        name, extra = cfg.optimizer, {}
        if cfg.bf16_adamw:
            name, extra = "AnyPrecisionAdamW", {"momentum_dtype": torch.bfloat16, "variance_dtype": torch.bfloat16}
        elif cfg.use_8bit_adam:
            name = "AdamW8bit"
        return build_optimizer(name, params, cfg.learning_rate, betas=cfg.betas, eps=cfg.eps,
                               weight_decay=cfg.weight_decay, device=self.device, **extra)

    def _build_scheduler(self, optim, last_epoch: int):
        cfg = self.cfg
        name = "cosine" if cfg.cosine_lr else (cfg.scheduler or default_scheduler_for(
            "AnyPrecisionAdamW" if cfg.bf16_adamw else cfg.optimizer))
        sched = ScheduleConfig(epochs=cfg.epochs, gamma=cfg.lr_decay, warmup_epochs=cfg.warmup_epochs)
        inner = getattr(optim, "optimizer", optim)
        return build_scheduler(name, inner, sched, last_epoch=last_epoch)

    def _maybe_compile(self) -> None:
        cfg = self.cfg
        want = cfg.compile_model or (cfg.fast_train and self.device.type == "cuda")
        if not want:
            if cfg.fast_train:
                self.notes.append("fast_train: torch.compile(mode='reduce-overhead') uses CUDA graphs; skipped on "
                                  f"{self.device.type} (force it with --compile_model)")
            return
        mode = "reduce-overhead" if self.device.type == "cuda" else "default"
        self.net_g = torch.compile(self.net_g, mode=mode, dynamic=True)
        self.net_d = torch.compile(self.net_d, mode=mode, dynamic=True)

    @property
    def is_main(self) -> bool:
        """True on the one process that saves and logs."""
        return self.accelerator.is_main_process

    @property
    def world(self) -> int:
        return self.accelerator.num_processes

    def _grad_norm(self, model: torch.nn.Module) -> torch.Tensor:
        """Total gradient norm (before clipping); clips to ``grad_clip`` when set."""
        max_norm = self.cfg.grad_clip if self.cfg.grad_clip else float("inf")
        norm = self.accelerator.clip_grad_norm_(model.parameters(), max_norm)
        return norm if isinstance(norm, torch.Tensor) else torch.tensor(float(norm))

    # ----------------------------------------------------------------------------------------------- data
    def batches(self, epoch: int, skip: int = 0) -> Iterator[Batch]:
        """The batches of ``epoch`` (same order for the same epoch), without the first ``skip``."""
        self.sampler.set_epoch(epoch)
        cached = not hasattr(self.dataset, "entries")
        opts = {"num_workers": 0} if cached else dataloader_options(self.device, fast_train=self.cfg.fast_train,
                                                                    num_workers=self.cfg.num_workers)
        order = list(self.sampler)[skip:] if skip else self.sampler
        loader = torch.utils.data.DataLoader(self.dataset, batch_sampler=order, collate_fn=collate, **opts)
        for batch in loader:
            yield batch.to(self.device, non_blocking=True)

    # ----------------------------------------------------------------------------------------------- step
    def generator_forward(self, batch: Batch) -> StepOutput:
        with self.accelerator.autocast():
            y_hat, ids_slice, _x_mask, z_mask, latents = self.net_g(
                batch.phone, batch.phone_lengths, batch.pitch, batch.pitchf, batch.spec, batch.spec_lengths, batch.sid)
        wave = slice_segments(batch.wav, ids_slice * self.hop, self.segment)
        return StepOutput(batch, y_hat, wave, z_mask, latents)

    def discriminator_loss(self, out: StepOutput) -> torch.Tensor:
        with self.accelerator.autocast():
            real, fake = self._discriminate(out.wave, out.y_hat.detach())
        return discriminator_adv_loss(real, fake)

    def _discriminate(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[list, list]:
        """Sub-discriminator logits for ``real`` and ``fake`` ``(B, 1, N)`` from one pass over ``(2B, 1, N)``.

        Same values as ``net_d(real, fake)`` (no layer mixes items), with larger, faster convolutions.
        Compiled or checkpointed discriminators take their own forward.
        """
        net = self.net_d
        if net is not _plain(net) or getattr(net, "checkpointing", False) or not hasattr(net, "discriminators"):
            y_r, y_g, _, _ = net(real, fake)
            return y_r, y_g
        both = torch.cat([real, fake])
        logits = [d(both)[0] for d in net.discriminators]
        b = real.shape[0]
        return [x[:b] for x in logits], [x[b:] for x in logits]

    def generator_loss(self, out: StepOutput) -> dict[str, torch.Tensor]:
        with self.accelerator.autocast():
            _, fake, fmap_real, fmap_fake = self.net_d(out.wave, out.y_hat)
        _z, z_p, m_p, logs_p, _m_q, logs_q = out.latents
        mc = self.model_cfg
        return generator_losses(
            real=out.wave, fake=out.y_hat, disc_fake=fake, fmap_real=fmap_real, fmap_fake=fmap_fake,
            z_p=z_p, logs_q=logs_q, m_p=m_p, logs_p=logs_p, z_mask=out.z_mask, sample_rate=mc.sample_rate,
            hop=self.hop, n_fft=mc.filter_length, n_mels=mc.n_mel_channels, weights=self.cfg.weights,
            multiscale=self.cfg.multiscale_loss, energy=self.cfg.energy_use)

    def train_step(self, micro_batches: list[Batch]) -> dict[str, float] | None:
        """One optimizer step of D then G over ``micro_batches``; returns the mean losses, or None if skipped."""
        k = len(micro_batches)
        outs = []
        for m, b in enumerate(micro_batches):
            self._seed_micro_batch(k, m)
            outs.append(self.generator_forward(b))

        # discriminator
        self.optim_d.zero_grad(set_to_none=True)
        loss_d = torch.zeros((), device=self.device)
        for out in outs:
            loss = self.discriminator_loss(out)
            self.accelerator.backward(loss / k)
            loss_d = loss_d + loss.detach() / k
        average_gradients(self.net_d)
        norm_d = self._grad_norm(self.net_d)
        skip_d = any_rank(not torch.isfinite(loss_d).item(), self.device)
        if not skip_d:
            self.optim_d.step()
        self.optim_d.zero_grad(set_to_none=True)

        # generator, against the updated (frozen) discriminator
        self.optim_g.zero_grad(set_to_none=True)
        self.net_d.requires_grad_(False)
        sums: dict[str, torch.Tensor] = {}
        try:
            for out in outs:
                losses = self.generator_loss(out)
                self.accelerator.backward(losses["loss/g/total"] / k)
                for name, value in losses.items():
                    sums[name] = sums.get(name, 0) + value.detach() / k
        finally:
            self.net_d.requires_grad_(True)
        average_gradients(self.net_g)
        norm_g = self._grad_norm(self.net_g)
        skip_g = any_rank(not torch.isfinite(sums["loss/g/total"]).item(), self.device)
        if not skip_g:
            self.optim_g.step()
        self.optim_g.zero_grad(set_to_none=True)

        self._last = outs[-1]
        names = ["loss/d/total", *sums, "grad/norm_d", "grad/norm_g"]
        values = torch.stack([loss_d.float(), *(v.float() for v in sums.values()), norm_d.float().to(self.device),
                              norm_g.float().to(self.device)]).tolist()
        result = dict(zip(names, values))
        result["learning_rate"] = self.optim_g.param_groups[0]["lr"]
        self.last_losses = result
        return None if (skip_d or skip_g) else result

    def _seed_micro_batch(self, k: int, m: int) -> None:
        """Seed the random draws of micro-batch ``m`` (of ``k`` per rank) from (seed, step, its place in the global
        batch): windows and noise then depend on which data is drawn, not on how many processes draw it, so
        N ranks x batch B equal one process with B x N accumulation, and a resumed run draws what it would have."""
        place = self.accelerator.process_index * k + m
        key = np.random.SeedSequence([self.cfg.seed, self.state.step, place]).generate_state(1)[0]
        torch.manual_seed(int(key))

    # ------------------------------------------------------------------------------------------------ run
    def fit(self) -> TrainResult:
        """Resume (or start), then epochs until --epochs, --max_steps, the time budget, overtraining or too
        many non-finite steps; returns where it stopped and the final weights (main process)."""
        cfg = self.cfg
        start_time = time.perf_counter()
        self.resume_or_start()
        sched_g = self._build_scheduler(self.optim_g, self.state.epoch - 1)
        sched_d = self._build_scheduler(self.optim_d, self.state.epoch - 1)
        self._start_logger()
        stop = self._already_done()
        self.state.finished = stop is not None
        if stop is None:
            self.state.stop_reason = ""
        deadline = start_time + 60 * cfg.max_minutes if cfg.max_minutes else None
        first_losses: dict[str, float] = {}
        epoch_losses: dict[str, float] = {}
        self._nonfinite_in_row = 0
        epoch = self.state.epoch
        while stop is None and epoch < cfg.epochs:
            epoch += 1
            run = self.run_epoch(epoch, deadline)
            if run.stop is not None and run.stop.reason is StopReason.NON_FINITE:
                stop = run.stop
                break
            sched_g.step()
            sched_d.step()
            epoch_losses = self._reduce_means(run.sums, run.count)
            first_losses = first_losses or dict(epoch_losses)
            stop = self.end_epoch(epoch, epoch_losses, run.stop)
        return self._finish(stop, first_losses, epoch_losses, start_time)

    def resume_or_start(self) -> None:
        """Load the latest G/D checkpoint pair of the folder, if any (models, optimizers, scaler, state)."""
        done = saved_epochs(self.paths)
        if done:
            latest = done[-1]
            self.state, scaler_state = resume(self.paths, latest, net_g=_plain(self.net_g), net_d=_plain(self.net_d),
                                              optim_g=self.optim_g, optim_d=self.optim_d,
                                              steps_per_epoch=self.steps_per_epoch)
            if scaler_state and self.accelerator.scaler is not None:
                self.accelerator.scaler.load_state_dict(scaler_state)
            self.overtrain.load_state_dict(self.state.overtrain or {})
            self._info(f"resuming from epoch {latest} (step {self.state.step}) in {self.paths.root}")
            if self.state.processes and self.state.processes != self.world:
                self._info(f"saved by {self.state.processes} process(es), now {self.world}: the global batch is now "
                           f"{self.world} x {self.cfg.batch_size} x {self.cfg.grad_accum_steps} accumulation, "
                           f"{self.steps_per_epoch} steps per epoch; the learning rate and its per-epoch schedule "
                           f"are unchanged")
        else:
            self._info("no pretrained G/D given: training from scratch" if self.from_scratch
                       else f"starting from pretrains {self.cfg.pretrained_g or '-'} / {self.cfg.pretrained_d or '-'}")
        for note in self.notes:
            self._info(note)

    def _start_logger(self) -> None:
        if not self.is_main:
            return
        total = self.cfg.epochs * self.steps_per_epoch
        if self.cfg.max_steps:
            total = min(total, self.cfg.max_steps)
        self.logger = TrainLogger(self.paths.eval_dir, log_every=self.cfg.log_every, progress=self.cfg.progress,
                                  total_steps=total, initial_step=min(self.state.step, total))

    def _already_done(self) -> Stop | None:
        cfg, state = self.cfg, self.state
        if state.epoch >= cfg.epochs:
            return Stop(StopReason.ALREADY_TRAINED, f"already trained to epoch {state.epoch} (--epochs {cfg.epochs})")
        if cfg.max_steps and state.step >= cfg.max_steps:
            return Stop(StopReason.ALREADY_TRAINED, f"already at step {state.step} (--max_steps {cfg.max_steps})")
        if cfg.overtrain_detect and self.overtrain.triggered:
            return Stop(StopReason.ALREADY_TRAINED, f"overtraining was detected before ({self.overtrain.summary()})")
        return None

    def run_epoch(self, epoch: int, deadline: float | None) -> EpochRun:
        """Optimizer steps over one pass of the data; stops early at a step limit or too many non-finite steps."""
        _plain(self.net_g).train()
        _plain(self.net_d).train()
        run = EpochRun()
        pending: list[Batch] = []
        done_before = self.resume_position() if epoch == self.state.epoch + 1 else 0
        if done_before:
            self._info(f"epoch {epoch}: continuing after the {done_before} steps saved mid-epoch")
        for batch in self.batches(epoch, skip=done_before * self.cfg.grad_accum_steps):
            pending.append(batch)
            if len(pending) < self.cfg.grad_accum_steps:
                continue
            losses = self.train_step(pending)
            pending = []
            if losses is None:
                run.stop = self._skipped_step(epoch)
            else:
                self._nonfinite_in_row = 0
                self._record_step(epoch, losses, run)
                run.stop = self._step_limit(deadline)
                if run.stop is None:
                    self._maybe_save_mid_epoch(done_before + run.count)
            if run.stop is not None:
                break
        return run

    def resume_position(self) -> int:
        """Steps of the current epoch a mid-epoch save already did, in this run's steps (:func:`steps_done`)."""
        return steps_done(self.state.steps_into_epoch, self.state.batches_per_step,
                          self.world * self.cfg.grad_accum_steps)

    def _skipped_step(self, epoch: int) -> Stop | None:
        self._nonfinite_in_row += 1
        self.state.nonfinite_steps += 1
        self._info(f"non-finite loss at epoch {epoch}, step {self.state.step + 1}: step skipped "
                   f"({self._nonfinite_in_row} in a row)")
        if self._nonfinite_in_row < self.cfg.max_nonfinite_steps:
            return None
        return Stop(StopReason.NON_FINITE, f"{self._nonfinite_in_row} non-finite steps in a row; stopped, last good "
                                           f"checkpoint kept (try a lower --learning_rate or --precision fp32)")

    def _record_step(self, epoch: int, losses: dict[str, float], run: EpochRun) -> None:
        self.state.step += 1
        self._steps_here += 1
        for name, v in losses.items():
            run.sums[name] = run.sums.get(name, 0.0) + v
        run.count += 1
        self.logger.step(self.state.step, epoch, losses)
        if self.is_main and self.state.step % max(1, self.cfg.log_every) == 0:
            self._log_images()

    def _step_limit(self, deadline: float | None) -> Stop | None:
        cfg = self.cfg
        if cfg.max_steps and self.state.step >= cfg.max_steps:
            return Stop(StopReason.MAX_STEPS, f"reached --max_steps {cfg.max_steps}")
        if deadline is not None and any_rank(time.perf_counter() >= deadline, self.device):
            return Stop(StopReason.TIME_BUDGET, f"reached the time budget (--max_minutes {cfg.max_minutes:g})")
        return None

    def _maybe_save_mid_epoch(self, steps_into_epoch: int) -> None:
        """Every ``save_every_minutes``: the checkpoint set of the last finished epoch, overwritten with the
        current weights and ``steps_into_epoch``, so a resume continues at this step (ranks agree on when)."""
        minutes = self.cfg.save_every_minutes
        if not minutes:
            return
        last = getattr(self, "_last_save_time", None)
        if last is None:
            self._last_save_time = time.perf_counter()
            return
        if any_rank(time.perf_counter() - last >= 60 * minutes, self.device):
            self.state.steps_into_epoch = steps_into_epoch
            self.save(self.state.epoch)

    def end_epoch(self, epoch: int, losses: dict[str, float], stop: Stop | None) -> Stop | None:
        """Record the epoch, check overtraining, save (every --save_every, and last) and evaluate."""
        cfg = self.cfg
        self.state.epoch = epoch
        self.state.steps_into_epoch = 0
        self.state.last_losses = losses
        self.logger.end_epoch(epoch, self.state.step, losses)
        if cfg.overtrain_detect and "loss/g/total" in losses and self.overtrain.update(epoch, losses["loss/g/total"]):
            stop = Stop(StopReason.OVERTRAINING, f"overtraining detected ({self.overtrain.summary()})")
        self.state.overtrain = self.overtrain.state_dict()
        last = stop is not None or epoch >= cfg.epochs
        if last:
            stop = stop or Stop(StopReason.EPOCHS, f"reached --epochs {cfg.epochs}")
            self.state.finished = True
            self.state.stop_reason = stop.message
        if epoch % max(1, cfg.save_every) == 0 or last:
            self.save(epoch, weights=cfg.save_every_weights or last)
        if self.evaluator is not None and cfg.eval_every and epoch % cfg.eval_every == 0:
            self.evaluate_now(epoch)
        return stop

    def _finish(self, stop: Stop | None, first_losses: dict[str, float], epoch_losses: dict[str, float],
                start_time: float) -> TrainResult:
        aborted = stop is not None and stop.reason is StopReason.NON_FINITE
        weights = self.final_weights() if (self.state.finished and not aborted) else None
        self.logger.close()
        self.accelerator.wait_for_everyone()
        if stop is None:
            stop = Stop(StopReason.EPOCHS, self.state.stop_reason or f"reached --epochs {self.cfg.epochs}")
        self._info(f"training ended at epoch {self.state.epoch}, step {self.state.step}: {stop.message}")
        if self.world > 1:
            log.info("process %d/%d: %d optimizer steps done", self.accelerator.process_index, self.world,
                     self._steps_here)
        return TrainResult(self.state.epoch, self.state.step, stop.message, weights, first_losses, epoch_losses,
                           time.perf_counter() - start_time, stop.reason)

    def _reduce_means(self, sums: dict[str, float], count: int) -> dict[str, float]:
        if self.world > 1:
            keys = sorted(sums)
            *totals, n = sum_across([sums[k] for k in keys] + [float(count)], self.device)
            sums, count = dict(zip(keys, totals)), int(n)
        return {k: v / count for k, v in sums.items()} if count else {}

    def _info(self, message: str) -> None:
        if self.is_main:
            if isinstance(self.logger, TrainLogger):
                self.logger.note(message)
            else:
                log.info(message)

    # ------------------------------------------------------------------------------------------ saving
    def save(self, epoch: int, weights: bool = False) -> None:
        """Write G/D checkpoints (and an inference model when asked); main process only, all writes atomic."""
        self._last_save_time = time.perf_counter()
        self.state.processes, self.state.batches_per_step = self.world, self.world * self.cfg.grad_accum_steps
        self.accelerator.wait_for_everyone()
        if not self.is_main:
            return
        scaler = self.accelerator.scaler.state_dict() if self.accelerator.scaler is not None else None
        save_training_checkpoint(
            self.paths, epoch, net_g=_plain(self.net_g), net_d=_plain(self.net_d), optim_g=self.optim_g,
            optim_d=self.optim_d, learning_rate=self.cfg.learning_rate, state=self.state, scaler_state=scaler,
            only_latest=self.cfg.save_only_latest)
        for path in (self.paths.g_checkpoint(epoch), self.paths.d_checkpoint(epoch)):
            events.artifact("checkpoint", path, epoch=epoch, step=self.state.step)
        if weights:
            self.write_weights(self.paths.weights(epoch, self.state.step))
        self._log_images()
        self._log_reference_audio()

    def evaluate_now(self, epoch: int) -> dict[str, float]:
        """Score the current generator with ``self.evaluator`` and log the means as ``eval/<name>`` (main process)."""
        self.accelerator.wait_for_everyone()
        if not self.is_main:
            return {}

        path = self.paths.weights(epoch, self.state.step)
        with tempfile.TemporaryDirectory(dir=self.paths.root) as tmp:
            if not path.is_file():
                path = self.write_weights(Path(tmp) / path.name)
            try:
                scores = self.evaluator(path)
            except (ArvcError, OSError) as e:  # a bad clip or reference must not end a training run
                self._info(f"evaluation at epoch {epoch} failed: {e}")
                return {}
        numeric = {k: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and v == v}
        self.logger.scalars({f"eval/{k}": v for k, v in numeric.items()}, self.state.step)
        self._info(f"eval at epoch {epoch}: " + ", ".join(f"{k} {v:.3f}" for k, v in numeric.items()))
        return numeric

    def metadata(self):
        mc = self.model_cfg
        extra = self.metadata_extra
        return ModelMetadata(
            sr=mc.sample_rate, f0=mc.use_f0, version=mc.version, vocoder=mc.vocoder,
            embedder_model=extra.get("embedder_model"), epoch=self.state.epoch, step=self.state.step,
            dataset_length=extra.get("dataset_length"),
            overtrain_info=self.overtrain.summary() if self.cfg.overtrain_detect else None,
            model_name=self.cfg.model_name, author=self.cfg.author or None,
            speakers_id=extra.get("speakers_id"), pretrain=extra.get("pretrain"),
            f0_median=extra.get("f0_median"))

    def write_weights(self, path: Path) -> Path:
        written = write_model(path, _plain(self.net_g), self.model_cfg, self.metadata())
        if self.is_main and path.parent == self.paths.root:  # not the evaluator's temporary copies
            events.artifact("model", written, epoch=self.state.epoch, step=self.state.step)
        return written

    def final_weights(self) -> Path | None:
        """``<model>_<E>e_<S>s.pth`` and ``<model>.pth`` in the experiment folder (main process)."""
        if not self.is_main:
            return None
        path = self.paths.weights(self.state.epoch, self.state.step)
        if not path.is_file():
            self.write_weights(path)
        final = self.paths.final_weights
        self.write_weights(final)
        return final

    # ---------------------------------------------------------------------------------------- tensorboard
    def _log_images(self) -> None:
        out = getattr(self, "_last", None)
        if out is not None:
            self.logger.mel_images(self.state.step, out.wave, out.y_hat, self.model_cfg)

    def _log_reference_audio(self) -> None:
        if isinstance(self.logger, TrainLogger) and len(self.dataset):
            first_save = self.state.epoch <= max(1, self.cfg.save_every)
            self.logger.reference_audio(self.state.step, _plain(self.net_g), self.dataset[0], self.device,
                                        self.model_cfg.sample_rate, self.hop, with_original=first_save)


def steps_done(saved_steps: int, saved_batches_per_step: int, batches_per_step: int) -> int:
    """``saved_steps`` of ``saved_batches_per_step`` global batches each, in steps of ``batches_per_step``
    (world size x accumulation) now; rounded up after a change, so no batch is trained twice and fewer than one
    step's worth of batches is left out of that epoch. ``saved_batches_per_step`` 0 = unknown (same as now)."""
    then = saved_batches_per_step or batches_per_step
    return saved_steps if then == batches_per_step else -(-saved_steps * then // batches_per_step)


def stopped_early(result: TrainResult) -> bool:
    """True when the run was aborted by non-finite losses (no final weights)."""
    return result.stop is StopReason.NON_FINITE


__all__ = ["Trainer", "TrainResult", "StopReason", "build_discriminator", "stopped_early"]

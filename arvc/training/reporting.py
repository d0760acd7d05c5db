"""TensorBoard scalars (averaged over ``log_every`` steps), mel images, reference audio, and the progress bar.

Only the main process creates a :class:`TrainLogger`; other ranks get :class:`NullLogger`.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from pathlib import Path

import torch

from arvc import events
from arvc.audio.spectrogram import mel_spectrogram

log = logging.getLogger("arvc.train")
METRICS_DENSE_STEPS = 20  # the loss dict of each of a run's first steps goes to the event stream...
METRICS_EVERY = 5  # ...then of every 5th step


def mel_image(mel: torch.Tensor) -> torch.Tensor:
    """Log mel ``(n_mels, T)`` -> a ``(1, n_mels, T)`` image in [0, 1], low frequencies at the bottom."""
    m = mel.detach().float().cpu()
    m = (m - m.min()) / (m.max() - m.min() + 1e-8)
    return m.flip(0).unsqueeze(0)


class ScalarAverager:
    """Running means of named scalars, reset after each flush."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            if math.isfinite(v):
                self.sums[k] += v
                self.counts[k] += 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums if self.counts[k]}

    def reset(self) -> None:
        self.sums.clear()
        self.counts.clear()


class TrainLogger:
    """Writes TensorBoard events under ``log_dir`` and drives a tqdm progress bar."""

    def __init__(self, log_dir: str | Path, *, log_every: int = 50, progress: bool = True, total_steps: int | None = None,
                 initial_step: int = 0):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(log_dir))
        self.log_every = max(1, log_every)
        self.window = ScalarAverager()
        self.progress = events.Progress("train", total_steps, "step", initial_step)
        self.bar = None
        if progress:
            from arvc.progress import progress_bar

            self.bar = progress_bar(total=total_steps, initial=initial_step, unit="step", desc="train", leave=True)

    def step(self, step: int, epoch: int, values: dict[str, float]) -> None:
        self.window.add(values)
        self.progress.set(step)
        if step - self.progress.start <= METRICS_DENSE_STEPS or step % METRICS_EVERY == 0:
            events.metrics("train", step, values, epoch)
        if step % self.log_every == 0:
            if self.bar is not None and self.bar.disable:  # no live bar (not a terminal): a line instead
                means = self.window.means()
                self.note(f"step {step} (epoch {epoch}): " + ", ".join(
                    f"{k.split('/', 1)[-1]} {v:.3f}" for k, v in means.items() if k.startswith("loss/")))
            self.flush(step)
        if self.bar is not None:
            self.bar.set_postfix_str(
                f"epoch {epoch} g {values.get('loss/g/total', float('nan')):.2f} "
                f"d {values.get('loss/d/total', float('nan')):.2f} mel {values.get('loss/g/mel', float('nan')):.2f}",
                refresh=False)
            self.bar.update(1)  # redraws when the bar's interval has passed

    def flush(self, step: int) -> None:
        for k, v in self.window.means().items():
            self.writer.add_scalar(k, v, step)
        self.window.reset()
        self.writer.flush()

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Write ``values`` now (not averaged), e.g. the ``eval/*`` scores."""
        for k, v in values.items():
            self.writer.add_scalar(k, v, step)
        self.writer.flush()

    def end_epoch(self, epoch: int, step: int, means: dict[str, float]) -> None:
        """Write the epoch means as ``epoch/<name>`` and print one summary line."""
        if self.window.sums:  # the steps since the last log_every boundary (short runs would show nothing)
            self.flush(step)
        for k, v in means.items():
            self.writer.add_scalar(f"epoch/{k.split('/', 1)[-1]}", v, epoch)
        parts = ", ".join(f"{k.split('/', 1)[-1]} {v:.3f}" for k, v in means.items() if k.startswith("loss/"))
        events.emit("epoch_end", stage="train", epoch=epoch, step=step, means=means)
        message = f"epoch {epoch} done (step {step}): {parts}"
        if self.bar is not None:
            self.bar.write(message)
        else:
            log.info(message)

    def images(self, step: int, mel_org: torch.Tensor, mel_gen: torch.Tensor) -> None:
        self.writer.add_image("slice/mel_org", mel_image(mel_org), step)
        self.writer.add_image("slice/mel_gen", mel_image(mel_gen), step)

    @torch.no_grad()
    def mel_images(self, step: int, wave: torch.Tensor, y_hat: torch.Tensor, model_cfg) -> None:
        """``slice/mel_org`` / ``slice/mel_gen`` of the first item of a step's real and generated ``(B, 1, N)``."""
        mc = model_cfg
        mel_org, mel_gen = (mel_spectrogram(w[:1, 0].float(), mc.sample_rate, mc.filter_length, mc.hop_length,
                                            mc.n_mel_channels)[0] for w in (wave, y_hat.detach()))
        self.images(step, mel_org, mel_gen)

    @torch.no_grad()
    def reference_audio(self, step: int, net: torch.nn.Module, item, device: torch.device, sample_rate: int,
                        hop: int, with_original: bool = False, max_frames: int = 300) -> None:
        """``audio/reference_gen``: the generator's conversion of a training item's first ``max_frames`` frames
        (and ``audio/reference_org``, the recording, when ``with_original``)."""
        frames = min(item.frames, max_frames)
        was_training = net.training
        net.eval()
        try:
            def first(t):
                return t[:frames].unsqueeze(0).to(device) if t is not None else None

            audio = net.infer(first(item.phone), torch.tensor([frames], device=device), first(item.pitch),
                              first(item.pitchf), torch.tensor([item.sid], device=device))[0]
            self.audio(step, "audio/reference_gen", audio[0], sample_rate)
            if with_original:
                self.audio(step, "audio/reference_org", item.wav[: frames * hop], sample_rate)
        finally:
            net.train(was_training)

    def audio(self, step: int, tag: str, wav: torch.Tensor, sample_rate: int) -> None:
        self.writer.add_audio(tag, wav.detach().float().cpu().reshape(1, -1).clamp(-1, 1), step, sample_rate=sample_rate)

    def note(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message)
        else:
            log.info(message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.writer.flush()
        self.writer.close()


class NullLogger:
    """What non-main processes log: nothing."""

    def step(self, *a, **k) -> None: ...
    def flush(self, *a, **k) -> None: ...
    def scalars(self, *a, **k) -> None: ...
    def end_epoch(self, *a, **k) -> None: ...
    def images(self, *a, **k) -> None: ...
    def audio(self, *a, **k) -> None: ...
    def mel_images(self, *a, **k) -> None: ...
    def reference_audio(self, *a, **k) -> None: ...
    def note(self, *a, **k) -> None: ...
    def close(self) -> None: ...

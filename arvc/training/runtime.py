"""Training's runtime: the ``accelerate.Accelerator`` (one process or a distributed launch), backend switches
(``--fast_train``, ``--deterministic``) and DataLoader options. Device and precision choices come from
:mod:`arvc.device`."""

from __future__ import annotations

import os

import torch

from arvc.device import default_accelerator, env_device, parse_gpu_ids, resolve_training_precision, select_device


def in_distributed_launch() -> bool:
    """True inside ``accelerate launch`` / ``torchrun`` (several processes)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def configure_backends(device: torch.device, *, fast_train: bool, deterministic: bool) -> list[str]:
    """Apply the ``--fast_train`` / ``--deterministic`` backend switches; returns one-line notes of what was skipped.

    fast_train on CUDA: TF32 matmul + cuDNN TF32, cudnn.benchmark, non-deterministic cuDNN (unless deterministic).
    None of these changes a loss or a gradient path; on other devices they are skipped.
    """
    notes: list[str] = []
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        if device.type == "cuda":
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if not fast_train:
        return notes
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = not deterministic
        torch.backends.cudnn.deterministic = deterministic
    else:
        notes.append(f"fast_train: TF32, cudnn.benchmark and the CUDA allocator settings need CUDA; "
                     f"skipped on {device.type}")
    return notes


def dataloader_options(device: torch.device, *, fast_train: bool, num_workers: int | None = None) -> dict:
    """DataLoader keyword arguments: fast_train uses min(8, cpus // 2) workers, prefetch 16, pinned, persistent."""
    cpus = os.cpu_count() or 1
    workers = num_workers if num_workers is not None else (min(8, cpus // 2) if fast_train else 0)
    opts: dict = {"num_workers": workers}
    if workers > 0:
        opts["persistent_workers"] = fast_train
        opts["prefetch_factor"] = 16 if fast_train else 2
    opts["pin_memory"] = fast_train and device.type == "cuda"
    return opts


def make_accelerator(gpu: str | int | None = None, precision: str = "fp32", *,
                     log_dir: str | os.PathLike | None = None):
    """Build the ``accelerate.Accelerator`` for training and return ``(accelerator, precision_used, notes)``.

    Device order as :func:`select_device` ($ARVC_DEVICE > --gpu > accelerator > CPU). Under ``accelerate launch``
    / ``torchrun`` every process takes its own local device (gloo on CPU). fp16 uses Accelerate's GradScaler.
    Gradient accumulation is done by the loop (the GAN needs the discriminator updated before the generator
    step), so the Accelerator itself accumulates nothing.
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    notes: list[str] = []
    env = env_device()
    if env is not None:
        wanted = env
    elif in_distributed_launch():
        kind = default_accelerator()
        wanted = torch.device(kind) if kind and (gpu is None or parse_gpu_ids(gpu)) else torch.device("cpu")
    else:
        wanted = select_device(gpu)
    if wanted.type == "cuda" and wanted.index is not None and not in_distributed_launch():
        torch.cuda.set_device(wanted.index)
    used, prec_notes = resolve_training_precision(wanted, precision)
    notes += prec_notes
    from accelerate.state import AcceleratorState, GradientState

    # one process may train several times (notebooks, quickstart, tests): forget the previous run's settings,
    # keeping the process group of a distributed launch
    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    accelerator = Accelerator(
        cpu=wanted.type == "cpu",
        mixed_precision={"fp32": "no", "fp16": "fp16", "bf16": "bf16"}[used],
        gradient_accumulation_steps=1,
        project_dir=str(log_dir) if log_dir else None,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=False, broadcast_buffers=False)],
    )
    return accelerator, used, notes

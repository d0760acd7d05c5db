"""``arvc train <model>``: train a voice model on an extracted experiment (flags as Applio, plus speed options).

Also runs under ``accelerate launch -m arvc.api.cli train ...`` / ``torchrun`` for several processes.
"""

from __future__ import annotations

import argparse

from arvc.api.options_train import TRAIN


def config_from_args(args: argparse.Namespace):
    from arvc.training.config import LossWeights, TrainConfig

    return TrainConfig(**TRAIN.config_kwargs(args), weights=LossWeights(mel=args.c_mel, kl=args.c_kl))

def _relaunch_multi_gpu(args: argparse.Namespace) -> int | None:
    """``--gpu 0,1`` outside a launcher: start one process per GPU through ``accelerate launch``."""
    import os
    import subprocess
    import sys

    from arvc.device import device_count, parse_gpu_ids
    from arvc.training.runtime import in_distributed_launch

    ids = parse_gpu_ids(args.gpu)
    if len(ids) < 2 or in_distributed_launch() or os.environ.get("ARVC_DEVICE") or device_count("cuda") < 2:
        return None
    argv = sys.argv[sys.argv.index("train") + 1:] if "train" in sys.argv else []
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(len(ids)),
           "--gpu_ids", ",".join(map(str, ids)), "-m", "arvc.api.cli", "train", *argv]
    return subprocess.call(cmd)


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.stages.train import train
    from arvc.training.loop import stopped_early

    code = _relaunch_multi_gpu(args)
    if code is not None:
        return code
    try:
        cfg = config_from_args(args)
    except ValueError as e:
        raise ArvcError(str(e)) from None
    result = train(cfg)
    where = f"; model: {result.weights}" if result.weights else ""
    print(f"{cfg.model_name}: epoch {result.epoch}, step {result.step} ({result.stop_reason}){where}")
    return 1 if stopped_early(result) else 0

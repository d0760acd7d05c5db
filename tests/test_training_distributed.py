"""Training on several "machines": two launcher invocations with machine ranks 0 and 1 on loopback (one CPU
process each, gloo) against one process on the same global batch; resuming after a change of world size."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from _training_data import make_experiment

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ["train", "--model_size", "tiny", "--from_scratch", "--progress", "false", "--log_every", "1",
         "--batch_size", "2", "--epochs", "1", "--save_every", "1"]


def _env(logs: Path) -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", ARVC_LOGS_DIR=str(logs), PYTHONPATH=str(ROOT))
    env.pop("ARVC_DEVICE", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launcher(kind: str, rank: int, port: int) -> list[str]:
    if kind == "torchrun":
        return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank", str(rank),
                "--nproc_per_node", "1", "--master_addr", "127.0.0.1", "--master_port", str(port)]
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_machines", "2",
            "--machine_rank", str(rank), "--num_processes", "2", "--main_process_ip", "127.0.0.1",
            "--main_process_port", str(port), "--mixed_precision", "no", "--dynamo_backend", "no"]


def _two_machines(kind: str, logs: Path, name: str, *extra: str) -> list[str]:
    port = _free_port()
    procs = [subprocess.Popen([*_launcher(kind, r, port), "-m", "arvc.api.cli", *TRAIN, name, *extra],
                              env=_env(logs), cwd=logs.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for r in (0, 1)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
    return outs


def _one_process(logs: Path, name: str, *extra: str) -> str:
    out = subprocess.run([sys.executable, "-m", "arvc.api.cli", *TRAIN, name, *extra], env=_env(logs),
                         cwd=logs.parent, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    return out.stdout + out.stderr


def _weights(root: Path, epoch: int) -> dict[str, torch.Tensor]:
    from arvc.formats import load_checkpoint

    return {f"{kind}.{k}": v for kind in "GD" for k, v in load_checkpoint(root / f"{kind}_{epoch}.pth").model.items()}


def _weights_at_init() -> dict[str, torch.Tensor]:
    """The tiny G/D as every run above builds them before its first step (seed 1234)."""
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer
    from arvc.training.loop import build_discriminator

    mc = ModelConfig.for_size("tiny", version="v2", sample_rate=40000, vocoder="HiFi-GAN", use_f0=True)
    torch.manual_seed(1234)
    g, d = Synthesizer(mc), build_discriminator(mc, size="tiny")
    return {**{f"G.{k}": v for k, v in g.state_dict().items()}, **{f"D.{k}": v for k, v in d.state_dict().items()}}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One process, batch 2 x 2 accumulation (global batch 4): 8 items = 2 optimizer steps."""
    logs = tmp_path_factory.mktemp("ref") / "logs"
    make_experiment(logs / "ref", n_items=8, seconds=0.4)
    _one_process(logs, "ref", "--grad_accum_steps", "2")
    return _weights(logs / "ref", 1)


@pytest.mark.parametrize("kind", ["torchrun", "accelerate"])
def test_two_machines_equal_one_process_on_the_same_global_batch(tmp_path, reference, kind):
    logs = tmp_path / "logs"
    make_experiment(logs / "two", n_items=8, seconds=0.4)
    outs = _two_machines(kind, logs, "two")  # 2 ranks x batch 2 = global batch 4: 2 optimizer steps
    steps = {int(m.group(1)): int(m.group(2)) for o in outs for m in re.finditer(r"process (\d)/2: (\d+) optim", o)}
    assert steps == {0: 2, 1: 2}, outs[0][-2000:]
    root = logs / "two"
    assert sorted(p.name for p in root.glob("[GD]_*.pth")) == ["D_1.pth", "G_1.pth"]
    assert len(list((root / "eval").glob("events.out.tfevents.*"))) == 1  # rank 0 alone writes TensorBoard
    assert sum("training ended at epoch 1" in o for o in outs) == 1 and "model:" not in outs[1]
    assert not list(root.rglob(".*.tmp-*"))
    state = json.loads((root / "train_state_1.json").read_text())
    assert (state["processes"], state["batches_per_step"], state["step"]) == (2, 2, 2)
    init, two = _weights_at_init(), _weights(root, 1)
    assert two.keys() == reference.keys() == init.keys()
    for k, ref in reference.items():
        assert (ref - init[k]).abs().max() > 1e-5, k  # both runs trained every tensor
        torch.testing.assert_close(two[k], ref, rtol=1e-5, atol=1e-7, msg=k)
    if kind == "torchrun":
        _resume_on_one_process(logs, root)


def _resume_on_one_process(logs: Path, root: Path) -> None:
    """Epoch 2 on one process after epoch 1 on two: 4 steps of batch 2 (the global batch halves, the LR stays)."""
    from arvc.formats import load_checkpoint

    log = _one_process(logs, "two", "--epochs", "2")
    assert "resuming from epoch 1 (step 2)" in log and "saved by 2 process(es), now 1" in log, log[-2000:]
    assert "epoch 2, step 6" in log
    g2 = load_checkpoint(root / "G_2.pth")
    assert g2.iteration == 2 and float(g2.optimizer["state"][0]["step"]) == 6  # Adam moments carried over
    assert g2.optimizer["param_groups"][0]["lr"] == pytest.approx(1e-4 * 0.999875 ** 2, rel=1e-9)


def test_mid_epoch_position_after_a_change_of_world_size():
    from arvc.training.loop import steps_done

    assert steps_done(3, 0, 4) == 3 and steps_done(3, 4, 4) == 3  # unknown or unchanged: as saved
    assert steps_done(3, 2, 4) == 2  # 6 global batches done, now 4 per step: resume after 8 (2 skipped)
    assert steps_done(3, 4, 2) == 6  # 12 batches done, now 2 per step
    assert steps_done(5, 3, 2) == 8 and steps_done(0, 8, 1) == 0

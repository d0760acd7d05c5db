"""Training as the user runs it: the CLI in a subprocess (SIGKILL + resume) and two processes (DDP on gloo)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _training_data import make_experiment

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path) -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", ARVC_LOGS_DIR=str(tmp_path / "logs"), PYTHONPATH=str(ROOT))
    env.pop("ARVC_DEVICE", None)
    return env


def _train_cmd(name: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "arvc.api.cli", "train", name, "--model_size", "tiny", "--from_scratch", "--batch_size", "4",
            "--progress", "false", "--log_every", "1", *extra]


def test_sigkill_mid_run_then_resume(tmp_path):
    from arvc.formats import load_checkpoint
    from arvc.paths import ExperimentPaths
    from arvc.training.checkpointing import saved_epochs

    make_experiment(tmp_path / "logs" / "res", n_items=4, seconds=0.4)  # one step per epoch
    paths = ExperimentPaths.of("res", tmp_path / "logs")
    cmd = _train_cmd("res", "--epochs", "6", "--save_every", "2")
    proc = subprocess.Popen(cmd, env=_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while not paths.g_checkpoint(4).exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stdout.read().decode()[-2000:]
    done = saved_epochs(paths)
    assert done and done[-1] in (2, 4)
    for e in done:  # whatever the kill hit, saved files are whole
        assert load_checkpoint(paths.g_checkpoint(e)).iteration == e
        assert load_checkpoint(paths.d_checkpoint(e)).iteration == e

    out = subprocess.run(cmd, env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert f"resuming from epoch {done[-1]} (step {done[-1]})" in log
    assert "epoch 6, step 6" in log
    g6 = load_checkpoint(paths.g_checkpoint(6))
    assert g6.iteration == 6 and g6.learning_rate == pytest.approx(1e-4)
    lr = g6.optimizer["param_groups"][0]["lr"]
    assert lr == pytest.approx(1e-4 * 0.999875 ** 6, rel=1e-9)  # one decay per epoch, across the restart
    assert float(g6.optimizer["state"][0]["step"]) == 6  # Adam state carried over the restart
    assert (paths.root / "res.pth").is_file()
    again = subprocess.run(cmd, env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already trained to epoch 6" in again.stdout + again.stderr


def test_two_processes_gloo_only_rank0_writes(tmp_path):
    make_experiment(tmp_path / "logs" / "ddp", n_items=8, seconds=0.4)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(29500 + os.getpid() % 1000), *_train_cmd("ddp", "--epochs", "2", "--save_every", "1",
                                                          "--batch_size", "2", "--save_only_latest")[1:]]
    out = subprocess.run(cmd, env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=400)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    steps = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"process (\d)/2: (\d+) optimizer steps", log)}
    assert steps == {0: 4, 1: 4}, log[-3000:]  # 8 items / (2 ranks x batch 2) = 2 steps per epoch each
    root = tmp_path / "logs" / "ddp"
    assert len(list((root / "eval").glob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in root.glob("[GD]_*.pth")) == ["D_2.pth", "G_2.pth"]  # --save_only_latest
    assert log.count("training ended at epoch 2") == 1  # rank 0 reports, rank 1 stays quiet
    assert not list(root.rglob(".*.tmp-*"))

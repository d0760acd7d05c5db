"""One writer per experiment: a second run exits 1 naming the owner's PID; a killed owner's lock is taken over."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from _robustness import assert_one_error, cli_env
from _training_data import make_experiment
from arvc.errors import ArvcError

LOCK_NAME = ".arvc.lock"


def _train_cmd(name: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "arvc.api.cli", "train", name, "--model_size", "tiny", "--from_scratch", "--batch_size", "4",
            "--progress", "false", "--save_every", "1", *extra]


def test_second_train_refused_then_stale_lock_taken_over(tmp_path):
    root = make_experiment(tmp_path / "logs" / "lk", n_items=4, seconds=0.3)
    env = cli_env(ARVC_LOGS_DIR=str(tmp_path / "logs"))
    first = subprocess.Popen(_train_cmd("lk", "--epochs", "500"), env=env, cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (root / "G_1.pth").exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert first.poll() is None, "the first run ended early"
        second = subprocess.run(_train_cmd("lk", "--epochs", "500"), env=env, cwd=tmp_path, capture_output=True,
                                text=True, timeout=120)
        assert_one_error(second, f"PID {first.pid}", "arvc train")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert (root / LOCK_NAME).read_text().split()[0] == str(first.pid)  # left behind by the kill
    third = subprocess.run(_train_cmd("lk", "--epochs", "1"), env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert third.returncode == 0, third.stderr[-3000:]
    assert f"stale lock of `arvc train` (PID {first.pid}" in third.stderr
    assert not (root / LOCK_NAME).exists()


def test_lock_in_process(tmp_path):
    from arvc.locks import experiment_lock

    root = tmp_path / "exp"
    with experiment_lock(root, "extract"):
        with experiment_lock(root, "extract"):  # re-entrant (quickstart runs the stages in one process)
            pass
        assert (root / LOCK_NAME).is_file()
        code = (f"import sys; from arvc.locks import experiment_lock\n"
                f"try:\n  with experiment_lock({str(root)!r}, 'train'): pass\n"
                f"except Exception as e: print(e); sys.exit(1)")
        other = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True)
        assert other.returncode == 1 and "`arvc extract`" in other.stdout
    assert not (root / LOCK_NAME).exists()
    with experiment_lock(tmp_path / "new" / "exp", "preprocess"):
        pass
    assert not (tmp_path / "new").exists()  # folders made only for the lock are removed when left empty
    with pytest.raises(ArvcError, match="not a plain folder"):
        from arvc.stages.train import train
        from arvc.training.config import TrainConfig

        train(TrainConfig(model_name="../x"))

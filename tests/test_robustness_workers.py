"""SIGKILL of a run with worker processes (preprocess --cpu_cores 2, extract's F0 pool) leaves no process behind."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from _robustness import cli_env


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _kill_when_workers_run(cmd: list[str], env: dict, cwd: Path, started, n_workers: int = 2) -> set[int]:
    """Start ``cmd``, wait until it has ``n_workers`` children and ``started()`` (work is being written), SIGKILL it."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    workers: set[int] = set()
    while time.time() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        if len(workers) >= n_workers and started():
            break
        time.sleep(0.1)
    assert proc.poll() is None and len(workers) >= n_workers, f"no worker pool seen (exit {proc.poll()})"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return workers


def _assert_gone(workers: set[int], seconds: float = 8.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and any(_running(w) for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if _running(w)]
    for w in alive:  # clean up before failing
        subprocess.run(["kill", "-9", str(w)])
    assert not alive, f"workers {alive} outlived their killed parent"


def test_sigkill_preprocess_leaves_no_worker(tmp_path, voices_dir):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        for p in sorted((voices_dir / "slt").glob("*.flac"))[:8]:
            shutil.copy(p, data / f"{i}_{p.name}")
    env = cli_env(ARVC_LOGS_DIR=str(tmp_path / "logs"))
    cmd = [sys.executable, "-m", "arvc.api.cli", "preprocess", "pk", "--dataset_path", str(data), "--cpu_cores", "2",
           "--noise_reduction", "--progress", "false"]
    logs = tmp_path / "logs"
    _assert_gone(_kill_when_workers_run(cmd, env, tmp_path, lambda: any(logs.glob("*/sliced_audios/*.wav"))))


def test_sigkill_extract_leaves_no_worker(tmp_path, fixtures_dir):
    root = tmp_path / "logs" / "ek"
    rng = np.random.default_rng(0)
    for sub, sr in (("sliced_audios", 40000), ("sliced_audios_16k", 16000)):
        (root / sub).mkdir(parents=True)
        for i in range(40):
            t = np.arange(3 * sr) / sr
            wav = 0.3 * np.sin(2 * np.pi * (120 + i) * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(root / sub / f"0_{i}_0.wav", wav.astype(np.float32), sr)
    (root / "model_info.json").write_text('{"sample_rate": 40000}')
    env = cli_env(ARVC_LOGS_DIR=str(tmp_path / "logs"))
    cmd = [sys.executable, "-m", "arvc.api.cli", "extract", "ek", "--f0_method", "harvest", "--cpu_cores", "2",
           "--embedder_model", "custom", "--embedder_path", str(fixtures_dir / "pipeline_tiny" / "embedder"),
           "--progress", "false"]
    _assert_gone(_kill_when_workers_run(cmd, env, tmp_path, lambda: any((root / "f0").glob("*.npy"))))

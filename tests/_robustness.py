"""Helpers of the robustness tests: run the CLI as a user does (a subprocess), check for one clean error line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arvc.api.cli", *map(str, args)], capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout, cwd=cwd)


def assert_one_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 1 (not a signal, not a traceback) with one ``error:`` line that contains every needle."""
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    for n in needles:
        assert n in errors[0], errors[0]
    return errors[0]


def make_chunks(root: Path, n: int = 4, seconds: float = 3.0) -> Path:
    """A preprocessed experiment folder (``sliced_audios*`` of tones with a little noise, model_info.json)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    for sub, sr in (("sliced_audios", 40000), ("sliced_audios_16k", 16000)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            t = np.arange(int(seconds * sr)) / sr
            wav = 0.3 * np.sin(2 * np.pi * (120 + i) * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(root / sub / f"0_{i}_0.wav", wav.astype(np.float32), sr)
    (root / "model_info.json").write_text('{"sample_rate": 40000}')
    return root


def run_cli_limited(*args: str, limit_gb: float = 3.0, timeout: float = 300, env=None, cwd=None):
    """:func:`run_cli` with the address space capped at ``limit_gb`` (RLIMIT_AS): a command that tries to
    allocate far more must still end with its one-line error, not a MemoryError traceback or the OOM killer."""
    import resource

    limit = int(limit_gb * 1024 ** 3)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run([sys.executable, "-m", "arvc.api.cli", *map(str, args)], capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout, cwd=cwd, preexec_fn=cap)

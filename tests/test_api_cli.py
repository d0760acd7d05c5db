"""The CLI's process settings: the commands that run torch's threads bound how long torch's OpenMP threads spin at a barrier."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import os, sys
from arvc.api import cli
try:
    cli.main(sys.argv[1:] + ["--help"])
except SystemExit:
    pass
print(os.environ.get("GOMP_SPINCOUNT"))
"""


def _policy_after(command: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    environ.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", **env)
    out = subprocess.run([sys.executable, "-c", _PROBE, command], env=environ, capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("command", ["train", "quickstart", "infer", "realtime"])
def test_torch_commands_spin_briefly(command):
    assert _policy_after(command) == "3000"


def test_other_commands_and_the_users_choice_are_left_alone():
    assert _policy_after("model-info") == "None"
    assert _policy_after("train", OMP_WAIT_POLICY="ACTIVE") == "None"
    assert _policy_after("train", GOMP_SPINCOUNT="100") == "100"


def test_no_effect_once_torch_is_loaded():
    import torch  # noqa: F401  (libgomp has read its settings by now)
    from arvc.api.cli import set_omp_wait_policy

    env: dict[str, str] = {}
    assert set_omp_wait_policy("train", env) is None and env == {}

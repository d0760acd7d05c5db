"""$ARVC_DEVICE is treated like --gpu: an unavailable device is one warning and the CPU, a bad value one error."""

from __future__ import annotations

import shutil
import sys

import pytest

from _robustness import assert_one_error, cli_env, make_chunks, run_cli
from _training_data import make_experiment

needs_no_cuda = pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="the machine has a GPU")


def _args(stage: str, tmp_path, fixtures_dir, voices_dir) -> list[str]:
    pt = fixtures_dir / "pipeline_tiny"
    logs = tmp_path / "logs"
    if stage == "infer":
        return ["infer", "-m", pt / "model.pth", "-i", pt / "input_short.wav", "-o", tmp_path / "o.wav",
                "--f0_method", "pm", "--embedder_model", "custom", "--embedder_path", pt / "embedder"]
    if stage == "train":
        make_experiment(logs / "t", n_items=2, seconds=0.3)
        return ["train", "t", "--logs_dir", logs, "--model_size", "tiny", "--from_scratch", "--epochs", "1", "--batch_size", "2",
                "--progress", "false"]
    if stage == "extract":
        make_chunks(logs / "e", n=2, seconds=1.0)
        return ["extract", "e", "--logs_dir", logs, "--f0_method", "pm", "--cpu_cores", "1", "--embedder_model",
                "custom", "--embedder_path", pt / "embedder", "--progress", "false"]
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(voices_dir / "slt" / "slt_01.flac", data)
    return ["preprocess", "p", "--dataset_path", data, "--logs_dir", logs, "--noise_reduction", "--cpu_cores", "1",
            "--progress", "false"]


@needs_no_cuda
@pytest.mark.parametrize("stage", ["infer", "train", "extract", "preprocess"])
def test_unavailable_device_warns_and_runs_on_cpu(stage, tmp_path, fixtures_dir, voices_dir):
    proc = run_cli(*_args(stage, tmp_path, fixtures_dir, voices_dir), env=cli_env(ARVC_DEVICE="cuda:3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "ARVC_DEVICE=cuda:3" in ln]
    assert len(warnings) == 1 and "using the CPU" in warnings[0], proc.stderr[-3000:]


@pytest.mark.parametrize("value", ["bogus", "cuda:x", "meta"])
def test_invalid_device_is_one_error_line(value, tmp_path, fixtures_dir, voices_dir):
    proc = run_cli(*_args("infer", tmp_path, fixtures_dir, voices_dir), env=cli_env(ARVC_DEVICE=value))
    assert_one_error(proc, "ARVC_DEVICE")
    assert not (tmp_path / "o.wav").exists()


_FAULTS = """
import resource, sys, torch
from arvc.allocator import tune_cpu_allocator
applied = tune_cpu_allocator(torch.device("cpu"))
x = torch.randn(16 * 2**20 // 4)
def step():  # a layer's worth of large temporaries, as a forward pass makes them
    a = x.repeat(4)
    b = torch.nn.functional.leaky_relu(a)
    return (a * b).sum()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    step()
before = faults()
for _ in range(10):
    step()
print(applied, faults() - before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_cpu_allocator_tuning_stops_refaulting_large_blocks():
    """Large temporaries made and freed ten times: glibc maps each afresh (~490k page faults) unless tuned."""
    import os
    import subprocess

    def run(env_extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env_extra
        out = subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True, env=env, check=True)
        applied, faults = out.stdout.split()
        return applied == "True", int(faults)

    tuned_applied, tuned = run({})
    plain_applied, plain = run({"ARVC_MALLOC_TUNING": "0"})
    assert tuned_applied and not plain_applied
    assert plain > 100_000, plain  # 10 x 48k
    assert tuned < plain / 4, (tuned, plain)
    user_applied, _ = run({"MALLOC_MMAP_MAX_": "65536"})
    assert not user_applied  # the user's own glibc settings win

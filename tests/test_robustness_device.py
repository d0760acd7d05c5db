"""$ARVC_DEVICE is treated like --gpu: an unavailable device is one warning and the CPU, a bad value one error."""

from __future__ import annotations

import shutil

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

"""Temporaries of killed writers (``.<name>.tmp-<pid>-...``) are removed by the next run; a live writer's are kept."""

from __future__ import annotations

import subprocess
import sys

import pytest

from _training_data import make_experiment
from arvc.api.cli import main as cli_main
from arvc.atomic import remove_stale_temporaries


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_pid():
    proc = subprocess.Popen(["sleep", "60"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_create_index_rerun_removes_dead_temporaries(tmp_path, dead_pid, live_pid):
    logs = tmp_path / "logs"
    root = make_experiment(logs / "m", n_items=4, seconds=0.4)
    dead = root / f".m.index.tmp-{dead_pid}-x1y2.index"
    live = root / f".m.index.tmp-{live_pid}-a3b4.index"
    dead.write_bytes(b"\0" * 4096)
    live.write_bytes(b"\0" * 4096)
    assert cli_main(["create-index", "m", "--logs_dir", str(logs)]) == 0
    assert not dead.exists() and live.exists()
    assert (root / "m.index").is_file()


def test_infer_rerun_removes_dead_temporaries(tmp_path, dead_pid, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    out = tmp_path / "out"
    out.mkdir()
    dead = out / f".input_short.wav.tmp-{dead_pid}-q9w8.wav"
    dead.write_bytes(b"RIFF")
    rc = cli_main(["infer", "-m", str(pt / "model.pth"), "-i", str(pt / "input_short.wav"), "-o", str(out),
                   "--f0_method", "pm", "--embedder_model", "custom", "--embedder_path", str(pt / "embedder")])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["input_short.wav"]


def test_unit_only_dead_writers(tmp_path, dead_pid, live_pid):
    (tmp_path / f".a.npy.tmp-{dead_pid}-1.npy").write_bytes(b"x")
    (tmp_path / f".b.npy.tmp-{live_pid}-2.npy").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / f".c.npy.tmp-{dead_pid}-3.npy").write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path, recursive=False) == 1
    assert remove_stale_temporaries(tmp_path) == 1
    assert [p.name for p in tmp_path.rglob("*.npy")] == [f".b.npy.tmp-{live_pid}-2.npy"]

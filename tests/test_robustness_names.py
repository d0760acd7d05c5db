"""Experiment names that would leave the logs folder (``../x``, absolute paths) are refused by every stage."""

from __future__ import annotations

import pytest

from _training_data import make_experiment
from arvc.api.cli import main as cli_main
from arvc.errors import ArvcError
from arvc.paths import ExperimentPaths

BAD_NAMES = ["../escaped", "..", "a/../../escaped", "sub\\..\\escaped"]


@pytest.mark.parametrize("name", BAD_NAMES + ["", "/abs/escaped"])
def test_experiment_paths_refuse(name):
    with pytest.raises(ArvcError, match="not a plain folder name"):
        ExperimentPaths.of(name)


def _escaped_setup(tmp_path):
    """A ready experiment *outside* the logs folder, where a traversal name would point."""
    logs = tmp_path / "logs"
    logs.mkdir()
    escaped = make_experiment(tmp_path / "escaped", n_items=2, seconds=0.3)
    (tmp_path / "data").mkdir()
    return logs, escaped


@pytest.mark.parametrize("stage", ["preprocess", "extract", "create-index", "train"])
@pytest.mark.parametrize("absolute", [False, True])
def test_every_stage_refuses_traversal(stage, absolute, tmp_path, capsys):
    logs, escaped = _escaped_setup(tmp_path)
    name = str(escaped) if absolute else "../escaped"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    extra = {"preprocess": ["--dataset_path", str(tmp_path / "data")],
             "extract": ["--f0_method", "pm"],
             "create-index": [],
             "train": ["--model_size", "tiny", "--from_scratch", "--epochs", "1", "--max_steps", "1", "--progress", "false"]}[stage]
    rc = cli_main([stage, name, "--logs_dir", str(logs), *extra])
    err = capsys.readouterr().err
    assert rc == 1
    assert "not a plain folder name" in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written anywhere

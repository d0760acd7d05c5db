"""Training limits are validated (one error line, nothing written) and a short run's TensorBoard file holds
every loss, gradient and mel-image tag (the last partial log window is flushed at each epoch end)."""

from __future__ import annotations

import pytest

from _training_data import make_experiment
from arvc.api.cli import main as cli_main


@pytest.mark.parametrize("flags,needle", [
    (["--max_steps", "-1"], "--max_steps -1"),
    (["--max_steps", "0"], "--max_steps 0"),
    (["--learning_rate", "-1"], "--learning_rate -1"),
    (["--learning_rate", "nan"], "--learning_rate nan"),
    (["--save_every", "0"], "--save_every 0"),
])
def test_bad_training_limits_are_one_line(flags, needle, tmp_path, capsys):
    logs = tmp_path / "logs"
    root = make_experiment(logs / "lim", n_items=2, seconds=0.3)
    before = sorted(root.rglob("*"))
    rc = cli_main(["train", "lim", "--logs_dir", str(logs), "--model_size", "tiny", "--from_scratch", "--epochs", "1",
                   "--progress", "false", *flags])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    flag, value = needle.split(" ")
    assert rc == 1 and len(lines) == 1 and flag in lines[0] and value in lines[0], err[-2000:]
    assert sorted(root.rglob("*")) == before  # no model, checkpoint or event file


def test_short_run_tensorboard_has_every_tag(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = tmp_path / "logs"
    make_experiment(logs / "tb", n_items=4, seconds=0.3)
    rc = cli_main(["train", "tb", "--logs_dir", str(logs), "--model_size", "tiny", "--from_scratch", "--epochs", "2", "--batch_size", "2",
                   "--save_every", "1", "--progress", "false"])  # 4 steps, far below the default --log_every 50
    assert rc == 0
    acc = EventAccumulator(str(logs / "tb" / "eval"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    tags = acc.Tags()
    for tag in ("loss/g/total", "loss/g/mel", "loss/g/kl", "loss/g/fm", "loss/g/gen", "loss/d/total",
                "grad/norm_g", "grad/norm_d"):
        assert tag in tags["scalars"], tag
        assert [e.step for e in acc.Scalars(tag)] == [2, 4]  # one point per epoch end
    assert {"slice/mel_org", "slice/mel_gen"} <= set(tags["images"])
    assert len(acc.Images("slice/mel_gen")) == 2  # one per save

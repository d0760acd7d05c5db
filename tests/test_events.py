"""The JSON-lines event stream (``--events``) and the web UI's jobs reading it instead of the log text."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from _training_data import make_experiment
from arvc import events

ROOT = Path(__file__).resolve().parents[1]


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ------------------------------------------------------------------------------------------------ the module
def test_no_sink_writes_nothing_and_costs_nothing(tmp_path):
    assert not events.active()
    events.emit("warning", message="nobody listens")
    events.Progress("x", 3).update(3)
    with events.stage("s"):
        pass


def test_run_brackets_the_command_and_forwards_warnings(tmp_path):
    import logging

    target = tmp_path / "ev" / "run.jsonl"
    with events.run("demo", str(target), "1.2") as result:
        with events.stage("work"):
            logging.getLogger("arvc.demo").warning("clip %s is quiet\nsecond line", "a.wav")
            logging.getLogger("other").warning("not ours")
            events.metrics("train", 3, {"loss/g/total": float("nan"), "loss/d/total": 1.5}, epoch=1)
            events.artifact("index", tmp_path / "m.index")
        result["exit_code"] = 0
    got = _read(target)
    assert [e["type"] for e in got] == ["run_start", "stage_start", "warning", "metrics", "artifact", "stage_end",
                                        "run_end"]
    assert all(e["v"] == events.SCHEMA_VERSION and isinstance(e["time"], float) for e in got)
    assert got[0]["command"] == "demo" and got[0]["pid"] == os.getpid()
    assert got[2]["message"] == "clip a.wav is quiet"  # one line
    assert got[3]["values"] == {"loss/g/total": None, "loss/d/total": 1.5}  # JSON has no NaN
    assert got[4]["path"] == str((tmp_path / "m.index").resolve())
    assert got[5]["ok"] is True and got[-1]["exit_code"] == 0
    assert not events.active()


def test_failed_stage_and_long_messages(tmp_path):
    target = tmp_path / "e.jsonl"
    with pytest.raises(RuntimeError):
        with events.run("x", str(target)):
            with events.stage("boom"):
                events.error("x" * 10_000, file="/tmp/a.wav")
                raise RuntimeError
    got = _read(target)
    assert got[-2]["type"] == "stage_end" and got[-2]["ok"] is False
    err = next(e for e in got if e["type"] == "error")
    assert err["truncated"] and len(err["message"]) == 1000 and err["file"] == "/tmp/a.wav"
    assert got[-1]["exit_code"] == 1  # never set: the command did not finish


def test_progress_is_throttled_but_the_last_count_always_goes_out(tmp_path):
    target = tmp_path / "p.jsonl"
    with events.run("x", str(target)):
        p = events.Progress("extract.f0", 1000, "chunk")
        for _ in range(1000):
            p.update()
    got = [e for e in _read(target) if e["type"] == "progress"]
    assert 1 <= len(got) <= 5
    assert got[-1]["done"] == 1000 and got[-1]["total"] == 1000 and got[-1]["eta"] == 0


def test_fd_target_and_bad_targets(tmp_path):
    from arvc.errors import ArvcError

    r, w = os.pipe()
    with events.run("x", f"fd:{w}"):
        events.warning("via a pipe")
    os.close(w)
    with os.fdopen(r) as f:
        lines = [json.loads(x) for x in f]
    assert [e["type"] for e in lines] == ["run_start", "warning", "run_end"]
    with pytest.raises(ArvcError, match="fd:999"):
        events.open_sink("fd:999")
    (tmp_path / "dir").mkdir()
    with pytest.raises(ArvcError, match="cannot write"):
        events.open_sink(str(tmp_path / "dir"))


# ---------------------------------------------------------------------------------------------- commands
def test_cli_error_is_an_event_and_the_exit_code_matches(tmp_path, capsys):
    from arvc.api.cli import main

    target = tmp_path / "ev.jsonl"
    assert main(["infer", "-m", str(tmp_path / "missing.pth"), "-i", str(tmp_path), "--events", str(target)]) == 1
    printed = capsys.readouterr().err.strip().splitlines()[-1]
    got = _read(target)
    assert got[-1] == {**got[-1], "type": "run_end", "exit_code": 1}
    assert [f"error: {e['message']}" for e in got if e["type"] == "error"] == [printed]


def test_infer_reports_each_file_written_and_each_failure(tmp_path, fixtures_dir, one_thread):
    from arvc.api.cli import main

    pt = fixtures_dir / "pipeline_tiny"
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.wav").write_bytes((pt / "input_short.wav").read_bytes())
    (src / "b.wav").write_bytes(b"not audio at all")
    target = tmp_path / "ev.jsonl"
    code = main(["infer", "-m", str(pt / "model.pth"), "-i", str(src), "-o", str(tmp_path / "out"), "--f0_method",
                 "pm", "--embedder_model", "custom", "--embedder_path", str(pt / "embedder"), "--quiet",
                 "--events", str(target)])
    assert code == 1
    got = _read(target)
    audio = [e for e in got if e["type"] == "artifact"]
    assert [Path(e["path"]).name for e in audio] == ["a.wav"] and Path(audio[0]["path"]).is_file()
    assert audio[0]["source"] == str((src / "a.wav").resolve())
    errors = [e for e in got if e["type"] == "error"]
    assert [e["file"] for e in errors] == [str((src / "b.wav").resolve())]
    files = [e for e in got if e["type"] == "progress" and e["stage"] == "infer"]
    assert files[-1]["done"] == files[-1]["total"] == 2
    assert [e["type"] for e in got if e["type"].startswith("stage")] == ["stage_start", "stage_end"]


# ------------------------------------------------------------------------------------------- the UI's jobs
_ROT13 = '''
import codecs, sys
class _Scrambled:
    """Every word the process prints is rot13: no log text can be recognised."""
    def __init__(self, s): self._s = s
    def write(self, t): return self._s.write(codecs.encode(t, "rot13"))
    def __getattr__(self, n): return getattr(self._s, n)
sys.stdout, sys.stderr = _Scrambled(sys.stdout), _Scrambled(sys.stderr)
'''


@pytest.fixture
def scrambled_jobs(tmp_path):
    """A JobManager whose commands print every log line in rot13 (a sitecustomize on their path)."""
    from arvc.ui.jobs import JobManager

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_ROT13)
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), "OMP_NUM_THREADS": "1"}
    manager = JobManager(python=sys.executable, env=env, isolated=False)  # the scrambler comes via PYTHONPATH
    yield manager
    manager.shutdown()


@pytest.mark.slow
def test_ui_reads_conversion_and_training_through_events_only(scrambled_jobs, tmp_path, fixtures_dir):
    """Log wording scrambled: the Convert rows and the Train view still show results, progress and losses."""
    from arvc.ui.convert_tab import convert_rows

    pt = fixtures_dir / "pipeline_tiny"
    good, bad = tmp_path / "speech.wav", tmp_path / "broken.wav"
    good.write_bytes((pt / "input_short.wav").read_bytes())
    bad.write_bytes(b"RIFF junk")
    out = tmp_path / "out"
    conv = scrambled_jobs.submit("convert", "convert 2", [[
        "infer", "-m", str(pt / "model.pth"), "-i", str(good), str(bad), "-o", str(out), "--f0_method", "pm",
        "--embedder_model", "custom", "--embedder_path", str(pt / "embedder")]])
    assert conv.done.wait(300)
    assert not any("converting" in ln for ln in conv.lines)  # the wording really is gone
    rows, done = convert_rows(conv, [(good, good), (bad, bad)], out, "wav")
    assert [r[1] for r in rows] == ["done", "failed"], rows
    assert done == [str((out / "speech.wav").resolve())] and "broken.wav" in rows[1][2]

    make_experiment(tmp_path / "logs" / "tiny", n_items=8, seconds=0.4)
    train = scrambled_jobs.submit("train", "train tiny", [[
        "train", "tiny", "--model_size", "tiny", "--from_scratch", "--batch_size", "2", "--epochs", "2",
        "--save_every", "1", "--log_every", "50", "--progress", "false"]])
    first_step = None
    deadline = time.time() + 600
    while not train.finished and time.time() < deadline:  # a point of the loss plot before the first epoch ends
        if first_step is None and train.losses():
            first_step = train.losses()[0][0], [e["type"] for e in train.events].count("epoch_end")
        time.sleep(0.05)
    assert train.done.wait(30) and train.state == "done", train.log(30)
    assert first_step is not None and first_step[0] == 1 and first_step[1] == 0, first_step
    assert len(train.losses()) == 8  # 4 steps per epoch x 2, each of a run's first steps
    progress = train.progress("train")
    assert progress["done"] == progress["total"] == 8 and progress["unit"] == "step"
    models = [Path(e["path"]) for e in train.artifacts("model")]
    assert models and models[-1].name == "tiny.pth" and models[-1].is_file()
    assert len(train.artifacts("checkpoint")) == 4  # G and D at epochs 1 and 2
    assert not any("epoch" in ln for ln in train.lines if not ln.startswith("$"))

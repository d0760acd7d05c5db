"""The tabs' logic without a server: batch rows from events, unique output names, field names in errors,
voice names, list refreshes."""

from __future__ import annotations

import time

import pytest

gr = pytest.importorskip("gradio")


def _job(state: str, events: list[dict]):
    from arvc.ui.jobs import Job

    job = Job(1, "convert", "convert 3 file(s)", [["infer"]], state=state)
    job.events.extend({"v": 1, "time": time.time(), **e} for e in events)
    return job


def test_a_batch_with_one_bad_file_is_done_with_one_failure(tmp_path):
    from arvc.ui.common import batch_state, file_rows
    from arvc.ui.convert_tab import convert_rows

    srcs = [tmp_path / n for n in ("a.wav", "b.wav", "c.wav")]
    for s in srcs:
        s.write_bytes(b"")
    out = tmp_path / "out"
    items = [(s, s) for s in srcs]
    job = _job("running", [{"type": "artifact", "kind": "audio", "path": str((out / "a.wav").resolve())},
                           {"type": "error", "message": f"{srcs[1].resolve()}: not audio", "file": str(srcs[1].resolve())},
                           {"type": "progress", "stage": "infer", "done": 2, "total": 3, "unit": "file"}])
    rows, done = convert_rows(job, items, out, "wav")
    assert [r[1] for r in rows] == ["done", "failed", "running"] and rows[1][2] == "b.wav: not audio"
    assert batch_state(job, len(done), 1) == "running"
    job.events.append({"type": "artifact", "kind": "audio", "path": str((out / "c.wav").resolve())})
    job.state = "failed"  # infer exits 1 when a file failed
    rows, done = convert_rows(job, items, out, "wav")
    assert [r[1] for r in rows] == ["done", "failed", "done"]
    assert batch_state(job, len(done), 1) == "done with 1 failure"
    assert batch_state(_job("failed", []), 0, 3) == "failed"
    assert "class='failed'" in file_rows(rows) and file_rows(rows).count("class='failed'") == 1


def test_inputs_with_the_same_stem_get_their_own_output_names(tmp_path):
    from arvc.ui.convert_tab import _unique_inputs

    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a, b = tmp_path / "x" / "take.wav", tmp_path / "y" / "take.flac"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    items = _unique_inputs([a, b], tmp_path / "staging")
    assert items[0] == (a, a) and items[1][1].stem == "take_2" and items[1][1].read_bytes() == b"b"


def test_errors_name_the_fields_on_the_page():
    from arvc.api.options import EXTRACT, INFER
    from arvc.ui.controls import page_words

    text = page_words("embedder 'custom' needs --embedder_path; run `arvc prerequisites --embedders x`", [INFER])
    assert "--" not in text and "“embedder path”" in text and "Downloads tab" in text
    assert page_words("--f0_method must be x", [EXTRACT]) == "“pitch method” must be x"


def test_voices_are_shown_by_name(tmp_path):
    from arvc.ui.library import voice_choices

    models, logs = tmp_path / "models", tmp_path / "logs"
    for p in (models / "voices" / "anna" / "anna.pth", logs / "bob" / "bob.pth", logs / "bob" / "bob_1e_8s.pth",
              logs / "bob" / "G_8.pth", models / "pretrains" / "x" / "f0G40k.pth"):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    names = [n for n, _ in voice_choices(models, logs)]
    assert names == ["anna", "bob", "bob (epoch 1, step 8)"]


def test_a_run_training_now_is_listed_last_and_never_preselected(tmp_path, monkeypatch):
    """Seen in the newcomer trial: Convert preselected "newcomer (training, 1e_8s)", an intermediate weights file
    of the run still training, once it appeared in a list refresh."""
    import os

    from arvc.locks import LOCK_NAME, experiment_lock
    from arvc.ui.library import first_voice, voice_choices

    models, logs = tmp_path / "models", tmp_path / "logs"
    monkeypatch.setenv("ARVC_LOGS_DIR", str(logs))
    (logs / "zed").mkdir(parents=True)
    (logs / "zed" / "zed_1e_8s.pth").write_bytes(b"")
    with experiment_lock(logs / "zed", "train"):
        choices = voice_choices(models, logs)
        assert choices[0][0] == "zed (epoch 1, step 8) — training now"
        assert first_voice(choices) is None  # nothing finished yet: nothing chosen for the user
        (logs / "zed" / "zed.pth").write_bytes(b"")
        (logs / "amy").mkdir()
        (logs / "amy" / "amy_2e_4s.pth").write_bytes(b"")
        names = [n for n, _ in voice_choices(models, logs)]
        assert names == ["zed", "amy (epoch 2, step 4)", "zed (epoch 1, step 8) — training now"]
        assert first_voice(voice_choices(models, logs)) == str(logs / "zed" / "zed.pth")
    (logs / "zed" / LOCK_NAME).write_text(f"{2 ** 22 + 12345} train {os.uname().nodename}\n")  # a dead owner
    assert [n for n, _ in voice_choices(models, logs)][-1] == "zed (epoch 1, step 8)"


def test_lists_keep_the_choice_while_it_exists():
    from arvc.ui.app import Shell, refreshed

    shell = Shell()
    items = [("a", "/a.pth"), ("b", "/b.pth")]
    shell.lists.append((None, lambda: items))
    assert refreshed(shell, ["/b.pth"])[0]["value"] == "/b.pth"
    assert refreshed(shell, ["/gone.pth"])[0]["value"] == "/a.pth"
    items.clear()
    assert refreshed(shell, ["/a.pth"])[0]["value"] is None


def test_a_job_whose_command_has_ended_is_not_shown_running(tmp_path):
    """Seen in the newcomer trial: "running: 1 converted, 0 failed, 0 to go" after the file was written (the
    command's process spends seconds exiting after its ``run_end`` event)."""
    import json
    import os

    from arvc.ui.common import batch_state
    from arvc.ui.convert_tab import convert_rows
    from arvc.ui.jobs import _read_events

    src = tmp_path / "a.wav"
    out = tmp_path / "out"
    job = _job("running", [])
    read, write = os.pipe()
    lines = [{"type": "artifact", "kind": "audio", "path": str((out / "a.wav").resolve())},
             {"type": "run_end", "exit_code": 0, "seconds": 1.0}]
    os.write(write, "".join(json.dumps(e) + "\n" for e in lines).encode())
    os.close(write)
    _read_events(read, job)
    _, done = convert_rows(job, [(src, src)], out, "wav")
    assert job.state == "running" and job.outcome == "done" and job.settled
    assert batch_state(job, len(done), 0) == "done" and ": done" in job.status()
    two = _job("running", [])
    two.steps = [["preprocess"], ["train"]]
    two.exit_codes.append(0)  # the first of two commands ended: still running
    assert two.outcome == "running" and not two.settled
    two.exit_codes.append(2)
    assert two.outcome == "failed"


def test_settings_are_saved_atomically_and_restored(tmp_path, monkeypatch):
    import json

    from arvc.device import DEVICE_ENV
    from arvc.errors import ArvcError
    from arvc.paths import MODELS_ENV
    from arvc.ui.app import UIContext
    from arvc.ui.jobs import JobManager
    from arvc.ui.settings_tab import apply, restore, save, settings_path

    monkeypatch.setenv(MODELS_ENV, str(tmp_path / "models"))

    def context():
        return UIContext(output_dir=tmp_path / "ui_out", jobs=JobManager(workdir=tmp_path / "jobs"), roots=(tmp_path,))

    folder = tmp_path / "my models"
    folder.mkdir()
    ctx = context()
    apply(ctx, str(folder), "cpu", "bf16", "dark")
    save(ctx)
    path = settings_path(ctx)
    assert json.loads(path.read_text())["device"] == "cpu" and [p.name for p in path.parent.iterdir()] == [path.name]
    monkeypatch.setenv(MODELS_ENV, str(tmp_path / "models"))  # a new server process
    again = context()
    assert restore(again) is None
    assert again.settings == {"models_dir": str(folder), "device": "cpu", "precision": "bf16", "theme": "dark"}
    assert again.jobs.env[DEVICE_ENV] == "cpu" and again.jobs.env[MODELS_ENV] == str(folder)
    with pytest.raises(ArvcError, match="Default precision"):
        apply(again, None, "cpu", "fp8", "dark")
    for bad, needle in (("{", "Expecting"), ('{"models_dir": "/etc"}', "outside the allowed folders"),
                        ('{"device": "tpu"}', "Default device")):
        path.write_text(bad)
        fresh = context()
        message = restore(fresh)
        assert message and str(path) in message and needle in message and "\n" not in message, message
        assert fresh.settings["device"] == "auto"

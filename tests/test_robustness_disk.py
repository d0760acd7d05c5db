"""A full disk (a small tmpfs, filled) or a read-only output folder: one ``error:`` line naming a path on it,
exit 1, and no partial file left. Runs on a real tmpfs when ``mount`` works (root); otherwise ENOSPC is
simulated in-process (``os.fsync``/``soundfile.write`` raise it) and the test says so."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import numpy as np
import pytest

from _robustness import make_chunks
from _training_data import make_experiment
from arvc.api.cli import main as cli_main
from arvc.atomic import TMP_MARK


class Disk:
    def __init__(self, root, real: bool):
        self.root, self.real = root, real

    def fill(self, leave: int = 0) -> None:
        """Fill the file system, then give back ``leave`` bytes."""
        if not self.real:
            return
        fd = os.open(self.root / ".filler", os.O_WRONLY | os.O_CREAT)
        block, size = b"\0" * 65536, 0
        try:
            while True:
                size += os.write(fd, block)
        except OSError as e:
            assert e.errno == errno.ENOSPC
        os.ftruncate(fd, max(0, size - leave))
        os.close(fd)


def _mount(path, *opts: str) -> str | None:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(("size=24m", *opts)), "tmpfs", str(path)],
                       capture_output=True, text=True)
    return None if r.returncode == 0 else (r.stderr.strip() or f"exit {r.returncode}")


@pytest.fixture
def disk(tmp_path, monkeypatch):
    mnt = tmp_path / "disk"
    why = _mount(mnt)
    if why is None:
        print("real tmpfs mounted at", mnt)
        yield Disk(mnt, True)
        subprocess.run(["umount", "-l", str(mnt)])
        return
    print(f"mount failed ({why}): simulating ENOSPC")
    import soundfile

    def enospc(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", enospc)
    monkeypatch.setattr(soundfile, "write", enospc)
    yield Disk(mnt, False)


def _one_error(capsys, rc: int, where) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert rc == 1 and "Traceback" not in err and len(lines) == 1, err[-3000:]
    assert str(where) in lines[0] and ("No space left on device" in lines[0] or "Read-only" in lines[0]), lines[0]
    return lines[0]


def _no_partial_files(root) -> None:
    import torch

    assert not [p for p in root.rglob(f"*{TMP_MARK}*")], "temporary files left behind"
    for p in root.rglob("*"):
        if p.suffix == ".npy":
            np.load(p)
        elif p.suffix == ".pth":
            torch.load(p, weights_only=True)
        elif p.suffix == ".index":
            from arvc.index import read_index

            read_index(p)


def test_preprocess_full_disk(disk, capsys, voices_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(voices_dir / "slt", data)
    disk.fill(leave=16384)  # the lock file fits, the chunks do not
    rc = cli_main(["preprocess", "m", "--dataset_path", str(data), "--logs_dir", str(disk.root / "logs"),
                   "--cpu_cores", "1", "--progress", "false"])
    _one_error(capsys, rc, disk.root)
    assert not (disk.root / "logs" / "m").exists()


def test_extract_full_disk(disk, capsys, fixtures_dir):
    root = make_chunks(disk.root / "logs" / "m", n=4)
    disk.fill(leave=100_000)  # model_info.json and the F0 files fit, the features do not
    rc = cli_main(["extract", "m", "--logs_dir", str(disk.root / "logs"), "--f0_method", "pm", "--cpu_cores", "1",
                   "--embedder_model", "custom", "--embedder_path", str(fixtures_dir / "pipeline_tiny" / "embedder"),
                   "--progress", "false"])
    _one_error(capsys, rc, root)
    _no_partial_files(root)


def test_create_index_full_disk(disk, capsys):
    root = make_experiment(disk.root / "logs" / "m", n_items=6, seconds=0.5)
    disk.fill(leave=16384)  # the lock file fits, the index does not
    rc = cli_main(["create-index", "m", "--logs_dir", str(disk.root / "logs")])
    _one_error(capsys, rc, root / "m.index")
    _no_partial_files(root)
    assert not (root / "m.index").exists()


def test_train_full_disk(disk, capsys):
    root = make_experiment(disk.root / "logs" / "m", n_items=4, seconds=0.3)
    disk.fill(leave=300_000)  # config.json and events fit, the checkpoints do not
    rc = cli_main(["train", "m", "--logs_dir", str(disk.root / "logs"), "--model_size", "tiny", "--from_scratch", "--epochs", "1",
                   "--batch_size", "4", "--save_every", "1", "--progress", "false"])
    _one_error(capsys, rc, root)
    _no_partial_files(root)


def test_model_merge_full_disk(disk, capsys, fixtures_dir):
    model = fixtures_dir / "pipeline_tiny" / "model.pth"
    disk.fill()
    rc = cli_main(["model-merge", str(model), str(model), "-o", str(disk.root / "merged.pth")])
    _one_error(capsys, rc, disk.root / "merged.pth")
    _no_partial_files(disk.root)
    assert not (disk.root / "merged.pth").exists()


def test_infer_read_only_output_fails_before_converting(tmp_path, capsys, fixtures_dir, monkeypatch):
    ro = tmp_path / "ro"
    why = _mount(ro, "ro")
    if why is not None:
        pytest.skip(f"cannot mount a read-only tmpfs here ({why})")
    try:
        import arvc.inference.pipeline as pipeline

        def never(*a, **k):
            raise AssertionError("the model was loaded before the output folder was checked")

        monkeypatch.setattr(pipeline, "VoiceConverter", never)
        pt = fixtures_dir / "pipeline_tiny"
        rc = cli_main(["infer", "-m", str(pt / "model.pth"), "-i", str(pt / "input_short.wav"),
                       "-o", str(ro / "out.wav")])
        _one_error(capsys, rc, ro)
    finally:
        subprocess.run(["umount", "-l", str(ro)])

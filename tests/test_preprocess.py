"""The preprocess stage and command: real runs on the demo voices, chunk arithmetic, speakers, bad input."""

from __future__ import annotations

import gc
import json
import os
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from arvc.api.cli import main
from arvc.audio.slicer import window_count
from arvc.errors import ArvcError
from arvc.stages import preprocess as stage
from arvc.preprocessing.discovery import discover_dataset
from arvc.stages.preprocess import PreprocessConfig, preprocess


def _logs() -> Path:
    return Path(os.environ["ARVC_LOGS_DIR"])


def _datasets() -> Path:
    return Path(os.environ["ARVC_DATASETS_DIR"])


def _chunks(model: str, sub: str = "sliced_audios") -> list[Path]:
    return sorted((_logs() / model / sub).glob("*.wav"))


def _info(model: str) -> dict:
    return json.loads((_logs() / model / "model_info.json").read_text())


def _noise(sr: int, seconds: float, seed: int = 0, level: float = 0.1) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(sr * seconds))).astype(np.float32)


def _run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["preprocess", *argv, "--progress", "false"])
    out, err = capsys.readouterr()
    return code, out, err


def _link_files(src: Path, dst: Path, n: int) -> None:
    dst.mkdir(parents=True)
    for f in sorted(src.iterdir())[:n]:
        (dst / f.name).symlink_to(f)


def test_verbatim_command_on_slt(capsys, voices_dir):
    _link_files(voices_dir / "slt", _datasets() / "my_model", 12)  # a part of slt keeps the test fast
    code = main("preprocess my_model --sample_rate 48000 --cut_method Automatic --chunk_len 3.0 --overlap_len 0.5 "
                "--process_effects --normalization post".split())
    out, _ = capsys.readouterr()
    assert code == 0, out
    chunks, chunks16 = _chunks("my_model"), _chunks("my_model", "sliced_audios_16k")
    assert len(chunks) == 12 and [c.name for c in chunks] == [c.name for c in chunks16]
    names = {c.name for c in chunks}
    assert names == {f"0_{i}_0.wav" for i in range(12)}  # every slt clip is <= 3.5 s: one chunk each
    info = sf.info(chunks[0])
    assert info.samplerate == 48000 and info.subtype == "FLOAT"
    assert sf.info(chunks16[0]).samplerate == 16000 and sf.info(chunks16[0]).subtype == "FLOAT"
    peaks = [np.abs(sf.read(c)[0]).max() for c in chunks[:10]]
    assert all(0.675 < p <= 0.9 for p in peaks)  # post normalisation: 0.675 + 0.25 * peak
    meta = _info("my_model")
    seconds = sum(sf.info(f).duration for f in sorted((voices_dir / "slt").iterdir())[:12])
    assert meta["chunk_count"] == 12 and meta["sample_rate"] == 48000
    assert meta["total_seconds"] == pytest.approx(seconds, abs=0.01)
    assert meta["total_dataset_duration"] == f"00:00:{int(seconds):02d}"
    assert meta["speakers"] == [{"id": 0, "name": "my_model", "files": 12, "seconds": pytest.approx(seconds, abs=0.01), "chunks": 12}]
    assert (meta["cut_method"], meta["chunk_len"], meta["overlap_len"], meta["normalization"]) == ("Automatic", 3.0, 0.5, "post")
    assert meta["process_effects"] is True
    assert "12 chunks from 12 of 12 files" in out
    assert not [p for p in _logs().iterdir() if p.name.startswith(".")]  # no staging left behind


def test_defaults_reproduce_applio_slices(fixtures_dir, voices_dir):
    """Applio's preprocess at 40 kHz with its defaults gave the slices behind pipeline_tiny/model.index."""
    ref = json.loads((fixtures_dir / "pipeline_tiny" / "meta.json").read_text())["assets"]["model.index"]
    res = preprocess(PreprocessConfig("slt40", dataset_path=voices_dir / "slt", cpu_cores=2, progress=False))
    assert res.chunk_count == ref["n_slices"]
    frames = [(sf.info(p).frames - 400) // 320 + 1 for p in _chunks("slt40", "sliced_audios_16k")]
    assert sum(frames) == ref["n_frames_extracted"]  # same slice lengths, to the 20 ms frame


def test_multi_speaker_shared_voices(voices_dir, tmp_path):
    root = tmp_path / "multi"
    root.mkdir()
    for name in ("slt", "espeak_m3", "espeak_f3"):
        _link_files(voices_dir / name, root / name, 4)
    res = preprocess(PreprocessConfig("multi", dataset_path=root, sample_rate=32000, cpu_cores=2, progress=False))
    assert [(s["id"], s["name"], s["files"]) for s in res.speakers] == [(0, "espeak_f3", 4), (1, "espeak_m3", 4), (2, "slt", 4)]
    sids = [int(p.name.split("_")[0]) for p in _chunks("multi")]
    assert {s: sids.count(s) for s in set(sids)} == {s["id"]: s["chunks"] for s in res.speakers}
    file_idx = {int(p.name.split("_")[1]) for p in _chunks("multi")}
    assert file_idx == set(range(12))


def test_speaker_rule_root_files_come_first(tmp_path):
    root = tmp_path / "ds"
    for rel in ("a.wav", "10/x.wav", "2/y.flac", "2/deeper/z.wav", ".hidden/h.wav", "empty/notes.txt"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".txt"):
            p.write_text("x")
        else:
            sf.write(p, _noise(16000, 0.1), 16000)
    sources, speakers = discover_dataset(root)
    assert [(s.id, s.name) for s in speakers] == [(0, "ds"), (1, "2"), (2, "10")]  # natural order: 2 before 10
    assert [(Path(s.path).relative_to(root).as_posix(), s.sid, s.index) for s in sources] == [
        ("a.wav", 0, 0), ("2/deeper/z.wav", 1, 1), ("2/y.flac", 1, 2), ("10/x.wav", 2, 3)]
    (root / "a.wav").unlink()
    _, speakers = discover_dataset(root)
    assert [(s.id, s.name) for s in speakers] == [(0, "2"), (1, "10")]


@pytest.mark.parametrize("chunk_len,overlap_len", [(3.0, 0.3), (3.0, 0.5), (2.0, 0.0)])
def test_continuous_signal_chunk_count(tmp_path, chunk_len, overlap_len):
    sr, seconds = 32000, 17.3
    ds = tmp_path / "ds"
    ds.mkdir()
    x = _noise(sr, seconds)
    sf.write(ds / "long.wav", x, sr, subtype="FLOAT")
    counts = {}
    for method in ("Automatic", "Simple", "Skip"):
        model = f"m_{method}"
        res = preprocess(PreprocessConfig(model, dataset_path=ds, sample_rate=sr, cut_method=method, chunk_len=chunk_len,
                                          overlap_len=overlap_len, cpu_cores=1, progress=False))
        counts[method] = res.chunk_count
        chunks = [sf.read(p)[0] for p in sorted(_chunks(model), key=lambda p: int(p.stem.split("_")[2]))]
        step, size = round((chunk_len - overlap_len) * sr), round(chunk_len * sr)
        for k, c in enumerate(chunks):  # chunk k is the signal from k * step (no effects: bit-exact float32)
            np.testing.assert_array_equal(c, x[k * step : k * step + len(c)])
        assert all(len(c) == size for c in chunks[:-1])
        if method == "Simple":
            assert len(chunks[-1]) == size
        else:
            assert k * step + len(chunks[-1]) == len(x)  # the tail reaches the end
    assert counts["Automatic"] == counts["Skip"] == window_count(seconds, chunk_len, overlap_len, sr)
    assert counts["Simple"] == int((seconds - chunk_len) // (chunk_len - overlap_len)) + 1


def test_ten_minute_recording_gives_applio_chunk_counts(tmp_path):
    """The bar's numbers end to end: 10 min of continuous audio, L=3.0 s, O=0.3 s -> 222 chunks (Applio's count);
    O=0.5 s -> more (240). Formula: arvc.audio.slicer.window_spans."""
    sr = 32000
    ds = tmp_path / "ds"
    ds.mkdir()
    sf.write(ds / "ten_minutes.wav", _noise(sr, 600.0, 7), sr, subtype="FLOAT")
    counts = {}
    for overlap in (0.3, 0.5):
        res = preprocess(PreprocessConfig(f"ten_{overlap}", dataset_path=ds, sample_rate=sr, chunk_len=3.0,
                                          overlap_len=overlap, cpu_cores=1, progress=False))
        counts[overlap] = res.chunk_count
        assert len(_chunks(f"ten_{overlap}")) == len(_chunks(f"ten_{overlap}", "sliced_audios_16k")) == res.chunk_count
        assert _info(f"ten_{overlap}")["chunk_count"] == res.chunk_count
    assert counts == {0.3: 222, 0.5: 240}


def _record_worker_pid(source, job):
    """Stand-in for ``process_file`` that notes which process ran it (module level: pickled by name)."""
    result = _REAL_PROCESS_FILE(source, job)
    pid_dir = Path(os.environ["ARVC_TEST_PID_DIR"])
    (pid_dir / f"{source.index}_{os.getpid()}").touch()
    # Hold this worker until another process has taken a file too (or 30 s pass), so a fast worker cannot
    # drain the whole queue before its sibling starts: with a single worker process the wait runs out and
    # the test fails.
    deadline = time.monotonic() + (30.0 if str(os.getpid()) != os.environ["ARVC_TEST_PARENT_PID"] else 0.0)
    while time.monotonic() < deadline and len({p.name.split("_")[1] for p in pid_dir.iterdir()}) < 2:
        time.sleep(0.02)
    return result


_REAL_PROCESS_FILE = stage.process_file


def test_cpu_cores_spreads_files_over_processes(tmp_path, monkeypatch):
    ds = tmp_path / "ds"
    ds.mkdir()
    for i in range(8):
        sf.write(ds / f"{i}.wav", _noise(40000, 2.0, i), 40000)
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("ARVC_TEST_PID_DIR", str(pids))
    monkeypatch.setenv("ARVC_TEST_PARENT_PID", str(os.getpid()))
    monkeypatch.setattr(stage, "process_file", _record_worker_pid)
    res = preprocess(PreprocessConfig("cores", dataset_path=ds, cpu_cores=2, progress=False))
    assert res.chunk_count == 8
    ran = [p.name.split("_") for p in pids.iterdir()]
    assert sorted(int(i) for i, _ in ran) == list(range(8))
    workers = {int(pid) for _, pid in ran}
    assert os.getpid() not in workers and len(workers) == 2  # two worker processes shared the files
    for p in pids.iterdir():
        p.unlink()
    preprocess(PreprocessConfig("one", dataset_path=ds, cpu_cores=1, progress=False))
    assert {int(p.name.split("_")[1]) for p in pids.iterdir()} == {os.getpid()}  # 1 core: in-process


def test_skip_keeps_short_files_whole(tmp_path):
    ds = tmp_path / "ds"
    ds.mkdir()
    short = _noise(40000, 3.2, 1)
    sf.write(ds / "short.wav", short, 40000, subtype="FLOAT")
    sf.write(ds / "long.wav", _noise(40000, 8.0, 2), 40000, subtype="FLOAT")
    res = preprocess(PreprocessConfig("skip", dataset_path=ds, cut_method="Skip", cpu_cores=1, progress=False))
    assert res.chunk_count == 1 + window_count(8.0, 3.0, 0.3)
    np.testing.assert_array_equal(sf.read(_logs() / "skip" / "sliced_audios" / "0_1_0.wav")[0], short)


def test_rerun_replaces_chunks_and_stale_features(tmp_path):
    ds = tmp_path / "ds"
    ds.mkdir()
    sf.write(ds / "a.wav", _noise(40000, 10.0), 40000)
    preprocess(PreprocessConfig("re", dataset_path=ds, chunk_len=1.0, overlap_len=0.0, cpu_cores=1, progress=False))
    root = _logs() / "re"
    assert len(_chunks("re")) == 10
    for sub in ("f0", "f0_voiced", "extracted"):
        (root / sub).mkdir()
        (root / sub / "0_0_5.wav.npy").write_bytes(b"x")
    (root / "filelist.txt").write_text("stale")
    meta = _info("re")
    meta.update(embedder_model="contentvec", f0_method="rmvpe", extract_complete=True, author="me")
    (root / "model_info.json").write_text(json.dumps(meta))
    preprocess(PreprocessConfig("re", dataset_path=ds, chunk_len=4.0, overlap_len=0.0, cpu_cores=1, progress=False))
    assert [p.name for p in _chunks("re")] == ["0_0_0.wav", "0_0_1.wav", "0_0_2.wav"]
    assert len(_chunks("re", "sliced_audios_16k")) == 3
    assert not any((root / s).exists() for s in ("f0", "f0_voiced", "extracted", "filelist.txt"))
    meta = _info("re")
    assert meta["chunk_count"] == 3 and meta["chunk_len"] == 4.0 and meta["author"] == "me"
    assert not {"embedder_model", "f0_method", "extract_complete"} & set(meta)


def test_mixed_dataset_skips_and_reports(tmp_path, capsys, caplog):
    ds = tmp_path / "ds"
    ds.mkdir()
    sf.write(ds / "good1.wav", _noise(40000, 2.0, 1), 40000)
    sf.write(ds / "good2.flac", _noise(44100, 2.0, 2), 44100)
    (ds / "broken.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    sf.write(ds / "silent.wav", np.zeros(40000 * 2, np.float32), 40000)
    sf.write(ds / "tiny.wav", _noise(40000, 0.2, 3), 40000)
    (ds / "readme.txt").write_text("not audio")
    code, out, err = _run_cli(capsys, "mix", "--dataset_path", str(ds), "--cpu_cores", "1")
    assert code == 0
    assert "2 chunks from 2 of 5 files" in out and "1 unreadable, 2 without chunks" in out
    meta = _info("mix")
    assert [Path(f["path"]).name for f in meta["files_unreadable"]] == ["broken.wav"]
    assert "broken.wav" in meta["files_unreadable"][0]["reason"]
    reasons = {Path(f["path"]).name: f["reason"] for f in meta["files_without_chunks"]}
    assert set(reasons) == {"silent.wav", "tiny.wav"}
    assert "silent" in reasons["silent.wav"] and "shorter" in reasons["tiny.wav"]
    assert "broken.wav" in caplog.text


def _assert_nothing_written():
    logs = _logs()
    assert not logs.exists() or not any(logs.iterdir()), list(logs.rglob("*"))


@pytest.mark.parametrize("case", ["missing", "file", "empty", "no_audio", "all_unreadable", "all_silent"])
def test_bad_dataset_fails_cleanly(tmp_path, capsys, case):
    ds = tmp_path / "ds"
    if case == "file":
        ds.write_text("x")
    elif case != "missing":
        ds.mkdir()
    if case == "no_audio":
        (ds / "notes.txt").write_text("x")
        (ds / "sub").mkdir()
    if case == "all_unreadable":
        (ds / "a.wav").write_bytes(b"nonsense" * 100)
        (ds / "b.mp3").write_bytes(b"")
    if case == "all_silent":
        sf.write(ds / "a.wav", np.zeros(40000 * 4, np.float32), 40000)
        sf.write(ds / "b.wav", _noise(40000, 0.1), 40000)
    code, out, err = _run_cli(capsys, "bad", "--dataset_path", str(ds), "--cpu_cores", "1")
    assert code == 1
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and str(ds) in lines[0]
    expected = {
        "missing": "does not exist", "file": "is not a directory", "empty": "holds no audio files",
        "no_audio": "holds no audio files", "all_unreadable": "2 unreadable", "all_silent": "2 silent or too short",
    }[case]
    assert expected in lines[0]
    _assert_nothing_written()


def test_default_dataset_path_is_under_datasets_root(capsys):
    code, _, err = _run_cli(capsys, "nobody")
    assert code == 1 and str(_datasets() / "nobody") in err
    _assert_nothing_written()


@pytest.mark.parametrize("flags,needle", [
    (["--overlap_len", "3.0"], "--overlap_len"),
    (["--chunk_len", "0"], "--chunk_len"),
    (["--clean_strength", "2"], "--clean_strength"),
    (["--cpu_cores", "0"], "--cpu_cores"),
])
def test_bad_flags_fail_cleanly(tmp_path, capsys, flags, needle, voices_dir):
    code, _, err = _run_cli(capsys, "flags", "--dataset_path", str(voices_dir / "slt"), *flags)
    assert code == 1 and needle in err and len(err.strip().splitlines()) == 1
    _assert_nothing_written()


def test_unknown_choice_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["preprocess", "x", "--cut_method", "Smart"])
    assert e.value.code == 2
    assert main(["preprocess", "x", "--cut_method", "simple", "--dataset_path", "/nonexistent"]) == 1


def test_failure_mid_run_keeps_previous_chunks(tmp_path, monkeypatch):
    ds = tmp_path / "ds"
    ds.mkdir()
    for i in range(3):
        sf.write(ds / f"{i}.wav", _noise(40000, 2.0, i), 40000)
    preprocess(PreprocessConfig("keep", dataset_path=ds, cpu_cores=1, progress=False))
    before = {p.name: p.read_bytes() for p in _chunks("keep")}
    real = stage.process_file

    def flaky(source, job):
        if source.index == 2:
            raise RuntimeError("disk on fire")
        return real(source, job)

    monkeypatch.setattr(stage, "process_file", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        preprocess(PreprocessConfig("keep", dataset_path=ds, chunk_len=0.5, overlap_len=0.0, cpu_cores=1, progress=False))
    assert {p.name: p.read_bytes() for p in _chunks("keep")} == before
    assert sorted(p.name for p in _logs().iterdir()) == ["keep"]  # no staging folder left


def test_noise_reduction_and_pre_normalization(tmp_path, voices_dir):
    from arvc.audio.dsp import blend_normalize
    from arvc.audio.io import load_audio

    ds = tmp_path / "ds"
    ds.mkdir()
    clean = load_audio(voices_dir / "slt" / "slt_01.flac", 40000)
    noisy = clean + _noise(40000, len(clean) / 40000, 5, 0.02)
    sf.write(ds / "a.wav", noisy, 40000, subtype="FLOAT")
    scale = 0.9 * 0.75 / np.abs(noisy).max() + 0.25  # pre normalisation is linear: x * scale
    np.testing.assert_allclose(blend_normalize(noisy.astype(np.float64)), noisy * scale, atol=1e-6)
    target = clean * scale
    errors = {}
    for nr in (False, True):
        model = f"nr_{nr}"
        res = preprocess(PreprocessConfig(model, dataset_path=ds, noise_reduction=nr, clean_strength=1.0,
                                          normalization="pre", cut_method="Skip", cpu_cores=1, progress=False))
        assert res.chunk_count == 1
        y = sf.read(_chunks(model)[0])[0]
        assert len(y) == len(clean)
        errors[nr] = float(np.linalg.norm(y - target))
    assert errors[True] < 0.7 * errors[False]
    with pytest.raises(ArvcError, match="--normalization"):
        preprocess(PreprocessConfig("nr", dataset_path=ds, normalization="loud"))


def test_staging_of_killed_runs_is_removed(tmp_path):
    ds = tmp_path / "ds"
    ds.mkdir()
    sf.write(ds / "a.wav", _noise(40000, 2.0), 40000)
    logs = _logs()
    dead = logs / f".preprocess-m-{2**22 + 12345}-abc123"  # above pid_max: no such process
    alive = logs / f".preprocess-m-{os.getpid()}-xyz"
    other = logs / f".preprocess-m-1-{2**22 + 1}-abc"  # staging of a model named "m-1"
    for p in (dead, alive, other):
        (p / "sliced_audios").mkdir(parents=True)
    preprocess(PreprocessConfig("m", dataset_path=ds, cpu_cores=1, progress=False))
    assert not dead.exists() and alive.exists() and other.exists()


def test_subprocess_exit_code_and_message(tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "nowhere"
    proc = subprocess.run(
        [sys.executable, "-m", "arvc.api.cli", "preprocess", "m", "--dataset_path", str(missing)],
        capture_output=True, text=True, env={**os.environ}, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: dataset path {missing} does not exist"]
    _assert_nothing_written()
    assert not (tmp_path / "logs").exists()


def test_unwritable_logs_dir_is_a_one_line_error(tmp_path, capsys):
    ds = tmp_path / "ds"
    ds.mkdir()
    sf.write(ds / "a.wav", _noise(40000, 2.0), 40000)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, out, err = _run_cli(capsys, "m", "--dataset_path", str(ds), "--cpu_cores", "1",
                              "--logs_dir", str(blocker / "logs"))
    assert code == 1
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "cannot write" in lines[0] and str(blocker / "logs") in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "ds"]


class _CountingPool(ThreadPoolExecutor):
    """Stand-in for the worker pool (threads, same process): notes how many files were submitted and not yet done."""

    peak = 0

    def __init__(self, max_workers, **_ignored):
        super().__init__(max_workers=max_workers)
        self.open = 0
        self.lock = threading.Lock()

    def submit(self, fn, *args):
        with self.lock:
            self.open += 1
            _CountingPool.peak = max(_CountingPool.peak, self.open)
        fut = super().submit(fn, *args)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _fut):
        with self.lock:
            self.open -= 1


@pytest.mark.parametrize("cores", [1, 2])
def test_memory_stays_flat_over_many_files(tmp_path, monkeypatch, cores):
    """Files in flight are bounded and no file's result outlives its folding into the totals, whatever the
    dataset's size (the parent held every file's result, and every file's future, until the end before)."""
    ds = tmp_path / "ds"
    for spk in ("a", "b"):
        (ds / spk).mkdir(parents=True)
        for i in range(15):
            sf.write(ds / spk / f"{i}.wav", _noise(16000, 0.8, i), 16000)
    sf.write(ds / "b" / "silent.wav", np.zeros(16000, np.float32), 16000)
    real, live, peak_live = stage.process_file, [0], [0]

    def tracked(source, job):
        time.sleep(0.005)
        result = real(source, job)
        live[0] += 1
        weakref.finalize(result, lambda: live.__setitem__(0, live[0] - 1))
        peak_live[0] = max(peak_live[0], live[0])
        return result

    _CountingPool.peak = 0
    monkeypatch.setattr(stage, "process_file", tracked)
    monkeypatch.setattr(stage, "ProcessPoolExecutor", _CountingPool)
    res = preprocess(PreprocessConfig(f"flat{cores}", dataset_path=ds, cpu_cores=cores, chunk_len=0.5, overlap_len=0.0,
                                      sample_rate=32000, progress=False))
    gc.collect()
    bound = stage.IN_FLIGHT_PER_WORKER * cores
    assert peak_live[0] <= bound + 1 and live[0] == 0, peak_live
    assert _CountingPool.peak <= (bound if cores > 1 else 0), _CountingPool.peak
    assert (res.files_found, res.files_used, res.chunk_count) == (31, 30, 30)
    info = _info(f"flat{cores}")
    assert [(s["name"], s["files"], s["chunks"]) for s in info["speakers"]] == [("a", 15, 15), ("b", 15, 15)]
    assert info["total_seconds"] == 24.0 and info["input_seconds"] == 25.0
    assert [f["path"] for f in info["files_without_chunks"]] == [str(ds / "b" / "silent.wav")]

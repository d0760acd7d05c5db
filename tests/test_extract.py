"""The extract stage: files per chunk, filelist, model_info, resume, settings changes, errors, and a
SIGKILL mid-run followed by a re-run that must equal an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from arvc.errors import ArvcError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
SR = 40000


@pytest.fixture(scope="module")
def tiny_embedder(tmp_path_factory):
    import torch
    from transformers import HubertConfig

    from arvc.features.embedders.hubert import _hubert_class

    torch.manual_seed(0)
    cfg = HubertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=96,
                       conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=16,
                       classifier_proj_size=24)
    folder = tmp_path_factory.mktemp("emb")
    _hubert_class()(cfg).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def experiment_template(tmp_path_factory, voices_dir):
    """A preprocessed-looking experiment: slt chunks of 1.5 s at 40 kHz and 16 kHz, two speakers."""
    import soundfile as sf

    from arvc.audio.io import load_audio

    root = tmp_path_factory.mktemp("template") / "demo"
    (root / "sliced_audios").mkdir(parents=True)
    (root / "sliced_audios_16k").mkdir()
    k = 0
    for fi, name in enumerate(["slt_01.flac", "slt_02.flac", "slt_03.flac"]):
        hi = load_audio(voices_dir / "slt" / name, sr=SR)
        lo = load_audio(voices_dir / "slt" / name, sr=16000)
        for ci in range(2):
            sid = 1 if fi == 2 else 0
            chunk = f"{sid}_{fi}_{ci}.wav"
            sf.write(root / "sliced_audios" / chunk, hi[ci * 60000:(ci + 1) * 60000 - 7 * ci], SR, subtype="FLOAT")
            sf.write(root / "sliced_audios_16k" / chunk, lo[ci * 24000:(ci + 1) * 24000 - 3 * ci], 16000, subtype="FLOAT")
            k += 1
    (root / "model_info.json").write_text(json.dumps({"sample_rate": SR, "chunk_count": k}))
    return root


def _copy_experiment(template: Path, logs: Path) -> Path:
    dst = logs / template.name
    shutil.copytree(template, dst)
    return dst


def _cfg(tiny_embedder, **kw):
    from arvc.stages.extract import ExtractConfig

    base = dict(model_name="demo", f0_method="pm", embedder_model="custom", embedder_path=str(tiny_embedder),
                cpu_cores=1, progress=False)
    base.update(kw)
    return ExtractConfig(**base)


def _outputs(root: Path) -> dict[str, np.ndarray]:
    out = {}
    for folder in ("f0", "f0_voiced", "extracted", "mute"):
        for p in sorted((root / folder).glob("*.npy")):
            out[f"{folder}/{p.name}"] = np.load(p)
    return out


def test_extract_writes_the_layout(tmp_path, experiment_template, tiny_embedder):
    from arvc.stages.extract import extract

    root = _copy_experiment(experiment_template, tmp_path / "logs")
    res = extract(_cfg(tiny_embedder, include_mutes=2))
    chunks = sorted(p.name for p in (root / "sliced_audios").glob("*.wav"))
    assert res.chunks == len(chunks) == 6 and res.features_computed == 6 and res.f0_computed == 6
    for name in chunks:
        n16 = len(__import__("soundfile").read(root / "sliced_audios_16k" / name)[0])
        coarse = np.load(root / "f0" / f"{name}.npy")
        hz = np.load(root / "f0_voiced" / f"{name}.npy")
        feats = np.load(root / "extracted" / f"{name}.npy")
        assert coarse.dtype == np.int64 and coarse.shape == (n16 // 160,)
        assert coarse.min() >= 1 and coarse.max() <= 255
        assert hz.dtype == np.float32 and hz.shape == (n16 // 160,)
        assert (hz > 0).mean() > 0.3  # speech is mostly voiced
        voiced = hz > 0
        assert np.all(coarse[~voiced] == 1) and np.all(coarse[voiced] > 1)
        assert feats.dtype == np.float32 and feats.shape == ((n16 - 400) // 320 + 1, 128)
    lines = (root / "filelist.txt").read_text().splitlines()
    assert len(lines) == 6 + 2 * 2  # 2 mute lines for each of the 2 speakers
    for line in lines:
        wav, feat, f0, f0v, sid = line.split("|")
        assert all(os.path.isabs(p) and os.path.isfile(p) for p in (wav, feat, f0, f0v))
        assert sid in ("0", "1")
        if "/mute/" not in wav:
            name = Path(wav).name
            assert Path(wav).parent.name == "sliced_audios" and sid == name.split("_")[0]
            assert Path(feat).name == Path(f0).name == Path(f0v).name == f"{name}.npy"
    mute = [line.split("|") for line in lines if "/mute/" in line]
    assert sorted(m[4] for m in mute) == ["0", "0", "1", "1"]
    import soundfile as sf

    silence, msr = sf.read(mute[0][0])
    assert msr == SR and not silence.any()
    assert np.load(mute[0][1]).shape[1] == 128 and np.all(np.load(mute[0][2]) == 1)
    info = json.loads((root / "model_info.json").read_text())
    assert info["embedder_model"] == "custom" and info["f0_method"] == "pm"
    assert info["version"] == "v2" and info["content_dim"] == 128 and info["sample_rate"] == SR
    assert not list(root.rglob("*.tmp-*"))

    # resume: nothing recomputed, nothing changed
    before = _outputs(root)
    res2 = extract(_cfg(tiny_embedder, include_mutes=2))
    assert res2.f0_computed == 0 and res2.features_computed == 0
    after = _outputs(root)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)

    # v1: features are recomputed (256-style final_proj dim of this model), F0 reused
    res3 = extract(_cfg(tiny_embedder, include_mutes=0, version="v1"))
    assert res3.f0_computed == 0 and res3.features_computed == 6
    assert np.load(root / "extracted" / f"{chunks[0]}.npy").shape[1] == 24
    assert len((root / "filelist.txt").read_text().splitlines()) == 6
    assert json.loads((root / "model_info.json").read_text())["content_dim"] == 24


def test_extract_errors(tmp_path, experiment_template, tiny_embedder):
    from arvc.stages.extract import extract

    with pytest.raises(ArvcError, match="does not exist.*preprocess"):
        extract(_cfg(tiny_embedder))
    (tmp_path / "logs" / "demo").mkdir(parents=True)
    with pytest.raises(ArvcError, match="not preprocessed"):
        extract(_cfg(tiny_embedder))
    shutil.rmtree(tmp_path / "logs" / "demo")
    _copy_experiment(experiment_template, tmp_path / "logs")
    with pytest.raises(ArvcError, match="--sample_rate 48000"):
        extract(_cfg(tiny_embedder, sample_rate=48000))
    with pytest.raises(ArvcError, match="embedder_path"):
        extract(_cfg(tiny_embedder, embedder_path=None))
    with pytest.raises(ArvcError, match="unknown F0 method"):
        extract(_cfg(tiny_embedder, f0_method="nope"))
    r = subprocess.run([sys.executable, "-m", "arvc.api.cli", "extract", "missing_model", "--f0_method", "pm"],
                       capture_output=True, text=True, cwd=ROOT, env={**os.environ, "ARVC_LOGS_DIR": str(tmp_path / "logs")})
    assert r.returncode == 1
    err = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "missing_model" in err[0]


def test_sigkill_mid_run_then_resume_equals_uninterrupted(tmp_path, experiment_template, tiny_embedder, monkeypatch):
    """Kill ``arvc extract`` (SIGKILL) once its first feature file exists, re-run it, compare."""
    from arvc.stages.extract import extract

    # uninterrupted reference (F0 through the process pool this time)
    monkeypatch.setattr("arvc.stages.extract.MIN_CHUNKS_PER_WORKER", 1)
    ref_root = _copy_experiment(experiment_template, tmp_path / "ref")
    extract(_cfg(tiny_embedder, logs_dir=str(tmp_path / "ref"), cpu_cores=2, include_mutes=1,
                 embedder_model="whisper-tiny.en", embedder_path=None))
    reference = _outputs(ref_root)

    logs = tmp_path / "killed"
    root = _copy_experiment(experiment_template, logs)
    # the packaged Whisper encoder (the offline quickstart's embedder; no transformers import in the child)
    cmd = [sys.executable, "-m", "arvc.api.cli", "extract", "demo", "--f0_method", "pm", "--embedder_model",
           "whisper-tiny.en", "--cpu_cores", "1", "--include_mutes", "1", "--logs_dir", str(logs), "--progress", "false"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    feats = root / "extracted"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if feats.is_dir() and any(p.name.endswith(".npy") and not p.name.startswith(".") for p in feats.iterdir()):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "extract finished before it could be killed"
    done = [p for p in feats.glob("*.npy") if not p.name.startswith(".")]
    assert 1 <= len(done) < 6, len(done)
    assert not (root / "filelist.txt").exists()
    # whatever carries a final name is complete: it loads and has its chunk's full size
    import soundfile as sf

    for folder, shape in (("f0", lambda n: (n // 160,)), ("f0_voiced", lambda n: (n // 160,)),
                          ("extracted", lambda n: ((n - 400) // 320 + 1, 384 * 2))):
        for p in (root / folder).glob("*.npy"):
            if p.name.startswith("."):
                continue  # a temporary of the killed write: removed by the next run (checked below)
            n16 = sf.info(str(root / "sliced_audios_16k" / p.name.removesuffix(".npy"))).frames
            assert np.load(p).shape == shape(n16), p

    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not list(root.rglob("*.tmp-*"))
    resumed = _outputs(root)
    assert resumed.keys() == reference.keys()
    for key in reference:
        if key.startswith(("f0/", "f0_voiced/")) or key.endswith("f0.npy") or key.endswith("f0_voiced.npy"):
            assert np.array_equal(resumed[key], reference[key]), key
        else:  # features: same model and input; thread counts may differ between processes
            np.testing.assert_allclose(resumed[key], reference[key], atol=1e-4, rtol=1e-4, err_msg=key)
    norm = lambda p, base: p.read_text().replace(str(base.resolve()), "<exp>")  # noqa: E731
    assert norm(root / "filelist.txt", root) == norm(ref_root / "filelist.txt", ref_root)


def test_f0_on_other_hops_lands_on_the_10ms_grid():
    from arvc.features.f0 import F0Options, get_f0_method
    from arvc.stages.extract import compute_f0

    t = np.arange(24000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    for hop in (160, 80, 320):
        method = get_f0_method("pm", options=F0Options(hop_length=hop))
        coarse, hz = compute_f0(method, tone, hop)
        assert hz.shape == coarse.shape == (24000 // 160,)
        mid = hz[10:-10]
        assert np.all(np.abs(mid - 220) < 3), (hop, mid.min(), mid.max())


def test_cli_flags_reach_the_config(monkeypatch):
    from arvc.api.cli import build_parser

    parser, module = build_parser("extract")
    args = parser.parse_args(["m", "--sample_rate", "48000", "--f0_method", "harvest", "--version", "v1",
                              "--embedders_mix", "9,12,0.3", "--include_mutes", "0", "--hop_length", "128",
                              "--f0_min", "60", "--f0_max", "900", "--embedder_model", "custom",
                              "--embedder_path", "/x", "--gpu", "0", "--cpu_cores", "3"])
    from arvc.stages.extract import ExtractConfig, extract

    seen = {}

    def fake(cfg):
        seen["cfg"] = cfg
        raise ArvcError("stop")

    monkeypatch.setattr("arvc.stages.extract.extract", fake)
    with pytest.raises(ArvcError, match="stop"):
        module.run(args)
    cfg = seen["cfg"]
    assert (cfg.sample_rate, cfg.f0_method, cfg.version, cfg.embedders_mix, cfg.include_mutes) == (48000, "harvest", "v1", "9,12,0.3", 0)
    assert (cfg.hop_length, cfg.f0_min, cfg.f0_max, cfg.embedder_path, cfg.gpu, cfg.cpu_cores) == (128, 60.0, 900.0, "/x", "0", 3)

    with pytest.raises(ArvcError, match="v2 only"):
        extract(ExtractConfig("m", embedder_model="whisper-tiny.en", version="v1"))
    with pytest.raises(ArvcError, match="unknown embedder"):
        extract(ExtractConfig("m", embedder_model="nope"))


def test_extract_after_the_real_preprocess_stage(tmp_path, voices_dir, tiny_embedder):
    from arvc.stages.extract import extract
    from arvc.stages.preprocess import PreprocessConfig, preprocess

    ds = tmp_path / "datasets" / "demo"
    ds.mkdir(parents=True)
    for name in ("slt_04.flac", "slt_05.flac"):
        shutil.copy(voices_dir / "slt" / name, ds)
    pre = preprocess(PreprocessConfig("demo", sample_rate=48000, cpu_cores=1, progress=False))
    res = extract(_cfg(tiny_embedder, sample_rate=48000, include_mutes=1))
    assert res.chunks == pre.chunk_count and res.filelist_lines == pre.chunk_count + 1
    info = json.loads(pre.paths.model_info.read_text())
    assert info["sample_rate"] == 48000 and info["chunk_count"] == pre.chunk_count  # preprocess's keys kept
    assert (info["embedder_model"], info["f0_method"], info["version"], info["content_dim"]) == ("custom", "pm", "v2", 128)
    import soundfile as sf

    for line in pre.paths.filelist.read_text().splitlines():
        wav, feat, f0, _, _ = line.split("|")
        assert sf.info(wav).samplerate == 48000
        if "/mute/" not in wav:
            n16 = sf.info(str(pre.paths.sliced_16k / Path(wav).name)).frames
            assert np.load(f0).shape == (n16 // 160,) and np.load(feat).shape == ((n16 - 400) // 320 + 1, 128)


def test_bad_settings_on_rerun_keep_the_existing_outputs(tmp_path, experiment_template, tiny_embedder):
    """A typo in --f0_method or an embedder that cannot load must fail before removing the previous outputs."""
    from arvc.stages.extract import extract

    root = _copy_experiment(experiment_template, tmp_path / "logs")
    extract(_cfg(tiny_embedder))
    before = _outputs(root)
    info_before = json.loads((root / "model_info.json").read_text())
    with pytest.raises(ArvcError, match="unknown F0 method"):
        extract(_cfg(tiny_embedder, f0_method="nope"))
    with pytest.raises(ArvcError):
        extract(_cfg(tiny_embedder, embedder_path=str(tmp_path / "no_such_embedder")))
    after = _outputs(root)
    assert after.keys() == before.keys() and len(after) >= 18  # 6 chunks x (f0, f0_voiced, extracted)
    assert all(np.array_equal(after[k], before[k]) for k in before)
    assert json.loads((root / "model_info.json").read_text()) == info_before
    assert extract(_cfg(tiny_embedder)).features_computed == 0


def test_sharded_extraction_equals_unsharded(tmp_path, experiment_template, tiny_embedder, one_thread):
    """Shards 1/3 and 2/3 as two CLI processes started together on a fresh folder, then shard 0/3 in this
    process, then a run without --shard writes the filelist: every file equals one unsharded run's, bit for bit."""
    from arvc.stages.extract import extract

    ref_root = _copy_experiment(experiment_template, tmp_path / "ref")
    extract(_cfg(tiny_embedder, logs_dir=str(tmp_path / "ref"), include_mutes=1))
    reference = _outputs(ref_root)

    logs = tmp_path / "sharded"
    root = _copy_experiment(experiment_template, logs)
    names = sorted((p.name for p in (root / "sliced_audios").glob("*.wav")),
                   key=lambda n: tuple(int(x) for x in n[:-4].split("_")))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "arvc.api.cli", "extract", "demo", "--f0_method", "pm", "--embedder_model", "custom",
           "--embedder_path", str(tiny_embedder), "--cpu_cores", "1", "--include_mutes", "1", "--logs_dir", str(logs),
           "--progress", "false", "--shard"]
    procs = [subprocess.Popen([*cmd, f"{i}/3"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for i in (1, 2)]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all("2 chunks (2 F0 and 2 feature files computed" in o for o in outs), outs
    theirs = sorted(f"{n}.npy" for n in names[1::3] + names[2::3])
    for folder in ("f0", "f0_voiced", "extracted"):
        assert sorted(p.name for p in (root / folder).glob("*.npy")) == theirs
    assert not (root / "filelist.txt").exists() and not (root / "mute").exists()

    part = extract(_cfg(tiny_embedder, logs_dir=str(logs), include_mutes=1, shard="0/3"))
    assert part.chunks == part.f0_computed == part.features_computed == 2 and part.filelist_lines == 0
    assert len(list((root / "extracted").glob("*.npy"))) == 6 and not (root / "filelist.txt").exists()
    again = extract(_cfg(tiny_embedder, logs_dir=str(logs), include_mutes=1, shard="0/3"))
    assert again.f0_computed == again.features_computed == 0  # resumes

    # the final step refuses while a shard holds its lock, then computes nothing and writes the filelist
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR "
                               "| os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'1 extract[1/3]'); "
                               "print('held', flush=True); time.sleep(60)", str(root / ".arvc.shard-1-of-3.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ArvcError, match=r"extract\[1/3\].*still running"):
            extract(_cfg(tiny_embedder, logs_dir=str(logs), include_mutes=1))
    finally:
        holder.kill()
        holder.wait()
    final = extract(_cfg(tiny_embedder, logs_dir=str(logs), include_mutes=1))
    assert final.f0_computed == final.features_computed == 0 and final.filelist_lines == 6 + 2
    sharded = _outputs(root)
    assert sharded.keys() == reference.keys()
    for key, value in reference.items():
        assert sharded[key].dtype == value.dtype and np.array_equal(sharded[key], value), key
    norm = lambda p, base: p.read_text().replace(str(base.resolve()), "<exp>")  # noqa: E731
    assert norm(root / "filelist.txt", root) == norm(ref_root / "filelist.txt", ref_root)
    assert json.loads((root / "model_info.json").read_text())["extract_complete"] is True
    assert not list(root.rglob("*.tmp-*"))


def test_shard_option_and_settings_guard(tmp_path, experiment_template, tiny_embedder, monkeypatch):
    from arvc.api.cli import build_parser
    from arvc.stages.extract import extract, parse_shard

    parser, _ = build_parser("extract")
    assert parser.parse_args(["m", "--shard", "1/4"]).shard == "1/4"
    for bad in ("4/4", "x", "1/0", "-1/2"):
        with pytest.raises(SystemExit):
            parser.parse_args(["m", "--shard", bad])
    assert parse_shard(None) is None and parse_shard("2/5") == (2, 5)
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(ArvcError, match="RANK and WORLD_SIZE"):
        parse_shard("auto")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert parse_shard("auto") == (3, 4)
    monkeypatch.delenv("RANK")
    # a shard never deletes files made with other settings: it stops and says what to run
    _copy_experiment(experiment_template, tmp_path / "logs")
    extract(_cfg(tiny_embedder, shard="0/2"))
    with pytest.raises(ArvcError, match="other extraction settings.*without --shard"):
        extract(_cfg(tiny_embedder, shard="1/2", f0_method="yin"))


def test_a_shard_that_read_the_settings_before_another_recorded_them_goes_on(tmp_path, experiment_template):
    """Two fresh shards: B read model_info.json before A recorded the settings and wrote a file. B must see
    that the files are A's (same settings), not stop as if they were made with other settings."""
    from arvc.experiment import ExperimentInfo
    from arvc.paths import ExperimentPaths
    from arvc.stages.extract import _record_shard_settings, _settings

    root = _copy_experiment(experiment_template, tmp_path / "logs")
    paths = ExperimentPaths.of("demo", tmp_path / "logs")
    settings = _settings(_cfg("/emb", shard="1/2"))
    stale = ExperimentInfo.read(paths.model_info)  # B's read, before A
    _record_shard_settings(paths, ExperimentInfo.read(paths.model_info), settings, True)  # A records ...
    paths.f0_coarse.mkdir()
    np.save(paths.f0_coarse / "0_0_0.wav.npy", np.ones(3, dtype=np.int64))  # ... and writes
    _record_shard_settings(paths, stale, settings, True)  # B goes on
    assert (paths.f0_coarse / "0_0_0.wav.npy").is_file()
    other = _settings(_cfg("/emb", shard="1/2", f0_method="yin"))
    with pytest.raises(ArvcError, match="other extraction settings"):
        _record_shard_settings(paths, ExperimentInfo.read(paths.model_info), other, True)
    assert json.loads((root / "model_info.json").read_text())["f0_method"] == "pm"

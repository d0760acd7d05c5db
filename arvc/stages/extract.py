"""Stage: F0 and content features for every preprocessed chunk of an experiment.

For each chunk ``<name>.wav`` present in both ``sliced_audios/`` (target rate) and
``sliced_audios_16k/``, from the 16 kHz file (read as is; no extra filtering, as Applio):
  f0/<name>.wav.npy         int64 coarse pitch 1..255, one value per 10 ms (n = len // 160)
  f0_voiced/<name>.wav.npy  float32 F0 in Hz (0 = unvoiced), same frames
  extracted/<name>.wav.npy  float32 (frames, dim) content features, 50 frames/s,
                            frames = (len - 400) // 320 + 1 (the trainer repeats each twice)
then ``filelist.txt`` (``wav|feat|f0|f0_voiced|sid`` per line, absolute paths, sorted) with
``include_mutes`` extra lines per speaker pointing at generated silence (``mute/``: a 3 s silent
wav at the model rate, its unvoiced F0 and the embedder's features of silence, as RVC's mute
folder but made with the embedder in use), and ``model_info.json`` gains ``embedder_model``,
``f0_method``, ``version``, ``content_dim`` (plus the other extraction settings).

F0 is computed with ``hop_length`` samples between analysis frames; any hop other than 160 is
resampled onto the 10 ms grid (linear between voiced frames).

Sharded (``--shard I/N``, or ``auto`` under a launcher): the run takes every N-th chunk from the I-th, writes
only their F0 / feature files (disjoint from the other shards', one lock file per shard) and no filelist; a run
without ``--shard`` afterwards computes whatever is missing and writes the filelist, so the result is the same
as one unsharded run.

Resumable: a chunk whose output files exist is skipped; every file is written atomically, and
leftover temporary files of a killed run are removed at the start. When the settings that made
the existing files differ (recorded in model_info.json before any computation starts), the
affected outputs are deleted first so old and new features never mix.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from arvc import events
from arvc.atomic import TMP_MARK, remove_stale_temporaries, save_npy, write_json
from arvc.audio.io import save_audio
from arvc.constants import CONTENT_DIMS, F0_HOP, SR_16K, VERSIONS
from arvc.allocator import tune_cpu_allocator
from arvc.device import select_device
from arvc.errors import ArvcError
from arvc.experiment import ExperimentInfo, FileEntry, write_filelist
from arvc.features.embedders import EMBEDDERS, LayerMix, load_embedder, n_frames
from arvc.features.f0 import F0Options, get_f0_method
from arvc.features.f0.postprocess import coarse_f0, contour_to_grid
from arvc.locks import experiment_lock, held_locks, locks_experiment, shard_lock_name
from arvc.paths import ExperimentPaths
from arvc.progress import progress_bar
from arvc.stages.config import ExtractConfig
from arvc.workers import die_with_parent

log = logging.getLogger(__name__)

MIN_CHUNKS_PER_WORKER = 16  # below this a process pool costs more (spawn + imports) than it saves
MUTE_SECONDS = 3.0
F0_KEYS = ("f0_method", "f0_hop_length", "f0_min", "f0_max")
FEATURE_KEYS = ("embedder_model", "embedder_path", "version", "content_dim", "embedder_layer", "embedders_mix")


@dataclass
class ExtractResult:
    paths: ExperimentPaths
    chunks: int
    f0_computed: int
    features_computed: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (chunk, reason) left out of the filelist
    filelist_lines: int = 0
    content_dim: int = 0
    elapsed: float = 0.0


# ---------------------------------------------------------------- per-chunk computations (pure)


def f0_frames(n_samples: int) -> int:
    return int(n_samples) // F0_HOP


def compute_f0(method, audio16k: np.ndarray, hop_length: int = F0_HOP) -> tuple[np.ndarray, np.ndarray]:
    """(N,) 16 kHz audio -> (coarse int64 (N // 160,), Hz float32 (N // 160,)) with an F0 method object."""
    n = f0_frames(len(audio16k))
    if hop_length == F0_HOP:
        hz = method.compute(audio16k, n)
    else:
        m = max(len(audio16k) // hop_length, 1)
        raw = method.compute(audio16k, m)
        hz = contour_to_grid(np.arange(m) * hop_length / SR_16K, raw, np.arange(n) * F0_HOP / SR_16K)
    hz = np.asarray(hz, dtype=np.float32)
    return coarse_f0(hz), hz


def read_chunk(path: Path) -> np.ndarray:
    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:
        raise ArvcError(f"{path}: unreadable chunk ({e}); re-run preprocess") from None
    if sr != SR_16K:
        raise ArvcError(f"{path}: expected {SR_16K} Hz, found {sr} Hz; re-run preprocess")
    return np.ascontiguousarray(audio.mean(axis=1))


# ---------------------------------------------------------------- F0 workers

_worker_method = None


def _f0_worker_init(name: str, options) -> None:
    die_with_parent()
    global _worker_method
    _worker_method = get_f0_method(name, options=options, device="cpu")


def _f0_worker_job(src: str, coarse_out: str, hz_out: str, hop: int) -> str:
    _write_f0(_worker_method, Path(src), Path(coarse_out), Path(hz_out), hop)
    return src


def _write_f0(method, src: Path, coarse_out: Path, hz_out: Path, hop: int) -> None:
    coarse, hz = compute_f0(method, read_chunk(src), hop)
    save_npy(hz_out, hz)
    save_npy(coarse_out, coarse)  # written last: its presence marks the chunk's F0 as complete


# ---------------------------------------------------------------- the stage


def _chunk_names(paths: ExperimentPaths) -> list[str]:
    if not paths.root.is_dir():
        raise ArvcError(f"experiment folder {paths.root} does not exist; run 'arvc preprocess {paths.model_name}' first")
    if not paths.sliced.is_dir() or not paths.sliced_16k.is_dir():
        raise ArvcError(f"experiment folder {paths.root} is not preprocessed (no sliced_audios/ or sliced_audios_16k/); "
                        f"run 'arvc preprocess {paths.model_name}' first")
    target = {p.name for p in paths.sliced.glob("*.wav") if not p.name.startswith(".")}
    low = {p.name for p in paths.sliced_16k.glob("*.wav") if not p.name.startswith(".")}
    if not target or not low:
        raise ArvcError(f"experiment folder {paths.root} has no chunks in sliced_audios/ and sliced_audios_16k/; "
                        f"run 'arvc preprocess {paths.model_name}' first")
    unpaired = sorted(target ^ low)
    if unpaired:
        log.warning("%d chunk(s) exist at one rate only and are ignored (e.g. %s); re-run preprocess",
                    len(unpaired), unpaired[0])
    return sorted(target & low, key=_chunk_key)


def _chunk_key(name: str) -> tuple:
    parts = name.removesuffix(".wav").split("_")
    return tuple(int(p) if p.isdigit() else 0 for p in parts) + (name,)


def _speaker_of(name: str) -> int:
    head = name.split("_", 1)[0]
    return int(head) if head.isdigit() else 0


def _purge(folder: Path, reason: str) -> None:
    files = [p for p in folder.glob("*.npy")] if folder.is_dir() else []
    for p in files:
        p.unlink(missing_ok=True)
    if files:
        log.info("removed %d file(s) from %s: %s", len(files), folder.name, reason)


def _remove_temporaries(paths: ExperimentPaths) -> None:
    n = 0
    for folder in (paths.f0_coarse, paths.f0_hz, paths.features, paths.mute):
        if folder.is_dir():
            n += remove_stale_temporaries(folder)
    for p in paths.root.glob(f".*{TMP_MARK}*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    if n:
        log.info("removed %d temporary file(s) left by an interrupted run", n)


def _validate(cfg: ExtractConfig) -> None:
    if cfg.version not in VERSIONS:
        raise ArvcError(f"--version {cfg.version!r}: expected v1 or v2")
    if cfg.hop_length < 1 or cfg.hop_length > SR_16K:
        raise ArvcError(f"--hop_length {cfg.hop_length}: expected 1..{SR_16K} samples at 16 kHz")
    if not 0 < cfg.f0_min < cfg.f0_max:
        raise ArvcError(f"--f0_min {cfg.f0_min} / --f0_max {cfg.f0_max}: need 0 < f0_min < f0_max")
    if cfg.include_mutes < 0:
        raise ArvcError(f"--include_mutes {cfg.include_mutes}: expected 0 or more")
    if cfg.embedder_model == "custom" and not cfg.embedder_path:
        raise ArvcError("--embedder_model custom needs --embedder_path (a folder with config.json and model weights)")
    if "/" not in cfg.embedder_model or cfg.embedder_model in EMBEDDERS:
        name = EMBEDDERS.resolve(cfg.embedder_model)  # unknown names fail here, before any work
        if name == "whisper-tiny.en" and cfg.version != "v2":
            raise ArvcError(f"--embedder_model {cfg.embedder_model} supports --version v2 only (384-dim Whisper "
                            f"features are mapped to 768)")


def _sample_rate(cfg: ExtractConfig, paths: ExperimentPaths, info: ExperimentInfo, first: str) -> int:
    found = int(sf.info(str(paths.sliced / first)).samplerate)
    if cfg.sample_rate and int(cfg.sample_rate) != found:
        raise ArvcError(f"--sample_rate {cfg.sample_rate} does not match the chunks in {paths.sliced} ({found} Hz); "
                        f"re-run preprocess with --sample_rate {cfg.sample_rate}")
    recorded = info.sample_rate
    if recorded and int(recorded) != found:
        log.warning("model_info.json says %s Hz but the chunks are %d Hz", recorded, found)
    return found


def _mute_state(paths: ExperimentPaths, sr: int, f0_settings: dict, feat_settings: dict) -> tuple[dict, dict, bool]:
    files = paths.mute_files(sr)
    settings = {"sample_rate": sr, **f0_settings, **feat_settings}
    try:
        current = json.loads(files["settings"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    return files, settings, current == settings and all(p.is_file() for p in files.values())


def _make_mute(paths: ExperimentPaths, sr: int, embedder, f0_settings: dict, feat_settings: dict) -> dict[str, Path]:
    """Silent chunk + its features in ``<exp>/mute/``; rebuilt when missing or made with other settings."""
    files, settings, ok = _mute_state(paths, sr, f0_settings, feat_settings)
    if ok:
        return files
    n16 = int(MUTE_SECONDS * SR_16K)
    silence16 = np.zeros(n16, dtype=np.float32)
    feats = embedder.extract(torch.from_numpy(silence16)[None])[0].cpu().numpy().astype(np.float32)
    assert feats.shape[0] == n_frames(n16)
    save_audio(files["wav"], np.zeros(int(MUTE_SECONDS * sr), dtype=np.float32), sr, "wav")
    save_npy(files["feat"], feats)
    save_npy(files["f0"], np.ones(f0_frames(n16), dtype=np.int64))
    save_npy(files["f0_voiced"], np.zeros(f0_frames(n16), dtype=np.float32))
    write_json(files["settings"], settings)
    return files


@dataclass
class _Settings:
    """What the outputs are made with, as recorded in model_info.json (field -> value)."""

    embedder_name: str
    mix: LayerMix | None
    f0: dict
    features: dict
    f0_options: F0Options


def _settings(cfg: ExtractConfig) -> _Settings:
    mix = LayerMix.parse(cfg.embedders_mix)
    name = EMBEDDERS.resolve(cfg.embedder_model) if cfg.embedder_model in EMBEDDERS else cfg.embedder_model
    embedder_path = str(Path(cfg.embedder_path).expanduser().resolve()) if cfg.embedder_path else None
    f0 = {"f0_method": cfg.f0_method, "f0_hop_length": cfg.hop_length, "f0_min": cfg.f0_min, "f0_max": cfg.f0_max}
    features = {"embedder_model": name, "embedder_path": embedder_path, "version": cfg.version,
                "embedder_layer": cfg.embedder_layer,
                "embedders_mix": [mix.layer_a, mix.layer_b, mix.ratio] if mix else None}
    options = F0Options(hop_length=cfg.hop_length, f0_min=cfg.f0_min, f0_max=cfg.f0_max)
    return _Settings(name, mix, f0, features, options)


def _load_embedder(cfg: ExtractConfig, settings: _Settings, device: torch.device):
    return load_embedder(settings.embedder_name, path=cfg.embedder_path, version=cfg.version,
                         layer=cfg.embedder_layer, mix=settings.mix, device=device, precision=cfg.precision)


def _invalidate(paths: ExperimentPaths, info: ExperimentInfo, settings: _Settings, f0_changed: bool,
                feat_changed: bool) -> None:
    """Remove the outputs made with other settings and record the new ones before any is made."""
    if f0_changed:
        _purge(paths.f0_coarse, "F0 settings changed")
        _purge(paths.f0_hz, "F0 settings changed")
    if feat_changed:
        _purge(paths.features, "embedder settings changed")
    info.update(content_dim=None, extract_complete=None, **settings.f0, **settings.features)
    info.write(paths.model_info)


def _missing(folders: tuple[Path, ...], names: list[str]) -> list[str]:
    return [n for n in names if not all((folder / f"{n}.npy").is_file() for folder in folders)]


def _extract_f0(cfg: ExtractConfig, paths: ExperimentPaths, todo: list[str], method, settings: _Settings,
                device: torch.device) -> None:
    """F0 of the ``todo`` chunks: in this process (GPU, few chunks, one core) or a spawn pool of CPU workers."""
    cores = min(cfg.cpu_cores or os.cpu_count() or 1, len(todo) // MIN_CHUNKS_PER_WORKER)
    jobs = [(str(paths.sliced_16k / n), str(paths.f0_coarse / f"{n}.npy"), str(paths.f0_hz / f"{n}.npy"))
            for n in todo]
    with progress_bar(total=len(jobs), unit="chunk", desc=f"f0 ({cfg.f0_method})", disable=not cfg.progress) as bar:
        if cores <= 1 or device.type != "cpu":
            method = method or get_f0_method(cfg.f0_method, options=settings.f0_options, device=device)
            for src, c_out, h_out in jobs:
                _write_f0(method, Path(src), Path(c_out), Path(h_out), cfg.hop_length)
                bar.update(1)
            return
        if method is None:
            get_f0_method(cfg.f0_method, options=settings.f0_options, device="cpu")  # fail fast on a bad name
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(cores, mp_context=ctx, initializer=_f0_worker_init,
                                 initargs=(cfg.f0_method, settings.f0_options)) as pool:
            for _ in pool.map(_f0_worker_job, *zip(*jobs), [cfg.hop_length] * len(jobs)):
                bar.update(1)


def _extract_features(cfg: ExtractConfig, paths: ExperimentPaths, todo: list[str], embedder) -> list[tuple[str, str]]:
    """Content features of the ``todo`` chunks; returns the chunks left out (non-finite output) with why."""
    skipped: list[tuple[str, str]] = []
    with progress_bar(total=len(todo), unit="chunk", desc=f"features ({cfg.embedder_model})",
                      disable=not cfg.progress) as bar:
        for n in todo:
            audio = read_chunk(paths.sliced_16k / n)
            feats = embedder.extract(torch.from_numpy(audio)[None])[0].cpu().numpy().astype(np.float32)
            if not np.isfinite(feats).all():
                skipped.append((n, "non-finite features"))
                log.warning("%s: the embedder gave NaN/inf features; chunk left out", n)
            else:
                save_npy(paths.features / f"{n}.npy", feats)
            bar.update(1)
    return skipped


def _chunk_entries(paths: ExperimentPaths, names: list[str], skipped: list[tuple[str, str]]) -> list[FileEntry]:
    """Filelist entries of the chunks whose three outputs exist; the others are added to ``skipped``."""
    entries = []
    for n in names:
        feat, c, h = paths.features / f"{n}.npy", paths.f0_coarse / f"{n}.npy", paths.f0_hz / f"{n}.npy"
        if not (feat.is_file() and c.is_file() and h.is_file()):
            if not any(s[0] == n for s in skipped):
                skipped.append((n, "outputs missing"))
            continue
        entries.append(FileEntry((paths.sliced / n).resolve(), feat.resolve(), c.resolve(), h.resolve(),
                                 _speaker_of(n)))
    if not entries:
        raise ArvcError(f"experiment folder {paths.root}: no chunk gave usable features")
    return entries


def _mute_entries(mute: dict[str, Path], speakers: list[int], per_speaker: int) -> list[FileEntry]:
    wav, feat, f0, f0_hz = (mute[k].resolve() for k in ("wav", "feat", "f0", "f0_voiced"))
    return [FileEntry(wav, feat, f0, f0_hz, sid) for sid in speakers for _ in range(per_speaker)]


@events.staged("extract")
def extract(cfg: ExtractConfig) -> ExtractResult:
    """Run the extract stage (see the module docstring), or part I of N of it with ``cfg.shard``.
    Raises ArvcError on bad input."""
    shard = parse_shard(cfg.shard)
    if shard is None:
        return _extract_all(cfg)
    paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
    _chunk_names(paths)  # the folder exists and is preprocessed (else the lock would create it)
    index, count = shard
    with experiment_lock(paths.root, f"extract[{index}/{count}]", name=shard_lock_name(index, count)):
        busy = held_locks(paths.root)
        if busy:
            raise ArvcError(f"{paths.root} is in use by `arvc {busy[0][2]}` (PID {busy[0][1]}); "
                            f"a shard cannot run beside it")
        return _extract(cfg, shard)


@locks_experiment("extract")
def _extract_all(cfg: ExtractConfig) -> ExtractResult:
    paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
    busy = held_locks(paths.root, ".arvc.shard-*.lock") if paths.root.is_dir() else []
    if busy:
        raise ArvcError(f"{paths.root}: `arvc {busy[0][2]}` (PID {busy[0][1]}) is still running; "
                        f"write the filelist once every shard has finished")
    return _extract(cfg, None)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"I/N"`` -> (I, N); ``"auto"`` -> (RANK, WORLD_SIZE) of torchrun / accelerate launch; None -> None."""
    if text is None:
        return None
    if text.strip().lower() == "auto":
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise ArvcError("--shard auto needs RANK and WORLD_SIZE (run it under torchrun or accelerate launch)")
        index, count = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    else:
        try:
            index, count = (int(x) for x in text.split("/"))
        except ValueError:
            raise ArvcError(f"--shard {text!r}: expected I/N (e.g. 0/4) or auto") from None
    if not 0 <= index < count:
        raise ArvcError(f"--shard {index}/{count}: expected 0 <= I < N")
    return index, count


def _shard_gpu(cfg: ExtractConfig) -> str | None:
    """``--gpu``, or under ``--shard auto`` without it the launcher's LOCAL_RANK (one GPU per process)."""
    if cfg.gpu is not None or (cfg.shard or "").strip().lower() != "auto" or "LOCAL_RANK" not in os.environ:
        return cfg.gpu
    from arvc.device import device_count

    return os.environ["LOCAL_RANK"] if device_count("cuda") > int(os.environ["LOCAL_RANK"]) else None


def _remove_shard_temporaries(paths: ExperimentPaths, names: list[str]) -> None:
    """Leftovers of an interrupted write of this shard's own chunks (other shards may be writing beside it)."""
    mine = {f"{n}.npy" for n in names}
    for folder in (paths.f0_coarse, paths.f0_hz, paths.features):
        for p in folder.glob(f".*{TMP_MARK}*") if folder.is_dir() else ():
            if p.name[1:].split(TMP_MARK)[0] in mine:
                p.unlink(missing_ok=True)


def _record_shard_settings(paths: ExperimentPaths, info: ExperimentInfo, settings: _Settings, changed: bool) -> None:
    """A shard never deletes: outputs made with other settings must be replaced by a run without --shard.
    Shards record the settings before writing any file, so files found while the record (read again: another
    shard may just have written it) matches ours were made with our settings."""
    if not changed:
        return
    now = ExperimentInfo.read(paths.model_info)
    if not (now.differs(settings.f0) or now.differs(settings.features)):
        return
    old = [f for f in (paths.f0_coarse, paths.f0_hz, paths.features) if f.is_dir() and any(f.glob("*.npy"))]
    if old:
        raise ArvcError(f"{old[0]} holds files made with other extraction settings than this --shard run's; "
                        f"run `arvc extract {paths.model_name}` without --shard once (it replaces them), or "
                        f"use the settings recorded in {paths.model_info}")
    info.update(content_dim=None, extract_complete=None, **settings.f0, **settings.features)
    info.write(paths.model_info)


def _extract(cfg: ExtractConfig, shard: tuple[int, int] | None) -> ExtractResult:
    t0 = time.perf_counter()
    _validate(cfg)
    settings = _settings(cfg)
    paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
    names = _chunk_names(paths)
    if shard is not None:
        names = names[shard[0]::shard[1]]
        _remove_shard_temporaries(paths, names)
    else:
        _remove_temporaries(paths)
    info = ExperimentInfo.read(paths.model_info)
    sr = _sample_rate(cfg, paths, info, names[0]) if names else 0

    # invalidate: a bad F0 method or embedder fails here, before the files of the previous settings are removed
    f0_changed, feat_changed = info.differs(settings.f0), info.differs(settings.features)
    device = select_device(_shard_gpu(cfg))
    tune_cpu_allocator(device)
    method = get_f0_method(cfg.f0_method, options=settings.f0_options, device=device) if f0_changed else None
    embedder = _load_embedder(cfg, settings, device) if feat_changed else None
    if shard is None:
        _invalidate(paths, info, settings, f0_changed, feat_changed)
    else:
        _record_shard_settings(paths, info, settings, f0_changed or feat_changed)

    todo_f0 = _missing((paths.f0_coarse, paths.f0_hz), names)
    todo_feat = _missing((paths.features,), names)
    for folder in (paths.f0_coarse, paths.f0_hz, paths.features):
        folder.mkdir(parents=True, exist_ok=True)
    part = f" shard {shard[0]}/{shard[1]}" if shard else ""
    log.info("extract %s%s: %d chunks (%d need F0, %d need features)", paths.root, part, len(names), len(todo_f0),
             len(todo_feat))

    # F0
    if todo_f0:
        _extract_f0(cfg, paths, todo_f0, method, settings, device)
    del method

    # features
    need_mute = shard is None and cfg.include_mutes > 0 and not _mute_state(paths, sr, settings.f0,
                                                                           settings.features)[2]
    if embedder is None and (todo_feat or need_mute):
        embedder = _load_embedder(cfg, settings, device)
        log.info("embedder: %s", embedder.describe())
    skipped = _extract_features(cfg, paths, todo_feat, embedder)
    result = ExtractResult(paths=paths, chunks=len(names), f0_computed=len(todo_f0), features_computed=len(todo_feat),
                           skipped=skipped, content_dim=int(embedder.dim) if embedder is not None else 0)
    if shard is None:
        _write_filelist(cfg, paths, info, names, result, embedder, sr, settings)
    result.elapsed = time.perf_counter() - t0
    return result


def _write_filelist(cfg: ExtractConfig, paths: ExperimentPaths, info: ExperimentInfo, names: list[str],
                    result: ExtractResult, embedder, sr: int, settings: _Settings) -> None:
    """filelist.txt of every chunk with its three outputs (plus the mute entries), then model_info.json."""
    entries = _chunk_entries(paths, names, result.skipped)
    content_dim = embedder.dim if embedder is not None else int(np.load(entries[0].feat, mmap_mode="r").shape[1])
    if cfg.include_mutes > 0:
        mute = _make_mute(paths, sr, embedder, settings.f0, settings.features)
        entries += _mute_entries(mute, sorted({_speaker_of(n) for n in names}), cfg.include_mutes)
    write_filelist(paths.filelist, entries)
    events.artifact("filelist", paths.filelist, lines=len(entries))
    info.update(content_dim=content_dim, include_mutes=cfg.include_mutes, extract_complete=True)
    info.write(paths.model_info)
    if content_dim != CONTENT_DIMS[cfg.version]:
        log.warning("content_dim %s: standard RVC %s models expect %d-dim features", content_dim, cfg.version,
                    CONTENT_DIMS[cfg.version])
    result.filelist_lines, result.content_dim = len(entries), int(content_dim)

"""Stage: slice a folder of recordings into training chunks under ``logs/<model>/``.

The per-file work is :mod:`arvc.preprocessing.worker` (decode, filter, normalise, denoise, cut, write at both
rates); which files and speakers a dataset folder holds is :mod:`arvc.preprocessing.discovery`.

Bad input (missing / non-folder / audio-free dataset, bad flags) raises ArvcError before anything
is written. Unreadable files are skipped and listed; files that give no chunk (silent, too short)
are listed too; if no file gives a chunk the run fails and writes nothing.

Chunks are written to a hidden staging folder beside the experiment and moved into place at the
end, replacing the previous chunks; features extracted from earlier chunks (f0/, f0_voiced/,
extracted/, filelist.txt and their model_info.json keys) are removed because they no longer match.
model_info.json gets: total_dataset_duration ("HH:MM:SS") and total_seconds (duration of the files
that gave chunks), input_seconds (every decoded file), chunk_seconds, sample_rate, chunk_count,
speakers [{id, name, files, seconds, chunks}], the settings, and the skipped files with reasons.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from arvc import events
from arvc.constants import SAMPLE_RATES, format_duration
from arvc.device import select_device
from arvc.errors import ArvcError
from arvc.experiment import ExperimentInfo
from arvc.locks import locks_experiment, pid_alive
from arvc.paths import ExperimentPaths, check_model_name, datasets_root
from arvc.preprocessing.discovery import SourceFile, discover_dataset
from arvc.preprocessing.tally import Tally
from arvc.preprocessing.worker import CUT_METHODS, SliceJob, process_file
from arvc.progress import progress_bar
from arvc.stages.config import PreprocessConfig
from arvc.workers import die_with_parent

log = logging.getLogger(__name__)

NORMALIZATIONS = ("none", "pre", "post")
STAGING_PREFIX = ".preprocess-"
IN_FLIGHT_PER_WORKER = 2  # files submitted to the pool and not yet collected, per worker process


@dataclass
class PreprocessResult:
    paths: ExperimentPaths
    chunk_count: int
    total_seconds: float
    files_found: int
    files_used: int
    unreadable: list[tuple[str, str]]  # (path, reason)
    without_chunks: list[tuple[str, str]]  # (path, reason)
    speakers: list[dict]
    elapsed: float


def _denoise_device(cfg: PreprocessConfig) -> str:
    if not cfg.noise_reduction:
        return "cpu"

    return str(select_device())


def _validate(cfg: PreprocessConfig) -> None:
    check_model_name(cfg.model_name)
    if cfg.sample_rate not in SAMPLE_RATES:
        raise ArvcError(f"--sample_rate {cfg.sample_rate}: choices are {', '.join(map(str, SAMPLE_RATES))}")
    if cfg.cut_method not in CUT_METHODS:
        raise ArvcError(f"--cut_method {cfg.cut_method!r}: choices are {', '.join(CUT_METHODS)}")
    if cfg.normalization not in NORMALIZATIONS:
        raise ArvcError(f"--normalization {cfg.normalization!r}: choices are {', '.join(NORMALIZATIONS)}")
    if not cfg.chunk_len > 0:
        raise ArvcError(f"--chunk_len {cfg.chunk_len}: must be > 0 seconds")
    if not 0 <= cfg.overlap_len < cfg.chunk_len:
        raise ArvcError(f"--overlap_len {cfg.overlap_len}: must be >= 0 and smaller than --chunk_len {cfg.chunk_len}")
    if not 0.0 <= cfg.clean_strength <= 1.0:
        raise ArvcError(f"--clean_strength {cfg.clean_strength}: must be between 0 and 1")
    if cfg.cpu_cores is not None and cfg.cpu_cores < 1:
        raise ArvcError(f"--cpu_cores {cfg.cpu_cores}: must be at least 1")


def _init_worker(threads: int) -> None:
    """Share the cores between the pool's workers (as torch's DataLoader does for its workers): each
    worker's torch/OpenMP pool gets cores // workers threads instead of all cores each, which
    oversubscribes the CPU (5x slower denoising measured on 2 cores). Affects only these child processes."""
    die_with_parent()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    torch = sys.modules.get("torch")  # already imported when the worker was forked
    if torch is not None:
        torch.set_num_threads(threads)


def _pool(job: SliceJob, cores: int) -> ProcessPoolExecutor:
    import multiprocessing

    # fork reuses the parent's imports (module level here: workers start at once, no 2-7 s torch import
    # each); CUDA cannot be used in forked children, so a GPU denoiser gets freshly spawned workers.
    gpu = job.noise_reduction and job.device != "cpu"
    can_fork = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if can_fork and not gpu else "spawn")
    threads = max(1, (os.cpu_count() or 1) // cores)
    return ProcessPoolExecutor(max_workers=cores, mp_context=ctx, initializer=_init_worker, initargs=(threads,))


def _run_jobs(sources: list[SourceFile], job: SliceJob, cores: int, progress: bool, tally: Tally) -> None:
    """Process every file, adding each result to ``tally`` as it finishes and dropping it (memory stays flat
    however many files). With ``cores`` > 1 at most ``IN_FLIGHT_PER_WORKER * cores`` files are submitted and
    not yet collected at any time."""
    with progress_bar(total=len(sources), unit="file", desc="preprocess", disable=not progress) as bar:
        if cores <= 1:
            for s in sources:
                tally.add(process_file(s, job))
                bar.update(1)
            return
        pool = _pool(job, cores)
        try:
            todo, pending = iter(sources), set()
            while True:
                for s in itertools.islice(todo, IN_FLIGHT_PER_WORKER * cores - len(pending)):
                    pending.add(pool.submit(process_file, s, job))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    tally.add(fut.result())
                    bar.update(1)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # stop queued files; running ones finish their writes
            raise
        pool.shutdown()


def _install(staging: Path, paths: ExperimentPaths) -> None:
    """Swap the staged chunk folders into the experiment and drop features of the old chunks."""
    paths.root.mkdir(parents=True, exist_ok=True)
    trash = staging / "old"
    trash.mkdir()
    for target in (paths.sliced, paths.sliced_16k):
        if target.exists():
            os.replace(target, trash / target.name)
    for target in (paths.sliced, paths.sliced_16k):
        os.replace(staging / target.name, target)
    stale = [p for p in (paths.f0_coarse, paths.f0_hz, paths.features, paths.filelist) if p.exists()]
    for p in stale:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    if stale:
        log.info("removed features of the previous chunks: %s", ", ".join(p.name for p in stale))


def _write_info(paths: ExperimentPaths, summary: dict) -> None:
    """Record the new chunks' summary; what extract recorded about the old chunks is dropped, other keys kept."""
    info = ExperimentInfo.read(paths.model_info, strict=False)
    info.drop_extraction()
    info.update(**summary)
    info.write(paths.model_info)


def _remove_dead_staging(logs: Path, model_name: str) -> None:
    """Delete staging folders of this model left by killed runs (their process is gone)."""
    pattern = re.compile(rf"^{re.escape(STAGING_PREFIX + model_name)}-(\d+)-[^-]+$")
    for p in logs.iterdir():
        m = pattern.match(p.name)
        if m and p.is_dir() and not pid_alive(int(m.group(1))):
            log.info("removing %s left by an interrupted run", p)
            shutil.rmtree(p, ignore_errors=True)


def _warn_list(what: str, items: list[str], limit: int = 10) -> None:
    for item in items[:limit]:
        log.warning("%s %s", what, item)
    if len(items) > limit:
        log.warning("... and %d more (%s); all are listed in model_info.json", len(items) - limit, what)


def _speaker_summary(speakers: list, tally: Tally) -> list[dict]:
    """Files, seconds and chunks per speaker (model_info.json ``speakers``)."""
    out = []
    for sp in speakers:
        t = tally.speakers.get(sp.id)
        out.append({
            "id": sp.id, "name": sp.name, "files": t.files if t else 0,
            "seconds": round(float(t.seconds), 3) if t else 0.0, "chunks": t.chunks if t else 0,
        })
    return out


def _dataset_summary(cfg: PreprocessConfig, dataset: Path, files_found: int, tally: Tally,
                     speaker_info: list[dict]) -> dict:
    """What preprocess records in model_info.json (see :class:`arvc.experiment.ExperimentInfo`)."""
    total = float(tally.used_seconds)
    return {
        "total_dataset_duration": format_duration(total),
        "total_seconds": round(total, 3),
        "sample_rate": cfg.sample_rate,
        "chunk_count": tally.chunk_count,
        "chunk_seconds": round(float(tally.chunk_seconds), 3),
        "input_seconds": round(float(tally.input_seconds), 3),  # every decoded file, used or not
        "speakers": speaker_info,
        "dataset_path": str(dataset.resolve()),
        "cut_method": cfg.cut_method,
        "chunk_len": cfg.chunk_len,
        "overlap_len": cfg.overlap_len,
        "normalization": cfg.normalization,
        "process_effects": cfg.process_effects,
        "noise_reduction": cfg.noise_reduction,
        "clean_strength": cfg.clean_strength,
        "files_found": files_found,
        "files_used": tally.files_used,
        "files_unreadable": [{"path": path, "reason": why} for path, why in tally.unreadable],
        "files_without_chunks": [{"path": path, "reason": why} for path, why in tally.without_chunks],
    }


@locks_experiment("preprocess", create=True)
@events.staged("preprocess")
def preprocess(cfg: PreprocessConfig) -> PreprocessResult:
    """Run the preprocess stage; returns a summary. Raises ArvcError (writing nothing) on bad input
    or when no file gives a chunk."""
    t0 = time.perf_counter()
    _validate(cfg)
    dataset = Path(cfg.dataset_path) if cfg.dataset_path else datasets_root() / cfg.model_name
    sources, speakers = discover_dataset(dataset)
    paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
    if paths.root.exists() and not paths.root.is_dir():
        raise ArvcError(f"{paths.root} exists and is not a directory")
    logs = paths.root.parent
    created = [p for p in (logs, *logs.parents) if not p.exists()]
    try:
        logs.mkdir(parents=True, exist_ok=True)
        _remove_dead_staging(logs, cfg.model_name)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{cfg.model_name}-{os.getpid()}-", dir=logs))
    except OSError as e:
        raise ArvcError(f"cannot write the experiment folder under {logs}: {e.strerror or e}") from None
    try:
        staged = ExperimentPaths.at(staging)
        staged.sliced.mkdir()
        staged.sliced_16k.mkdir()
        job = SliceJob(
            sr=cfg.sample_rate, cut_method=cfg.cut_method, chunk_len=cfg.chunk_len, overlap_len=cfg.overlap_len,
            normalization=cfg.normalization, process_effects=cfg.process_effects,
            noise_reduction=cfg.noise_reduction, clean_strength=cfg.clean_strength,
            min_chunk_len=cfg.min_chunk_len, out_dir=str(staging), device=_denoise_device(cfg),
        )
        cores = min(cfg.cpu_cores or os.cpu_count() or 1, len(sources))
        log.info("preprocessing %d files from %s with %d process(es)", len(sources), dataset, cores)
        tally = Tally()
        _run_jobs(sources, job, cores, cfg.progress, tally)
        unreadable, without = tally.unreadable, tally.without_chunks
        _warn_list("skipped unreadable file", [why for _, why in unreadable])
        _warn_list("no chunks from", [f"{path}: {why}" for path, why in without])
        if not tally.files_used:
            raise ArvcError(
                f"dataset path {dataset}: none of its {len(sources)} audio files gave a chunk "
                f"({len(unreadable)} unreadable, {len(without)} silent or too short)"
            )
        chunk_count, total = tally.chunk_count, float(tally.used_seconds)
        speaker_info = _speaker_summary(speakers, tally)
        info = _dataset_summary(cfg, dataset, len(sources), tally, speaker_info)
        _install(staging, paths)
        _write_info(paths, info)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for p in created:  # only folders this run made, and only if still empty
            try:
                p.rmdir()
            except OSError:
                break
        raise
    shutil.rmtree(staging, ignore_errors=True)
    elapsed = time.perf_counter() - t0
    log.info(
        "used %d of %d files (%d unreadable, %d without chunks): %d chunks, %s of audio, in %.1f s",
        tally.files_used, len(sources), len(unreadable), len(without), chunk_count, format_duration(total), elapsed,
    )
    return PreprocessResult(
        paths=paths, chunk_count=chunk_count, total_seconds=total, files_found=len(sources), files_used=tally.files_used,
        unreadable=unreadable, without_chunks=without, speakers=speaker_info, elapsed=elapsed,
    )

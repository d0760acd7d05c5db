"""Stage: slice a folder of recordings into training chunks under ``logs/<model>/``.

Per source file, in this order (as Applio): decode to mono at the target rate (soxr VHQ) ->
optional high-pass (``--process_effects``: causal Butterworth order 5 at 48 Hz, ``signal.lfilter``,
designed at the target rate, as RVC) -> optional ``pre`` normalisation of the whole file ->
optional spectral-gating denoise -> cut -> optional ``post`` normalisation per chunk -> write each
chunk as float32 WAV at the target rate (``sliced_audios/``) and at 16 kHz (``sliced_audios_16k/``,
soxr VHQ), named ``<sid>_<fileidx>_<chunkidx>.wav``.

Cut methods (``chunk_len`` L and ``overlap_len`` O are honoured by all three):
  Automatic  silence slicer (-42 dB, min length 1.5 s, min silence 0.4 s, hop 15 ms, max kept
             silence 0.5 s), then every slice is cut by the sliding window of
             ``arvc.audio.slicer.window_spans``: chunks of L every L - O; a slice no longer than
             L + O stays whole; the tail (2·O .. L + O long) is kept.
  Simple     fixed chunks of exactly L every L - O over the whole file, no silence detection; the
             shorter tail is dropped (Applio's rule), so files shorter than L give no chunk.
  Skip       no silence detection: a file no longer than L + O is kept whole (pre-sliced datasets
             pass through untouched); a longer one is cut by the same sliding window as Automatic.
Chunks shorter than ``min_chunk_len`` (0.5 s) or entirely below -42 dB are dropped and reported.
Normalisation (RVC's blend): ``x / max|x| * 0.9 * 0.75 + 0.25 * x``; audio whose peak exceeds 2.5
is dropped (file for ``pre``, chunk for ``post``).

Speakers: audio files directly in the dataset folder are speaker 0; each sub-folder holding audio
(searched recursively) is one speaker, sub-folders taken in natural name order ("2" before "10")
and numbered from 1 when the root holds files, else from 0. Folders named 0, 1, 2... therefore
keep their numbers, as in Applio. Hidden files and folders are ignored.

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

import logging
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from arvc import events
from arvc.atomic import reporting_write_errors
from arvc.audio.denoise import spectral_gate_blocks
from arvc.audio.dsp import blend_normalize, highpass_causal
from arvc.audio.io import AUDIO_EXTENSIONS, AudioReadError, is_audio_file, load_audio, resample
from arvc.audio.links import dangling_links, drop_duplicates, is_loop
from arvc.audio.slicer import Slicer, fixed_spans, window_spans
from arvc.constants import SAMPLE_RATES, SR_16K, format_duration
from arvc.device import select_device
from arvc.errors import ArvcError
from arvc.experiment import ExperimentInfo
from arvc.locks import locks_experiment, pid_alive
from arvc.paths import ExperimentPaths, check_model_name, datasets_root
from arvc.progress import progress_bar
from arvc.stages.config import PreprocessConfig
from arvc.workers import die_with_parent

log = logging.getLogger(__name__)

CUT_METHODS = ("Automatic", "Simple", "Skip")
NORMALIZATIONS = ("none", "pre", "post")
STAGING_PREFIX = ".preprocess-"


@dataclass(frozen=True)
class SourceFile:
    path: str
    sid: int
    index: int  # global file index (the <fileidx> of chunk names)


@dataclass(frozen=True)
class Speaker:
    id: int
    name: str
    folder: str


@dataclass
class FileResult:
    """What one worker did with one source file."""

    source: SourceFile
    seconds: float = 0.0  # decoded duration
    chunks: list[tuple[str, float]] = field(default_factory=list)  # (name, seconds)
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count
    error: str | None = None  # unreadable file
    note: str | None = None  # why the whole file gave nothing (silent, peak above 2.5)

    def why_empty(self) -> str:
        parts = [self.note] if self.note else []
        parts += [f"{n} chunk(s) {why}" for why, n in self.dropped.items()]
        return "; ".join(parts) or "no audio"


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


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _audio_files(folder: Path, recursive: bool) -> list[Path]:
    if recursive:
        found = [
            p for p in folder.rglob("*")
            if p.is_file() and is_audio_file(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        ]
    else:
        found = [p for p in folder.iterdir() if p.is_file() and is_audio_file(p) and not p.name.startswith(".")]
    return sorted(found, key=lambda p: _natural_key(str(p.relative_to(folder))))


def discover_dataset(root: str | os.PathLike) -> tuple[list[SourceFile], list[Speaker]]:
    """The audio files of a dataset folder with their speaker ids (rule in the module docstring).

    Raises ArvcError when ``root`` is missing, not a folder, or holds no audio file.
    """
    root = Path(root)
    if not root.exists():
        raise ArvcError(f"dataset path {root} does not exist")
    if not root.is_dir():
        raise ArvcError(f"dataset path {root} is not a directory")
    groups: list[tuple[str, Path, list[Path]]] = []
    seen: set[Path] = set()
    top = drop_duplicates(_audio_files(root, recursive=False), seen)
    if top:
        groups.append((root.resolve().name, root, top))
    subdirs = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: _natural_key(d.name))
    for d in subdirs:
        if d.is_symlink() and is_loop(d, root):
            log.warning("skipping %s: a symbolic link back into the dataset (a loop)", d)
            continue
        files = drop_duplicates(_audio_files(d, recursive=True), seen)
        if files:
            groups.append((d.name, d, files))
    for p in dangling_links(root, recursive=True):
        log.warning("skipping %s: a symbolic link to a missing file (%s)", p, os.readlink(p))
    if not groups:
        raise ArvcError(f"dataset path {root} holds no audio files (looked for {' '.join(AUDIO_EXTENSIONS)})")
    sources, speakers, index = [], [], 0
    for sid, (name, folder, files) in enumerate(groups):
        speakers.append(Speaker(sid, name, str(folder)))
        for p in files:
            sources.append(SourceFile(str(p), sid, index))
            index += 1
    return sources, speakers


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs (picklable)."""

    sr: int
    cut_method: str
    chunk_len: float
    overlap_len: float
    normalization: str
    process_effects: bool
    noise_reduction: bool
    clean_strength: float
    min_chunk_len: float
    out_dir: str
    device: str = "cpu"  # where the denoiser runs


def _denoise(audio, sr: int, strength: float, device: str):
    import numpy as np
    import torch

    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(device)
    return spectral_gate_blocks(x, sr, strength).cpu().numpy().astype(np.float64)


def cut_spans(audio, sr: int, cut_method: str, chunk_len: float, overlap_len: float) -> list[tuple[int, int]]:
    """Sample ranges ``[start, end)`` of the chunks of ``audio`` (T,) for a cut method."""
    chunk, overlap = round(chunk_len * sr), round(overlap_len * sr)
    if cut_method == "Simple":
        return fixed_spans(len(audio), chunk, overlap)
    if cut_method == "Skip":
        return window_spans(len(audio), chunk, overlap)
    if cut_method == "Automatic":
        spans = []
        for a, b in Slicer(sr).spans(audio):
            spans += [(a + s, a + e) for s, e in window_spans(b - a, chunk, overlap)]
        return spans
    raise ArvcError(f"--cut_method {cut_method!r}: choices are {', '.join(CUT_METHODS)}")


def process_file(source: SourceFile, job: _Job) -> FileResult:
    """Decode, filter, cut and write the chunks of one file into ``job.out_dir``; never raises for bad audio."""
    import numpy as np
    import soundfile as sf

    result = FileResult(source)
    try:
        audio = load_audio(source.path, job.sr, dtype=np.float64)
    except AudioReadError as e:
        result.error = str(e)
        return result
    sr = job.sr
    result.seconds = len(audio) / sr
    if job.process_effects:
        audio = highpass_causal(audio, sr)
    if job.normalization == "pre":
        audio = blend_normalize(audio)
        if audio is None:
            result.note = "peak above 2.5 (rejected by pre normalisation)"
            return result
    if job.noise_reduction:
        audio = _denoise(audio, sr, job.clean_strength, job.device)
    gate = Slicer(sr)
    min_samples = round(job.min_chunk_len * sr)
    out = ExperimentPaths.at(job.out_dir)
    k = 0
    for a, b in cut_spans(audio, sr, job.cut_method, job.chunk_len, job.overlap_len):
        chunk = audio[a:b]
        if len(chunk) < min_samples:
            reason = "shorter than %.2g s" % job.min_chunk_len
        elif gate.is_silent(chunk):
            reason = "silent (below %g dB)" % gate.threshold
        else:
            reason = None
            if job.normalization == "post":
                chunk = blend_normalize(chunk)
                if chunk is None:
                    reason = "peak above 2.5"
        if reason:
            result.dropped[reason] = result.dropped.get(reason, 0) + 1
            continue
        name = f"{source.sid}_{source.index}_{k}.wav"
        with reporting_write_errors(out.sliced / name):
            sf.write(out.sliced / name, chunk.astype(np.float32), sr, subtype="FLOAT")
        chunk16 = resample(chunk, sr, SR_16K)
        with reporting_write_errors(out.sliced_16k / name):
            sf.write(out.sliced_16k / name, chunk16.astype(np.float32), SR_16K, subtype="FLOAT")
        result.chunks.append((name, len(chunk) / sr))
        k += 1
    if not result.chunks and not result.dropped:
        if gate.is_silent(audio):
            result.note = "silent (below %g dB)" % gate.threshold
        elif job.cut_method == "Simple" and len(audio) < round(job.chunk_len * sr):
            result.note = "shorter than one %g s chunk (Simple keeps full chunks only)" % job.chunk_len
        else:
            result.note = "no audio"
    return result


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


def _run_jobs(sources: list[SourceFile], job: _Job, cores: int, progress: bool) -> list[FileResult]:
    results: list[FileResult] = []
    with progress_bar(total=len(sources), unit="file", desc="preprocess", disable=not progress) as bar:
        if cores <= 1:
            for s in sources:
                results.append(process_file(s, job))
                bar.update(1)
        else:
            import multiprocessing

            # fork reuses the parent's imports (module level here: workers start at once, no 2-7 s torch import
            # each); CUDA cannot be used in forked children, so a GPU denoiser gets freshly spawned workers.
            gpu = job.noise_reduction and job.device != "cpu"
            can_fork = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            method = "fork" if can_fork and not gpu else "spawn"
            ctx = multiprocessing.get_context(method)
            threads = max(1, (os.cpu_count() or 1) // cores)
            pool = ProcessPoolExecutor(max_workers=cores, mp_context=ctx, initializer=_init_worker, initargs=(threads,))
            try:
                futures = [pool.submit(process_file, s, job) for s in sources]
                for fut in as_completed(futures):
                    results.append(fut.result())
                    bar.update(1)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # stop queued files; running ones finish their writes
                raise
            pool.shutdown()
    return sorted(results, key=lambda r: r.source.index)


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


def _speaker_summary(speakers: list, used: list) -> list[dict]:
    """Files, seconds and chunks per speaker (model_info.json ``speakers``)."""
    out = []
    for sp in speakers:
        mine = [r for r in used if r.source.sid == sp.id]
        out.append({
            "id": sp.id, "name": sp.name, "files": len(mine),
            "seconds": round(sum(r.seconds for r in mine), 3), "chunks": sum(len(r.chunks) for r in mine),
        })
    return out


def _dataset_summary(cfg: PreprocessConfig, dataset: Path, files_found: int, results: list,
                     speaker_info: list[dict]) -> dict:
    """What preprocess records in model_info.json (see :class:`arvc.experiment.ExperimentInfo`)."""
    used = [r for r in results if r.chunks]
    total = sum(r.seconds for r in used)
    return {
        "total_dataset_duration": format_duration(total),
        "total_seconds": round(total, 3),
        "sample_rate": cfg.sample_rate,
        "chunk_count": sum(len(r.chunks) for r in used),
        "chunk_seconds": round(sum(s for r in used for _, s in r.chunks), 3),
        "input_seconds": round(sum(r.seconds for r in results), 3),  # every decoded file, used or not
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
        "files_used": len(used),
        "files_unreadable": [{"path": r.source.path, "reason": r.error} for r in results if r.error],
        "files_without_chunks": [{"path": r.source.path, "reason": r.why_empty()}
                                 for r in results if not r.error and not r.chunks],
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
        job = _Job(
            sr=cfg.sample_rate, cut_method=cfg.cut_method, chunk_len=cfg.chunk_len, overlap_len=cfg.overlap_len,
            normalization=cfg.normalization, process_effects=cfg.process_effects,
            noise_reduction=cfg.noise_reduction, clean_strength=cfg.clean_strength,
            min_chunk_len=cfg.min_chunk_len, out_dir=str(staging), device=_denoise_device(cfg),
        )
        cores = min(cfg.cpu_cores or os.cpu_count() or 1, len(sources))
        log.info("preprocessing %d files from %s with %d process(es)", len(sources), dataset, cores)
        results = _run_jobs(sources, job, cores, cfg.progress)
        unreadable = [(r.source.path, r.error) for r in results if r.error]
        without = [(r.source.path, r.why_empty()) for r in results if not r.error and not r.chunks]
        _warn_list("skipped unreadable file", [why for _, why in unreadable])
        _warn_list("no chunks from", [f"{path}: {why}" for path, why in without])
        used = [r for r in results if r.chunks]
        if not used:
            raise ArvcError(
                f"dataset path {dataset}: none of its {len(sources)} audio files gave a chunk "
                f"({len(unreadable)} unreadable, {len(without)} silent or too short)"
            )
        chunk_count = sum(len(r.chunks) for r in used)
        total = sum(r.seconds for r in used)
        speaker_info = _speaker_summary(speakers, used)
        info = _dataset_summary(cfg, dataset, len(sources), results, speaker_info)
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
        len(used), len(sources), len(unreadable), len(without), chunk_count, format_duration(total), elapsed,
    )
    return PreprocessResult(
        paths=paths, chunk_count=chunk_count, total_seconds=total, files_found=len(sources), files_used=len(used),
        unreadable=unreadable, without_chunks=without, speakers=speaker_info, elapsed=elapsed,
    )

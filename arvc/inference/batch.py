"""Converting many files: inputs (files and/or folders) -> outputs mirroring the input tree.

Models load once (one :class:`VoiceConverter`); a file that fails is reported by name and skipped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from arvc.audio.io import is_audio_file
from arvc.errors import ArvcError

log = logging.getLogger(__name__)


@dataclass
class ConversionJob:
    source: Path
    target: Path


@dataclass
class BatchResult:
    converted: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def plan_jobs(inputs: list[str | os.PathLike], output: str | os.PathLike | None, fmt: str) -> list[ConversionJob]:
    """Map inputs to output paths.

    One file + output with a suffix -> that file. Otherwise the output is a folder: a folder input's
    audio files (recursively) keep their relative paths there, loose files go to its top. Without
    ``output``: ``<name>_converted.<fmt>`` beside a file, ``<folder>_converted/`` beside a folder.
    """
    if not inputs:
        raise ArvcError("-i/--input: no input given")
    paths = [Path(p) for p in inputs]
    for p in paths:
        if not p.exists():
            raise ArvcError(f"{p}: input not found")
    out = Path(output) if output else None
    single_file = len(paths) == 1 and paths[0].is_file()
    if single_file and (out is None or (out.suffix and not out.is_dir())):
        src = paths[0]
        target = out or src.with_name(f"{src.stem}_converted.{fmt}")
        if target.resolve() == src.resolve():
            raise ArvcError(f"-o {target}: would overwrite the input file")
        return [ConversionJob(src, target)]
    jobs = []
    for p in paths:
        if p.is_dir():
            root = out / p.name if (out and len(paths) > 1) else (out or p.with_name(f"{p.name}_converted"))
            files = sorted(f for f in p.rglob("*") if f.is_file() and is_audio_file(f) and not f.name.startswith("."))
            if not files:
                log.warning("%s: no audio files found", p)
            for f in files:
                jobs.append(ConversionJob(f, root / f.relative_to(p).with_suffix(f".{fmt}")))
        else:
            folder = out or p.parent
            name = f"{p.stem}.{fmt}" if out else f"{p.stem}_converted.{fmt}"
            jobs.append(ConversionJob(p, folder / name))
    if not jobs:
        raise ArvcError(f"-i {' '.join(map(str, inputs))}: no audio files to convert")
    targets = [j.target.resolve() for j in jobs]
    if len(set(targets)) != len(targets):
        raise ArvcError("two inputs would be written to the same output file; give separate output folders")
    return jobs


def run_jobs(converter, jobs: list[ConversionJob], progress: bool = True) -> BatchResult:
    """Convert every job with one loaded converter; failures are collected, not raised."""
    result = BatchResult()
    for k, job in enumerate(jobs, 1):
        try:
            converter.convert_file(job.source, job.target)
        except ArvcError as e:
            msg = str(e) if str(job.source) in str(e) else f"{job.source}: {e}"
            result.failed.append((job.source, msg))
            log.error("%s", msg)
            continue
        except Exception as e:  # noqa: BLE001 - one broken file must not stop the batch
            msg = f"{job.source}: {type(e).__name__}: {e}"
            result.failed.append((job.source, msg))
            log.error("%s", msg)
            continue
        result.converted.append(job.target)
        if progress:
            log.info("[%d/%d] %s -> %s", k, len(jobs), job.source, job.target)
    return result

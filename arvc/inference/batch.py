"""Converting many files: inputs (files and/or folders) -> outputs mirroring the input tree.

Models load once (one :class:`VoiceConverter`); a file that fails is reported by name and skipped.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from arvc import events
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
    skipped: list[Path] = field(default_factory=list)


class FileReport:
    """What ``arvc infer`` says per file on stderr: a start line, a bar over chunks with the real-time
    factor (wall seconds per second of audio; < 1 is faster than real time), the output path when done."""

    def __init__(self, quiet: bool = False, stream=None, bar: bool | None = None):
        """bar: draw the chunk bar (None: only when stderr is a terminal)."""
        self.quiet = quiet
        self.bar = bar
        self.stream = stream if stream is not None else sys.stderr
        self._bar = None
        self._t0 = 0.0
        self._seconds = 0.0
        self._chunk_events = events.Progress("infer.chunks", None, "chunk")

    def say(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.stream, flush=True)

    def start(self, k: int, n: int, job: ConversionJob) -> None:
        from arvc.audio.io import audio_info

        try:
            self._seconds = audio_info(job.source)[1]
        except Exception:  # noqa: BLE001 - an unreadable file is reported by the conversion itself
            self._seconds = 0.0
        self.say(f"[{k}/{n}] converting {job.source} ({self._seconds:.1f} s)")
        self._t0 = time.perf_counter()
        self._chunk_events = events.Progress("infer.chunks", None, "chunk")
        if not self.quiet and self.bar is not False:
            from arvc.progress import progress_bar

            if self.bar:
                from tqdm.auto import tqdm

                self._bar = tqdm(total=None, desc=job.source.name, unit="chunk", file=self.stream, mininterval=0)
            else:
                self._bar = progress_bar(total=None, desc=job.source.name, unit="chunk", leave=False,
                                          stage="infer.chunks")

    def chunks(self, done: int, total: int) -> None:
        """Called by the converter after each synthesized group (``VoiceConverter.on_chunks``)."""
        self._chunk_events.set(done, total)
        if self._bar is None:
            return
        if self._bar.total != total:
            self._bar.reset(total=total)
        self._bar.n = done
        audio_done = self._seconds * done / max(total, 1)
        if audio_done > 0:
            self._bar.set_postfix_str(f"RTF {self.rtf(audio_done):.2f}", refresh=False)
        self._bar.refresh()

    def rtf(self, audio_seconds: float) -> float:
        return (time.perf_counter() - self._t0) / max(audio_seconds, 1e-9)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def done(self, target: Path) -> None:
        self.close()
        self.say(f"  -> {target} in {time.perf_counter() - self._t0:.1f} s (RTF {self.rtf(self._seconds):.2f})")


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


def run_jobs(converter, jobs: list[ConversionJob], progress: bool = True, skip_existing: bool = False,
             report: FileReport | None = None) -> BatchResult:
    """Convert every job with one loaded converter; failures are collected, not raised.

    ``skip_existing``: a job whose output file exists is not converted (``result.skipped``).
    ``progress=False`` is ``--quiet``: no start/done lines and no bar.
    """
    result = BatchResult()
    report = report or FileReport(quiet=not progress)
    converter.on_chunks = report.chunks
    files = events.Progress("infer", len(jobs), "file")
    for k, job in enumerate(jobs, 1):
        files.set(k - 1)
        if skip_existing and job.target.exists():
            result.skipped.append(job.target)
            report.say(f"[{k}/{len(jobs)}] skipping {job.source}: {job.target} exists")
            continue
        report.start(k, len(jobs), job)
        try:
            converter.convert_file(job.source, job.target)
        except ArvcError as e:
            report.close()
            msg = str(e) if str(job.source) in str(e) else f"{job.source}: {e}"
            result.failed.append((job.source, msg))
            log.error("%s", msg, extra={"event_file": str(job.source.resolve())})
            continue
        except Exception as e:  # noqa: BLE001 - one broken file must not stop the batch
            report.close()
            msg = f"{job.source}: {type(e).__name__}: {e}"
            result.failed.append((job.source, msg))
            log.error("%s", msg, extra={"event_file": str(job.source.resolve())})
            continue
        result.converted.append(job.target)
        report.done(job.target)
        events.artifact("audio", job.target, source=str(job.source.resolve()))
    files.set(len(jobs))
    converter.on_chunks = None
    return result

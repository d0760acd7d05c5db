"""Stage: convert files or folders with a voice model (``arvc infer``)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from arvc import events
from arvc.atomic import check_writable_dir, remove_stale_temporaries
from arvc.inference.batch import BatchResult, plan_jobs, run_jobs
from arvc.inference.config import InferenceConfig
from arvc.inference.sovits import open_converter

log = logging.getLogger(__name__)


@dataclass
class InferRun:
    """One ``arvc infer`` call: which model, which inputs, where outputs go, and the conversion settings."""

    model: str | os.PathLike
    inputs: list[str | os.PathLike]
    output: str | os.PathLike | None = None
    index: str | os.PathLike | None = None
    config: InferenceConfig = field(default_factory=InferenceConfig)
    skip_existing: bool = False
    quiet: bool = False


@events.staged("infer")
def infer(run: InferRun) -> BatchResult:
    """Load the model, embedder, F0 method and index once, then convert every input.

    Returns the converted outputs and the failures (path, one-line message); never raises for a
    single bad input file, only for problems with the model, index or settings.
    """
    cfg = run.config.validate()
    jobs = plan_jobs(list(run.inputs), run.output, cfg.export_format)
    for folder in sorted({j.target.parent for j in jobs}):
        check_writable_dir(folder)  # a read-only or full output folder fails now, not after converting
        remove_stale_temporaries(folder, recursive=False)  # left by a killed run
    converter = open_converter(run.model, run.index, cfg)
    return run_jobs(converter, jobs, progress=not run.quiet, skip_existing=run.skip_existing)

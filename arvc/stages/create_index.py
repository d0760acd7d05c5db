"""Stage: build ``logs/<model>/<model>.index`` from the extracted content features."""

from __future__ import annotations

import logging
from pathlib import Path

from arvc import events
from arvc.atomic import remove_stale_temporaries
from arvc.constants import CONTENT_DIMS
from arvc.errors import ArvcError
from arvc.index import IndexBuildConfig, build_index_from_files, scan_feature_folder, write_index
from arvc.locks import locks_experiment
from arvc.paths import ExperimentPaths
from arvc.stages.config import CreateIndexConfig

log = logging.getLogger(__name__)


@locks_experiment("create-index")
@events.staged("create-index")
def create_index(cfg: CreateIndexConfig) -> Path:
    """Concatenate ``extracted/*.npy`` (sorted; streamed when large), build an IVF,Flat index, write it atomically.

    Returns the index path. Raises ArvcError when the features are missing or have the wrong size.
    """
    if cfg.version not in CONTENT_DIMS:
        raise ArvcError(f"--version {cfg.version!r}: choices are v1, v2")
    paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
    if not paths.root.is_dir():
        raise ArvcError(f"{paths.root}: experiment folder not found (run preprocess and extract first)")
    feats = scan_feature_folder(paths.features, dim=CONTENT_DIMS[cfg.version])
    index = build_index_from_files(feats, IndexBuildConfig(algorithm=cfg.algorithm, nprobe=cfg.nprobe, seed=cfg.seed))
    out = Path(cfg.output) if cfg.output else paths.index
    if remove_stale_temporaries(out.parent, recursive=False):
        log.info("removed temporary files left by an interrupted run in %s", out.parent)
    write_index(index, out)
    log.info("wrote %s (%d vectors)", out, index.ntotal)
    events.artifact("index", out, vectors=int(index.ntotal))
    return out

"""Epoch ranking: convert a fixed set of clips with every saved weights file of a run and rank them."""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arvc import events
from arvc.atomic import write_json
from arvc.errors import ArvcError
from arvc.evaluation.report import NUMERIC_ORDER, format_score
from arvc.inference.config import InferenceConfig
from arvc.paths import ExperimentPaths
from arvc.stages.config import RankConfig  # noqa: F401  (re-exported)
from arvc.stages.evaluate import EvaluateConfig, evaluate
from arvc.stages.infer import InferRun, infer

log = logging.getLogger(__name__)


@dataclass
class RankResult:
    ranking: list[dict[str, Any]]
    table: str
    json_path: Path


def saved_weights(model_dir: Path) -> list[tuple[int, int, Path]]:
    """``(epoch, step, path)`` of every ``<name>_<E>e_<S>s.pth`` in ``model_dir``, by epoch."""
    return ExperimentPaths.at(model_dir).saved_weights()


def default_clips(model_dir: Path, n: int = 3) -> list[Path]:
    chunks = sorted(ExperimentPaths.at(model_dir).sliced_16k.glob("*.wav"))
    if not chunks:
        return []
    step = max(1, len(chunks) // n)
    return chunks[::step][:n]


def score_weights(
    weights: Path,
    clips: list[Path],
    references: list[Path],
    work_dir: Path,
    *,
    index: Path | None = None,
    text: Path | None = None,
    pitch: float = 0.0,
    f0_method: str = "rmvpe",
    embedder_model: str | None = None,
    embedder_path: str | None = None,
    score_f0_method: str = "fcpe",
    asr: bool = True,
    mos: bool = True,
    index_rate: float = 0.75,
) -> dict[str, float]:
    """Convert ``clips`` with ``weights`` into ``work_dir`` and return the mean scores (see evaluate)."""
    out_dir = work_dir / weights.stem
    res = infer(InferRun(
        model=weights, inputs=[str(c) for c in clips], output=out_dir, index=index,
        config=InferenceConfig(pitch=pitch, f0_method=f0_method, embedder_model=embedder_model,
                               embedder_path=embedder_path, index_rate=index_rate if index else 0.0,
                               seed=0),
    ))
    if not res.converted:
        raise ArvcError(f"{weights}: no clip could be converted ({'; '.join(m for _, m in res.failed)})")
    ev = evaluate(EvaluateConfig(
        inputs=res.converted, references=references, sources=clips, text=text, pitch=pitch,
        output_dir=out_dir / "scores", f0_method=score_f0_method, asr=asr, mos=mos, plots=False,
    ))
    return ev.mean


@events.staged("rank-epochs")
def rank_epochs(cfg: RankConfig) -> RankResult:
    """Score every saved weights file of ``cfg.model_dir``; write ``eval_ranking.json`` and return the table."""
    model_dir = Path(cfg.model_dir)
    paths = ExperimentPaths.at(model_dir)
    if not model_dir.is_dir():
        raise ArvcError(f"{model_dir}: training folder not found")
    weights = saved_weights(model_dir)
    if not weights:
        raise ArvcError(f"{model_dir}: no saved weights (<name>_<E>e_<S>s.pth); train with --save_every_weights")
    if cfg.last is not None:
        if cfg.last < 1:
            raise ArvcError(f"--last must be at least 1, not {cfg.last}")
        weights = weights[-cfg.last:]
    clips = list(cfg.clips) or default_clips(model_dir)
    if not clips:
        raise ArvcError(f"{model_dir}: no clips to convert; pass --clips")
    references = list(cfg.references) or [paths.sliced_16k]
    index = cfg.index
    if index is None:
        candidates = paths.index_files()
        index = candidates[0] if candidates else None
    out_dir = Path(cfg.output_dir) if cfg.output_dir else paths.eval_ranking
    rows = []
    with tempfile.TemporaryDirectory(dir=model_dir) as tmp:
        work = Path(tmp) if cfg.output_dir is None else out_dir
        for epoch, step, path in weights:
            log.info("scoring %s", path.name)
            mean = score_weights(
                path, clips, references, work, index=index, text=cfg.text, pitch=cfg.pitch,
                f0_method=cfg.f0_method, embedder_model=cfg.embedder_model, embedder_path=cfg.embedder_path,
                score_f0_method=cfg.score_f0_method, asr=cfg.asr, mos=cfg.mos, index_rate=cfg.index_rate,
            )
            rows.append({"weights": path.name, "epoch": epoch, "step": step, **mean})
    ranking = sorted(rows, key=lambda r: -r.get("combined", -math.inf) if not math.isnan(r.get("combined", math.nan)) else math.inf)
    for rank, r in enumerate(ranking, 1):
        r["rank"] = rank
    json_path = out_dir / "eval_ranking.json"
    write_json(json_path, {"model_dir": str(model_dir), "clips": [str(c) for c in clips], "ranking": ranking})
    cols = ["rank", "weights", "epoch"] + [k for k in NUMERIC_ORDER if any(k in r for r in ranking)]
    widths = {c: max(len(c), *(len(format_score(r.get(c))) for r in ranking)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(format_score(r.get(c)).ljust(widths[c]) for c in cols) for r in ranking]
    table = "epoch ranking (best first; combined = sim_target + 0.5*f0_corr - 0.5*CER + 0.25*(DNSMOS-3))\n" + "\n".join(lines)
    return RankResult(ranking, table, json_path)



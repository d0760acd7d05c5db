"""``evaluate``: score converted audio against the target speaker (and the source), and rank saved epochs."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from arvc import events
from arvc.audio.io import AudioReadError, is_audio_file, load_audio
from arvc.constants import SR_16K as SR
from arvc.errors import ArvcError
from arvc.evaluation import speaker
from arvc.evaluation.pitch import compare_f0
from arvc.evaluation.plots import plot_comparison
from arvc.stages.config import EvaluateConfig  # noqa: F401  (re-exported)
from arvc.evaluation.report import combined_score, mean_row, write_outputs

log = logging.getLogger(__name__)


@dataclass
class EvaluateResult:
    rows: list[dict[str, Any]]
    mean: dict[str, float]
    messages: list[str]
    json_path: Path | None = None
    csv_path: Path | None = None
    failed: int = 0


def collect_audio(paths: list[Path]) -> list[Path]:
    """Audio files of ``paths`` (files, or folders searched recursively), sorted; missing paths raise."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_audio_file(f)))
        elif p.is_file():
            files.append(p)
        else:
            raise ArvcError(f"{p}: no such file or folder")
    return files


def load_transcripts(text: Path, stems: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map stems to transcripts (see EvaluateConfig.text); returns (mapping, messages about missing ones)."""
    text = Path(text)
    found: dict[str, str] = {}
    if text.is_dir():
        for s in stems:
            f = text / f"{s}.txt"
            if f.is_file():
                found[s] = f.read_text(encoding="utf-8").strip()
    elif text.is_file():
        lines = [ln.rstrip("\n") for ln in text.read_text(encoding="utf-8").splitlines()]
        if any("|" in ln for ln in lines):
            table = dict(ln.split("|", 1) for ln in lines if "|" in ln)
            found = {s: table[s].strip() for s in stems if s in table}
        else:
            for s in stems:
                m = re.search(r"(\d+)$", s)
                if m and 1 <= int(m.group(1)) <= len(lines):
                    found[s] = lines[int(m.group(1)) - 1].strip()
    else:
        raise ArvcError(f"{text}: transcript file or folder not found")
    missing = [s for s in stems if s not in found]
    msgs = [f"no transcript for {s} in {text}: CER not computed for it" for s in missing]
    return found, msgs


class Scorer:
    """Holds the loaded models (speaker encoder, F0 method, ASR) so many files are scored cheaply."""

    def __init__(self, f0_method: str = "fcpe", asr: bool = True, mos: bool = True):
        from arvc.features.f0 import get_f0_method

        self.f0 = get_f0_method(f0_method)
        self.asr = asr
        self.mos = mos

    def f0_track(self, audio16k: np.ndarray) -> np.ndarray:
        return self.f0.compute(audio16k.astype(np.float32))

    def score(
        self,
        output: np.ndarray,
        target_profile: np.ndarray | None,
        source: np.ndarray | None = None,
        text: str | None = None,
        pitch: float = 0.0,
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        row: dict[str, Any] = {}
        tracks: dict[str, np.ndarray] = {"output_f0": self.f0_track(output)}
        emb_out = speaker.embed(output)
        if target_profile is not None:
            row["sim_target"] = speaker.cosine(emb_out, target_profile)
        if source is not None:
            emb_src = speaker.embed(source)
            row["sim_source"] = speaker.cosine(emb_out, emb_src)
            if target_profile is not None:
                row["source_sim_target"] = speaker.cosine(emb_src, target_profile)
            tracks["source_f0"] = self.f0_track(source)
            row.update(compare_f0(tracks["source_f0"], tracks["output_f0"], pitch))
        if text is not None and self.asr:
            from arvc.evaluation.asr import cer, transcribe

            hyp = transcribe(output)
            row["transcript"] = hyp
            row["cer"] = cer(text, hyp)
        if self.mos:
            from arvc.evaluation.quality import dnsmos

            row.update(dnsmos(output))

        row["combined"] = combined_score(row)
        return row, tracks


def target_profile_of(references: list[Path]) -> tuple[np.ndarray | None, list[str]]:
    """Speaker centroid of the reference recordings; unreadable ones are reported and skipped."""
    msgs: list[str] = []
    embs = []
    for f in collect_audio(references) if references else []:
        try:
            embs.append(speaker.embed(load_audio(f, SR)))
        except AudioReadError as e:
            msgs.append(f"reference skipped: {e}")
    if not embs:
        msgs.append("no reference recordings of the target speaker: speaker similarity to the target not computed")
        return None, msgs
    return speaker.centroid(embs), msgs


@events.staged("evaluate")
def evaluate(cfg: EvaluateConfig, progress: Callable[[str], None] | None = None) -> EvaluateResult:
    """Score every converted file of ``cfg.inputs``; write scores.json, scores.csv and PNG plots to ``cfg.output_dir``.

    A file that cannot be read is reported and skipped; missing references, sources or transcripts
    only remove the metrics that need them.
    """
    outputs = collect_audio(cfg.inputs)
    if not outputs:
        raise ArvcError(f"{', '.join(map(str, cfg.inputs))}: no audio files to evaluate")
    messages: list[str] = []
    profile, msgs = target_profile_of(cfg.references)
    messages += msgs
    sources = {f.stem: f for f in collect_audio(cfg.sources)} if cfg.sources else {}
    if cfg.sources:
        unmatched = [o.stem for o in outputs if o.stem not in sources]
        messages += [f"no source file named {s}.*: pitch fidelity and source similarity not computed for it" for s in unmatched]
    texts: dict[str, str] = {}
    if cfg.text is not None:
        texts, msgs = load_transcripts(cfg.text, [o.stem for o in outputs])
        messages += msgs
    elif cfg.asr:
        messages.append("no --text given: CER not computed")
    scorer = Scorer(cfg.f0_method, asr=cfg.asr and bool(texts), mos=cfg.mos)
    rows: list[dict[str, Any]] = []
    failed = 0
    plot_dir = Path(cfg.output_dir) / "plots"
    for out_file in outputs:
        if progress:
            progress(str(out_file))
        row: dict[str, Any] = {"file": str(out_file)}
        try:
            out = load_audio(out_file, SR)
            src = load_audio(sources[out_file.stem], SR) if out_file.stem in sources else None
        except AudioReadError as e:
            messages.append(f"skipped: {e}")
            row["error"] = str(e)
            rows.append(row)
            failed += 1
            continue
        scores, tracks = scorer.score(out, profile, src, texts.get(out_file.stem), cfg.pitch)
        row.update(scores)
        if cfg.plots:
            panels = []
            if src is not None:
                panels.append((f"source: {sources[out_file.stem].name}", src, tracks.get("source_f0")))
            panels.append((f"output: {out_file.name}", out, tracks["output_f0"]))
            row["plot"] = str(plot_comparison(plot_dir / f"{out_file.stem}.png", panels))
        rows.append(row)
    scored = [r for r in rows if "error" not in r]
    mean = mean_row(scored)
    json_path, csv_path = write_outputs(
        Path(cfg.output_dir), rows, mean,
        {"messages": messages, "pitch": cfg.pitch, "f0_method": cfg.f0_method,
         "n_scored": len(scored), "n_failed": failed},
    )
    return EvaluateResult(rows, mean, messages, json_path, csv_path, failed)


def is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)

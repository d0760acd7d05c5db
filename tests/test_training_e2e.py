"""Demo voice end to end: preprocess -> extract -> train (tiny) -> the model converts a male source."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("one_thread")


def test_demo_voice_trains_and_converts(tmp_path, voices_dir, fixtures_dir):
    from arvc.audio.io import audio_info, load_audio
    from arvc.formats import read_model
    from arvc.inference.config import InferenceConfig
    from arvc.stages.extract import ExtractConfig, extract
    from arvc.stages.infer import InferRun, infer
    from arvc.stages.preprocess import PreprocessConfig, preprocess
    from arvc.stages.train import train
    from arvc.training.config import TrainConfig

    data = tmp_path / "datasets" / "demo"
    data.mkdir(parents=True)
    for i in (1, 2, 3, 4):
        shutil.copy(voices_dir / "slt" / f"slt_{i:02d}.flac", data)
    logs = tmp_path / "logs"
    embedder = str(fixtures_dir / "pipeline_tiny" / "embedder")
    preprocess(PreprocessConfig(model_name="demo", dataset_path=data, sample_rate=40000, cpu_cores=1,
                                logs_dir=logs, progress=False))
    extract(ExtractConfig(model_name="demo", f0_method="pm", embedder_model="custom", embedder_path=embedder,
                          cpu_cores=1, include_mutes=1, logs_dir=logs, progress=False))
    result = train(TrainConfig(model_name="demo", logs_dir=str(logs), model_size="tiny", from_scratch=True, epochs=6, batch_size=4,
                               learning_rate=1e-3, save_every=3, save_every_weights=True, progress=False,
                               log_every=5, eval_every=3,
                               eval_clips=[str(voices_dir / "kal" / "kal_52.flac")],
                               eval_references=[str(voices_dir / "slt_test")], eval_pitch=12))
    first, last = result.first_epoch_losses["loss/g/mel"], result.last_epoch_losses["loss/g/mel"]
    print(f"demo voice, 6 epochs: mel loss {first:.2f} -> {last:.2f} ({100 * (last / first - 1):+.0f} %), "
          f"total {result.first_epoch_losses['loss/g/total']:.2f} -> {result.last_epoch_losses['loss/g/total']:.2f}")
    assert last < 0.9 * first, (first, last)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logs / "demo" / "eval"), size_guidance={"scalars": 0})
    acc.Reload()
    for tag in ("eval/sim_target", "eval/sim_source", "eval/voicing_agreement", "eval/mos_ovrl", "eval/combined"):
        assert tag in acc.Tags()["scalars"], tag
        values = [e.value for e in acc.Scalars(tag)]
        assert len(values) == 2 and all(np.isfinite(values)), (tag, values)  # epochs 3 and 6
    assert all(-1 <= e.value <= 1 for e in acc.Scalars("eval/sim_target"))
    model = read_model(result.weights)
    assert model.metadata.sr == 40000 and model.metadata.embedder_model == "custom" and model.metadata.epoch == 6
    assert 150 < model.metadata.f0_median < 230  # slt's median F0 (~180 Hz), the target of --pitch auto

    source = voices_dir / "kal" / "kal_51.flac"
    out = tmp_path / "converted.wav"
    res = infer(InferRun(model=result.weights, inputs=[source], output=out, config=InferenceConfig(
        f0_method="pm", embedder_model="custom", embedder_path=embedder, index_rate=0.0, pitch=12)))
    assert not res.failed and out.is_file()
    sr, seconds = audio_info(out)
    assert sr == 40000 and seconds == pytest.approx(audio_info(source)[1], abs=0.05)
    y = load_audio(out)
    assert np.isfinite(y).all() and np.sqrt(np.mean(y**2)) > 1e-4

    # epoch ranking over the two saved weights files (epochs 3 and 6)
    from arvc.api.cli import main

    rank_dir = tmp_path / "ranking"
    assert main(["evaluate", "--model_dir", str(logs / "demo"), "--clips", str(source), "-r", str(voices_dir / "slt_test"),
                 "--pitch", "12", "--f0_method_convert", "pm", "--embedder_path", embedder, "--asr", "false",
                 "-o", str(rank_dir)]) == 0
    import json

    ranking = json.loads((rank_dir / "eval_ranking.json").read_text())["ranking"]
    assert sorted(r["epoch"] for r in ranking) == [3, 6] and [r["rank"] for r in ranking] == [1, 2]
    assert ranking[0]["combined"] >= ranking[1]["combined"]
    assert all(-1 <= r["sim_target"] <= 1 for r in ranking)

    # --last 1: only the newest weights file is scored
    last_dir = tmp_path / "ranking_last"
    assert main(["evaluate", "--model_dir", str(logs / "demo"), "--clips", str(source), "-r", str(voices_dir / "slt_test"),
                 "--pitch", "12", "--f0_method_convert", "pm", "--embedder_path", embedder, "--asr", "false",
                 "--mos", "false", "--last", "1", "-o", str(last_dir)]) == 0
    assert [r["epoch"] for r in json.loads((last_dir / "eval_ranking.json").read_text())["ranking"]] == [6]

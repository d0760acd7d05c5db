"""int8 inference: the per-model self-check (and its refusal when quantization is broken), what ``--precision
auto`` / ``fp32`` / ``int8`` then run, run-to-run equality and a whole ``arvc infer`` in int8."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from arvc.api.cli import main as cli_main
from arvc.device import resolve_precision
from arvc.inference import int8_check
from arvc.inference.config import InferenceConfig
from arvc.inference.pipeline import VoiceConverter, load_input
from arvc.precision.int8 import Int8Conv1d, int8_available

pytestmark = pytest.mark.skipif(not int8_available(torch.device("cpu")), reason="no oneDNN int8 kernels here")


@pytest.fixture(scope="module")
def pt(fixtures_dir):
    return fixtures_dir / "pipeline_tiny"


def _cfg(pt, precision: str) -> InferenceConfig:
    return InferenceConfig(f0_method="pm", embedder_model="custom", embedder_path=str(pt / "embedder"),
                           precision=precision, deterministic=True)


_REAL_QUANTIZER = int8_check.quantize_decoder


def sabotaged_quantizer(dec: torch.nn.Module) -> list[str]:
    """The real quantizer, then every int8 conv's per-channel weight scales corrupted (x0.3..1.7): the kind of
    error a wrong scale or a broken kernel would make."""
    names = _REAL_QUANTIZER(dec)
    g = torch.Generator().manual_seed(0)
    for m in dec.modules():
        if isinstance(m, Int8Conv1d):
            m.w_scales.mul_(0.3 + 1.4 * torch.rand(m.w_scales.shape, generator=g))
    return names


def _int8_layers(vc) -> int:
    return sum(isinstance(m, Int8Conv1d) for m in vc.synth.dec.modules())


def test_self_check_passes_int8_and_refuses_sabotage(pt, monkeypatch):
    """Quality alone (the speed criterion is lifted: speed is for benchmarks): the real quantizer is within the
    bar; corrupted weight scales are refused for quality."""
    monkeypatch.setattr(int8_check, "MAX_TIME_RATIO", float("inf"))
    vc = VoiceConverter(pt / "model.pth", None, _cfg(pt, "fp32"))
    good, dec8 = int8_check.run_check(vc.synth)
    assert good.ok and good.layers > 0, good.summary()
    assert good.mel_db <= int8_check.MAX_MEL_DB and good.snr_db >= int8_check.MIN_SNR_DB
    assert any(isinstance(m, Int8Conv1d) for m in dec8.modules()) and _int8_layers(vc) == 0  # a copy
    bad, _ = int8_check.run_check(vc.synth, sabotaged_quantizer)
    print(good.summary(), "|", bad.summary())
    assert not bad.ok and "log-mel" in bad.reason and bad.mel_db > int8_check.MAX_MEL_DB


def test_auto_never_picks_int8_where_the_check_fails(pt, monkeypatch, tmp_path):
    if resolve_precision("auto", torch.device("cpu")) != "fp32":
        pytest.skip("auto picks bf16 on this CPU; int8 is only considered where auto would run fp32")
    monkeypatch.setattr(int8_check, "MAX_TIME_RATIO", float("inf"))
    monkeypatch.setattr(int8_check, "quantize_decoder", sabotaged_quantizer)
    vc = VoiceConverter(pt / "model.pth", None, _cfg(pt, "auto"))
    assert vc.int8 is not None and not vc.int8.ok and not vc.int8.cached
    assert vc.precision == "fp32" and _int8_layers(vc) == 0 and vc.embedder.precision == "fp32"
    cache = json.loads((tmp_path / "models" / "cache" / "precision_guard.json").read_text())
    assert [v["ok"] for k, v in cache.items() if k.startswith("int8:")] == [False]
    again = VoiceConverter(pt / "model.pth", None, _cfg(pt, "auto"))  # the cached refusal, not a new check
    assert again.int8.cached and not again.int8.ok and again.precision == "fp32" and _int8_layers(again) == 0


def test_auto_picks_int8_where_the_check_passes_and_fp32_forbids_it(pt, monkeypatch):
    if resolve_precision("auto", torch.device("cpu")) != "fp32":
        pytest.skip("auto picks bf16 on this CPU")
    monkeypatch.setattr(int8_check, "MAX_TIME_RATIO", float("inf"))
    vc = VoiceConverter(pt / "model.pth", None, _cfg(pt, "auto"))
    assert vc.int8.ok and vc.precision == "int8" and _int8_layers(vc) == vc.int8.layers > 0
    fp32 = VoiceConverter(pt / "model.pth", None, _cfg(pt, "fp32"))
    assert fp32.int8 is None and fp32.precision == "fp32" and _int8_layers(fp32) == 0


def test_int8_speed_criterion_refuses_when_not_faster(pt, monkeypatch):
    monkeypatch.setattr(int8_check, "MAX_TIME_RATIO", 0.0)  # nothing is that fast
    vc = VoiceConverter(pt / "model.pth", None, _cfg(pt, "fp32"))
    verdict, _ = int8_check.run_check(vc.synth)
    assert not verdict.ok and "not faster" in verdict.reason


def test_int8_conversion_equals_itself_run_to_run(pt):
    x = load_input(pt / "input_short.wav")
    vc = VoiceConverter(pt / "model.pth", None, _cfg(pt, "int8"))
    assert vc.precision == "int8" and _int8_layers(vc) > 0 and vc.int8 is None  # forced: no check
    a, b = vc.convert(x), vc.convert(x)
    assert np.array_equal(a, b)


def test_infer_cli_int8_right_length_finite_not_silent(pt, tmp_path):
    out8, out32 = tmp_path / "int8.wav", tmp_path / "fp32.wav"
    flags = ["-m", str(pt / "model.pth"), "-i", str(pt / "input_short.wav"), "--f0_method", "pm",
             "--embedder_model", "custom", "--embedder_path", str(pt / "embedder"), "--deterministic",
             "--wav_subtype", "FLOAT", "--quiet"]
    assert cli_main(["infer", *flags, "-o", str(out8), "--precision", "int8"]) == 0
    assert cli_main(["infer", *flags, "-o", str(out32), "--precision", "fp32"]) == 0
    y, sr = sf.read(str(out8), dtype="float32")
    ref, sr32 = sf.read(str(out32), dtype="float32")
    n_in = sf.info(str(pt / "input_short.wav")).frames / sf.info(str(pt / "input_short.wav")).samplerate
    assert sr == sr32 == 40000 and len(y) == len(ref) and abs(len(y) / sr - n_in) < 0.02
    assert np.isfinite(y).all() and np.sqrt(np.mean(y ** 2)) > 1e-3
    mel = int8_check.log_mel_distance_db(ref, y, sr)
    print(f"whole infer int8 vs fp32 (tiny model): log-mel {mel:.3f} dB, SNR {int8_check.snr_db(ref, y):.1f} dB")
    assert mel < 3.0  # the same conversion (the bar of 0.3 dB is the decoder's, checked above)


def test_static_calibration_from_training_features_or_generated(pt, tmp_path):
    """Static activations: ranges from the experiment's extracted features when they sit beside the model (else a
    generated set), every int8 conv then static, the conversion close to fp32 and equal to itself run to run."""
    from arvc.inference import int8_calibration

    vc = VoiceConverter(pt / "model.pth", None, _cfg(pt, "fp32"))
    source, items = int8_calibration.calibration_set(vc.synth, pt / "model.pth")
    assert source.startswith("generated") and len(items) == 4
    exp = tmp_path / "exp"
    for sub in ("extracted", "f0_voiced"):
        (exp / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        np.save(exp / "extracted" / f"0_{i}.wav.npy", rng.standard_normal((60, vc.content_dim)).astype(np.float32))
        np.save(exp / "f0_voiced" / f"0_{i}.wav.npy", np.full(120, 150.0, np.float32))
    np.save(exp / "extracted" / "bad.wav.npy", np.zeros((60, 7), np.float32))  # wrong width: skipped
    np.save(exp / "f0_voiced" / "bad.wav.npy", np.zeros(120, np.float32))
    (exp / "model.pth").write_bytes((pt / "model.pth").read_bytes())
    source, items = int8_calibration.calibration_set(vc.synth, exp / "model.pth")
    assert source.startswith("training features") and len(items) == 3
    assert items[0][0].shape == (1, 120, vc.content_dim) and items[0][2].shape == (1, 120)

    x = load_input(pt / "input_short.wav")
    ref = vc.convert(x)
    static = VoiceConverter(exp / "model.pth", None, replace(_cfg(pt, "int8"), int8_activations="static"))
    convs = [m for m in static.synth.dec.modules() if isinstance(m, Int8Conv1d)]
    assert static.precision == "int8" and convs and all(m.static is not None for m in convs)
    a, b = static.convert(x), static.convert(x)
    assert np.array_equal(a, b) and np.isfinite(a).all()
    assert int8_check.log_mel_distance_db(ref, a, static.tgt_sr) < 1.0


def test_bad_int8_activations_is_one_clear_error():
    from arvc.errors import ArvcError

    with pytest.raises(ArvcError, match="--int8_activations 'fast'"):
        InferenceConfig(int8_activations="fast").validate()


def test_self_check_refuses_a_static_calibration_that_clips(pt, monkeypatch):
    """Static ranges go through the same self-check: calibrated ones pass, ranges 20x too narrow (everything loud
    saturates) are refused for quality."""
    from arvc.inference import int8_calibration

    monkeypatch.setattr(int8_check, "MAX_TIME_RATIO", float("inf"))
    vc = VoiceConverter(pt / "model.pth", None, _cfg(pt, "fp32"))
    good, dec8 = int8_check.run_check(vc.synth, int8_check.static_quantizer(vc.synth, pt / "model.pth"))
    assert good.ok and all(m.static is not None for m in dec8.modules() if isinstance(m, Int8Conv1d)), good.summary()
    monkeypatch.setattr(int8_calibration, "MARGIN", 0.05)
    bad, _ = int8_check.run_check(vc.synth, int8_check.static_quantizer(vc.synth, pt / "model.pth"))
    print(good.summary(), "|", bad.summary())
    assert not bad.ok and "log-mel" in bad.reason

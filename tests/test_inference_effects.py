"""Effects around a conversion (arvc.inference.effects) and the automatic transpositions: each one changes
the audio the way it should, and switched off the conversion is bit-identical to the plain one."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from arvc.api.cli import main as cli_main
from arvc.inference.autopitch import median_f0, semitones_to
from arvc.inference.effects.clean import clean
from arvc.inference.effects.formant import formant_shift
from arvc.inference.effects.post import apply_post

SR = 40000


def _sine(hz: float, seconds: float = 1.0, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _tone_hz(x: np.ndarray, sr: int = SR) -> float:
    """Frequency of a (shifted) pure tone: the power-weighted mean frequency of its spectrum."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    return float((spec * np.fft.rfftfreq(len(x), 1 / sr)).sum() / spec.sum())


def _vowel(sr: int = 16000, f0: float = 120.0, formants=(700, 1200, 2600), seconds: float = 1.0) -> np.ndarray:
    """A pulse train at f0 through three resonators: a crude vowel with known formants."""
    from scipy.signal import lfilter

    n = int(seconds * sr)
    x = np.zeros(n)
    x[:: int(sr / f0)] = 1.0
    for f in formants:
        r = np.exp(-np.pi * 80 / sr)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / sr), r * r], x)
    return (0.5 * x / np.abs(x).max()).astype(np.float64)


def _centroid(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    return float((spec * freqs).sum() / spec.sum())


def test_formant_shift_moves_the_envelope_not_the_pitch():
    x = _vowel()
    up = formant_shift(x, 16000, qfrency=1.0, timbre=1.4)
    down = formant_shift(x, 16000, qfrency=1.0, timbre=0.7)
    c0, cu, cd = _centroid(x, 16000), _centroid(up, 16000), _centroid(down, 16000)
    print(f"spectral centroid: {c0:.0f} Hz, timbre 1.4 -> {cu:.0f} Hz, timbre 0.7 -> {cd:.0f} Hz")
    assert cu > 1.15 * c0 and cd < 0.85 * c0
    assert up.shape == x.shape
    import librosa

    f0 = np.nanmedian(librosa.yin(up.astype(np.float32), fmin=60, fmax=400, sr=16000))
    assert abs(f0 - 120) < 6  # harmonics stay where they were


def test_post_pitch_shift_moves_f0_by_the_semitones():
    y = apply_post(_sine(220.0, 2.0), SR, {"pitch_shift": {"pitch_shift_semitones": 3}})
    hz = _tone_hz(y[SR // 2 : 3 * SR // 2])
    print(f"220 Hz +3 st -> {hz:.1f} Hz (expected {220 * 2 ** 0.25:.1f})")
    assert abs(12 * np.log2(hz / 220.0) - 3) < 0.1


def test_post_limiter_clipping_gain_bound_and_scale_the_level():
    loud = _sine(300.0, amp=0.99)
    # pedalboard's (JUCE's) limiter: compress above the threshold, then make up the gain to a 0 dBFS ceiling
    lim = apply_post(4 * loud, SR, {"limiter": {"limiter_threshold": -6.0}})
    assert np.abs(lim).max() <= 1.0 + 1e-6 < np.abs(4 * loud).max()
    assert np.sqrt(np.mean(lim[SR // 10 :] ** 2)) > 0.5
    clip = apply_post(loud, SR, {"clipping": {"clipping_threshold": -12.0}})
    assert np.abs(clip).max() <= 10 ** (-12 / 20) + 1e-4
    g = apply_post(_sine(300.0, amp=0.1), SR, {"gain": {"gain_db": 6.0}})
    assert np.sqrt(np.mean(g**2)) / np.sqrt(np.mean(_sine(300.0, amp=0.1) ** 2)) == pytest.approx(10 ** 0.3, rel=0.02)


def test_post_distortion_bitcrush_compressor():
    x = _sine(200.0, amp=0.5)
    d = apply_post(x, SR, {"distortion": {"distortion_gain": 25.0}})
    spec = np.abs(np.fft.rfft(d))
    f = np.fft.rfftfreq(len(d), 1 / SR)
    assert spec[np.argmin(np.abs(f - 600))] > 0.05 * spec[np.argmin(np.abs(f - 200))]  # a 3rd harmonic appears
    b = apply_post(x, SR, {"bitcrush": {"bitcrush_bit_depth": 3}})
    assert len(np.unique(np.round(b, 5))) <= 2**3 + 2
    quiet_loud = np.concatenate([_sine(200.0, amp=0.02), _sine(200.0, amp=0.9)])
    c = apply_post(quiet_loud, SR, {"compressor": {"compressor_threshold": -30.0, "compressor_ratio": 8.0}})
    ratio_in = 0.9 / 0.02
    ratio_out = np.abs(c[int(1.5 * SR):]).max() / np.abs(c[SR // 2 : SR]).max()
    assert ratio_out < ratio_in / 4


def test_post_reverb_delay_chorus_add_time_structure():
    click = np.zeros(SR, np.float32)
    click[100] = 1.0
    dl = apply_post(click, SR, {"delay": {"delay_seconds": 0.25, "delay_mix": 0.5}})
    assert abs(int(np.argmax(np.abs(dl[1000:]))) + 1000 - (100 + SR // 4)) < 50  # the echo, 0.25 s later
    burst = np.concatenate([_sine(500.0, 0.2), np.zeros(int(0.8 * SR), np.float32)])
    rv = apply_post(burst, SR, {"reverb": {}})
    tail = slice(int(0.3 * SR), int(0.6 * SR))
    assert np.sqrt(np.mean(rv[tail] ** 2)) > 1e-3 > np.sqrt(np.mean(burst[tail] ** 2))
    ch = apply_post(_sine(440.0), SR, {"chorus": {"chorus_depth": 0.8, "chorus_mix": 0.5}})
    assert ch.shape == (SR,) and np.abs(ch - _sine(440.0)).max() > 0.05


def test_clean_lowers_the_noise_floor_in_pauses():
    rng = np.random.default_rng(0)
    tone = np.concatenate([_sine(300.0, 0.5), np.zeros(SR // 2, np.float32)] * 3)
    noisy = tone + 0.01 * rng.standard_normal(len(tone)).astype(np.float32)
    out = clean(noisy, SR, strength=0.9)
    pauses = np.concatenate([np.arange(k * SR + SR // 2 + 2000, (k + 1) * SR - 2000) for k in range(3)])
    before = 20 * np.log10(np.sqrt(np.mean(noisy[pauses] ** 2)))
    after = 20 * np.log10(np.sqrt(np.mean(out[pauses] ** 2)))
    print(f"noise floor in pauses: {before:.1f} dBFS -> {after:.1f} dBFS")
    assert after < before - 10
    voiced = slice(2000, SR // 2 - 2000)
    kept = 20 * np.log10(np.sqrt(np.mean(out[voiced] ** 2)) / np.sqrt(np.mean(tone[voiced] ** 2)))
    print(f"tone level change: {kept:.1f} dB")
    assert kept > -6  # the signal loses far less than the noise


def test_semitones_to_target():
    f0 = np.array([0, 110, 110, 0, 110, 0], dtype=np.float32)
    assert median_f0(f0) == pytest.approx(110)
    assert semitones_to(f0, 220.0) == 12
    assert semitones_to(f0, 880.0, limit=12) == 12
    assert semitones_to(np.zeros(5), 220.0) == 0


# ------------------------------------------------------------------------- through the conversion


@pytest.fixture(scope="module")
def pt(fixtures_dir):
    return fixtures_dir / "pipeline_tiny"


def _base(pt, out) -> list[str]:
    return ["infer", "-m", str(pt / "model.pth"), "-i", str(pt / "input_short.wav"), "-o", str(out), "--f0_method",
            "pm", "--embedder_path", str(pt / "embedder"), "--deterministic", "--wav_subtype", "FLOAT", "--quiet"]


def test_effects_off_are_bit_identical_and_on_change_the_output(pt, tmp_path, one_thread):
    plain, off, on = tmp_path / "plain.wav", tmp_path / "off.wav", tmp_path / "on.wav"
    assert cli_main(_base(pt, plain)) == 0
    # parameters given, switches off: nothing may change
    assert cli_main(_base(pt, off) + ["--formant_timbre", "1.4", "--clean_strength", "0.9", "--reverb", "--limiter",
                                      "--limiter_threshold", "-20", "--formant_shifting", "false"]) == 0
    a, _ = sf.read(str(plain), dtype="float32")
    b, _ = sf.read(str(off), dtype="float32")
    assert np.array_equal(a, b)
    assert cli_main(_base(pt, on) + ["--post_process", "--clipping", "--clipping_threshold", "-20"]) == 0
    c, _ = sf.read(str(on), dtype="float32")
    assert c.shape == a.shape
    assert np.abs(c).max() <= 10 ** (-20 / 20) + 1e-4 < np.abs(a).max()


def test_pitch_auto_and_proposed_pitch_transpose_to_the_target(pt, tmp_path, one_thread):
    from arvc.formats import ModelMetadata, read_model, write_model
    from arvc.inference.pipeline import load_input

    mf = read_model(pt / "model.pth")
    md = ModelMetadata(**{**mf.metadata.to_dict(), "f0_median": 440.0})
    model = write_model(tmp_path / "m.pth", mf.weights, mf.config_list, md)
    assert read_model(model).metadata.f0_median == 440.0
    import librosa

    f0 = librosa.yin(load_input(pt / "input_short.wav").astype(np.float32), fmin=60, fmax=600, sr=16000)
    print(f"source median F0 ~ {np.median(f0):.0f} Hz")
    args = ["-m", str(model), "-i", str(pt / "input_short.wav"), "--f0_method", "pm", "--embedder_path",
            str(pt / "embedder"), "--deterministic", "--wav_subtype", "FLOAT", "--quiet"]
    from arvc.features.f0 import F0Options, get_f0_method

    pm = get_f0_method("pm", F0Options())
    x = load_input(pt / "input_short.wav")
    k = semitones_to(pm.compute(np.pad(x, 16000, mode="reflect").astype(np.float32),
                                n_frames=(len(x) + 32000) // 160), 440.0)
    assert k != 0
    assert cli_main(["infer", *args, "-o", str(tmp_path / "auto.wav"), "--pitch", "auto"]) == 0
    assert cli_main(["infer", *args, "-o", str(tmp_path / "manual.wav"), "--pitch", str(k)]) == 0
    assert cli_main(["infer", *args, "-o", str(tmp_path / "prop.wav"), "--proposed_pitch", "--proposed_pitch_threshold",
                     "440"]) == 0
    auto, _ = sf.read(str(tmp_path / "auto.wav"), dtype="float32")
    manual, _ = sf.read(str(tmp_path / "manual.wav"), dtype="float32")
    prop, _ = sf.read(str(tmp_path / "prop.wav"), dtype="float32")
    assert np.array_equal(auto, manual)
    assert np.array_equal(prop, manual) or abs(k) > 12
    # a model without the recorded F0: one clear line, exit 1
    assert cli_main(["infer", *args[:0], "-m", str(pt / "model.pth"), *args[2:], "-o", str(tmp_path / "x.wav"),
                     "--pitch", "auto"]) == 1
    assert not (tmp_path / "x.wav").exists()


def test_training_records_the_voice_median_f0(tmp_path):
    from arvc.paths import ExperimentPaths
    from arvc.stages.train import training_f0_median

    paths = ExperimentPaths.of("voice", tmp_path)
    paths.f0_hz.mkdir(parents=True)
    np.save(paths.f0_hz / "a.wav.npy", np.array([0, 200, 210, 0, 220], np.float32))
    np.save(paths.f0_hz / "b.wav.npy", np.array([0, 0, 190, 230], np.float32))
    assert training_f0_median(paths) == pytest.approx(210.0)
    assert training_f0_median(ExperimentPaths.of("empty", tmp_path)) is None

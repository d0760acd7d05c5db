"""The neural F0 methods: crepe, crepe-tiny, fcpe, pesto (packaged weights) and rmvpe (random weights
unless real ones are in $ARVC_MODELS_DIR)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from arvc.errors import ArvcError
from arvc.features.f0 import F0_METHODS, F0Options, f0_method_names, get_f0_method
from arvc.paths import models_root

SR = 16000
HOP = 160
# read before the autouse fixture points ARVC_MODELS_DIR at a temporary folder
REAL_RMVPE = next((p for p in (models_root() / "f0" / "rmvpe.pt", models_root() / "rmvpe.pt") if p.is_file()),
                  models_root() / "rmvpe.pt")  # arvc prerequisites puts it in f0/


def harmonic_tone(f0: float, seconds: float, n_harmonics: int = 5) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, n_harmonics + 1))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def methods():
    return {}


def build(cache, name):
    if name not in cache:
        cache[name] = get_f0_method(name)
    return cache[name]


PACKAGED = ["crepe-tiny", "crepe", "fcpe", "pesto"]


def test_registered():
    f0_method_names()  # imports every method module
    for name in PACKAGED + ["rmvpe"]:
        assert name in F0_METHODS


# full CREPE costs ~2 GFLOP per frame: one short tone for it, the tiny model covers the rest
TONES = [(n, f) for n in ["crepe-tiny", "fcpe", "pesto"] for f in (110.0, 330.0)] + [("crepe", 220.0)]


@pytest.mark.parametrize("name, f0", TONES)
def test_tone_median_within_2_percent(methods, name, f0):
    audio = harmonic_tone(f0, 0.25 if name == "crepe" else 0.6)
    out = build(methods, name).compute(audio)
    assert out.dtype == np.float32 and out.shape == (len(audio) // HOP,)
    voiced = out > 0
    assert voiced.mean() > 0.8
    assert abs(np.median(out[voiced]) / f0 - 1) < 0.02


@pytest.mark.parametrize("name", PACKAGED)
def test_silence_is_unvoiced(methods, name):
    out = build(methods, name).compute(np.zeros(SR // 8, dtype=np.float32))
    assert out.shape == (SR // 8 // HOP,) and np.all(out == 0)


@pytest.mark.parametrize("name", ["crepe-tiny", "fcpe", "pesto"])
def test_lengths_and_very_short_input(methods, name):
    m = build(methods, name)
    audio = harmonic_tone(200.0, 0.1)
    assert m.compute(audio, n_frames=7).shape == (7,)
    assert m.compute(audio, n_frames=30).shape == (30,)
    assert m.compute(np.zeros(300, dtype=np.float32)).shape == (1,)  # shorter than one window


def test_crepe_respects_f0_range():
    m = get_f0_method("crepe-tiny", F0Options(f0_min=50, f0_max=200))
    out = m.compute(harmonic_tone(330.0, 0.4))
    assert out.max() <= 200 * 1.01  # 330 Hz is outside: only in-range bins can be chosen


@pytest.mark.parametrize("name", ["fcpe", "pesto"])
def test_out_of_range_pitch_is_unvoiced(name):
    out = get_f0_method(name, F0Options(f0_min=50, f0_max=200)).compute(harmonic_tone(330.0, 0.3))
    assert np.all(out == 0)


def test_crepe_network_is_frame_local(methods):
    """Batching frames changes nothing in the network output (only Viterbi restarts per batch)."""
    from arvc.features.f0.crepe import frame_audio

    m = build(methods, "crepe-tiny")
    frames, _ = frame_audio(torch.from_numpy(harmonic_tone(200.0, 0.2)), HOP)
    with torch.inference_mode():
        whole = m.net(frames)
        parts = torch.cat([m.net(frames[i : i + 8]) for i in range(0, len(frames), 8)])
    torch.testing.assert_close(whole, parts, atol=1e-5, rtol=1e-4)


def test_crepe_nan_filters():
    from arvc.features.f0.crepe import nan_mean3, nan_median3

    x = torch.tensor([[1.0, 5.0, 2.0, float("nan"), 4.0]])
    med = nan_median3(x)[0]
    # edges see two values (lower middle taken); NaNs are ignored
    torch.testing.assert_close(med, torch.tensor([1.0, 2.0, 2.0, 2.0, 4.0]))
    mean = nan_mean3(x)[0]
    torch.testing.assert_close(mean, torch.tensor([3.0, 8 / 3, 3.5, 3.0, 4.0]))


def test_crepe_bin_frequencies():
    from arvc.features.f0.crepe import bins_to_hz, hz_to_bin

    hz = bins_to_hz(torch.tensor([0, 180, 359]))
    expected = 10 * 2 ** ((20 * np.array([0, 180, 359]) + 1997.3794084376191) / 1200)
    np.testing.assert_allclose(hz.numpy(), expected, rtol=1e-6)
    assert bins_to_hz(torch.tensor([hz_to_bin(50.0)])) <= 50 < bins_to_hz(torch.tensor([hz_to_bin(50.0) + 1]))


def test_fcpe_tiny_random_network_shapes():
    from arvc.features.f0.fcpe import FCPE, FcpeConfig, FcpeF0, log_mel

    cfg = FcpeConfig.tiny()
    audio = torch.randn(2, 3210) * 0.1
    mel = log_mel(audio, cfg)
    assert mel.shape == (2, 3210 // HOP + 1, cfg.n_mels)
    net = FCPE(cfg).eval()
    probs = net(mel)
    assert probs.shape == (2, mel.shape[1], cfg.out_bins)
    f0 = FcpeF0(net=net, threshold=2.0).compute(audio[0].numpy())  # threshold above any prob
    assert f0.shape == (3210 // HOP,) and np.all(f0 == 0)


def test_fcpe_decoder_local_average():
    from arvc.features.f0.fcpe import FCPE, FcpeConfig

    net = FCPE(FcpeConfig.tiny())
    probs = torch.zeros(1, 2, 360)
    probs[0, 0, 100] = 0.9
    probs[0, 0, 101] = 0.3
    probs[0, 1, 50] = 0.005  # below the 0.006 threshold
    f0 = net.decode(probs, 0.006)[0]
    c = net.cent_table
    cents = (c[100] * 0.9 + c[101] * 0.3) / 1.2
    torch.testing.assert_close(f0[0], 10 * 2 ** (cents / 1200))
    assert f0[1] == 0


def test_pesto_checkpoint_restricted_loading():
    from arvc.features.f0._weights import load_restricted, packaged_file, plain

    ckpt = load_restricted(packaged_file("pesto", "weights/mir-1k_g7.ckpt"))
    hp = plain(ckpt["hparams"])
    assert hp["encoder"]["n_chan_layers"] == [40, 30, 30, 10, 3]
    assert all(isinstance(v, torch.Tensor) for v in ckpt["state_dict"].values())


def test_restricted_unpickler_refuses_code(tmp_path):
    import os

    from arvc.features.f0._weights import load_restricted

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    before = set(torch.serialization.get_safe_globals())
    with pytest.raises(ArvcError, match="(?i)unsupported global") as err:
        load_restricted(path)
    assert "evil.pt" in str(err.value) and "\n" not in str(err.value)
    assert set(torch.serialization.get_safe_globals()) == before  # the extra allowed globals do not leak


# ---------------------------------------------------------------- rmvpe


@pytest.fixture(scope="module")
def rmvpe_random(tmp_path_factory):
    """Random-init E2E saved as fp16 (like the published file) in a temporary models folder."""
    from arvc.features.f0.rmvpe import E2E

    torch.manual_seed(0)
    net = E2E()
    folder = tmp_path_factory.mktemp("rmvpe_models")
    sd = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    torch.save(sd, folder / "rmvpe.pt")
    return folder


def test_rmvpe_names_and_shapes_match_spec(specs_dir):
    from arvc.features.f0.rmvpe import E2E

    spec = json.loads((specs_dir / "rmvpe.json").read_text())
    sd = E2E().state_dict()
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in sd.items()]
    assert ours == spec["state_dict"]
    assert sum(v.numel() for k, v in sd.items() if "running" not in k and "num_batches" not in k) == spec["n_params"]


def test_rmvpe_loads_from_models_dir_and_runs(rmvpe_random, monkeypatch):
    monkeypatch.setenv("ARVC_MODELS_DIR", str(rmvpe_random))
    m = get_f0_method("rmvpe")
    audio = harmonic_tone(220.0, 0.2)
    sal = m.salience(audio)
    assert sal.shape == (len(audio) // HOP + 1, 360) and np.isfinite(sal).all()
    assert ((sal > 0) & (sal < 1)).all()
    f0 = m.compute(audio)
    assert f0.shape == (len(audio) // HOP,) and np.isfinite(f0).all()


def test_rmvpe_silence_and_other_hops(rmvpe_random):
    """Random weights: silence runs (shape, finite; voicing needs the real weights, see the last test) and
    other hops are the 10 ms contour resampled (hop 320 = every second 10 ms frame, exactly)."""
    from arvc.features.f0.rmvpe import RmvpeF0, load_rmvpe

    net = load_rmvpe(rmvpe_random / "rmvpe.pt")
    silent = RmvpeF0(net=net).compute(np.zeros(SR // 8, dtype=np.float32))
    assert silent.shape == (SR // 8 // HOP,) and np.isfinite(silent).all()
    audio = harmonic_tone(220.0, 0.3)
    ref = RmvpeF0(net=net, threshold=0.0).compute(audio)
    assert (ref > 0).any()
    f320 = RmvpeF0(F0Options(hop_length=320), net=net, threshold=0.0).compute(audio)
    assert f320.shape == (len(audio) // 320,)
    np.testing.assert_array_equal(f320, ref[::2][: len(f320)])
    f80 = RmvpeF0(F0Options(hop_length=80), net=net, threshold=0.0).compute(audio)
    assert f80.shape == (len(audio) // 80,)
    np.testing.assert_array_equal(f80[::2][: len(ref)], ref)


def test_rmvpe_explicit_path_and_bad_file(rmvpe_random, tmp_path):
    from arvc.features.f0.rmvpe import RmvpeF0, rmvpe_weights_path

    assert rmvpe_weights_path(rmvpe_random / "rmvpe.pt") == rmvpe_random / "rmvpe.pt"
    bad = tmp_path / "bad.pt"
    torch.save({"foo": torch.zeros(3)}, bad)
    with pytest.raises(ArvcError, match="not an RMVPE"):
        RmvpeF0(path=bad)
    with pytest.raises(ArvcError, match="not found"):
        RmvpeF0(path=tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    with pytest.raises(ArvcError, match="junk.pt") as err:
        RmvpeF0(path=junk)
    assert "\n" not in str(err.value)


def test_rmvpe_offline_without_weights_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("ARVC_MODELS_DIR", str(tmp_path / "empty"))
    with pytest.raises(ArvcError) as err:
        get_f0_method("rmvpe")
    msg = str(err.value)
    assert "rmvpe.pt" in msg and "lj1995/VoiceConversionWebUI" in msg and str(tmp_path / "empty") in msg
    assert "\n" not in msg


def test_rmvpe_decoding():
    from arvc.features.f0.rmvpe import salience_to_hz

    sal = np.zeros((3, 360), dtype=np.float32)
    sal[0, 200] = 0.8
    sal[1, 0] = 0.5
    sal[1, 1] = 0.5
    sal[2, 10] = 0.02  # below the 0.03 threshold
    f0 = salience_to_hz(sal)
    assert f0[0] == pytest.approx(10 * 2 ** ((20 * 200 + 1997.3794084376191) / 1200), rel=1e-6)
    assert f0[1] == pytest.approx(10 * 2 ** ((10 + 1997.3794084376191) / 1200), rel=1e-6)
    assert f0[2] == 0


@pytest.mark.skipif(not REAL_RMVPE.is_file(), reason=f"real rmvpe.pt not at {REAL_RMVPE} (set ARVC_MODELS_DIR)")
def test_rmvpe_real_weights_tone(monkeypatch):
    monkeypatch.setenv("ARVC_MODELS_DIR", str(REAL_RMVPE.parent))
    f0 = get_f0_method("rmvpe").compute(harmonic_tone(220.0, 1.0))
    voiced = f0 > 0
    assert voiced.mean() > 0.8 and abs(np.median(f0[voiced]) / 220 - 1) < 0.02
    assert np.all(get_f0_method("rmvpe").compute(np.zeros(SR // 2, dtype=np.float32)) == 0)

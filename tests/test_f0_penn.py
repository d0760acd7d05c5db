"""penn (FCNF0++) offline: random weights in penn's checkpoint layout, shapes, hop, range, decoding, the
safe loader, and the one-line error when the weights are missing (real weights only when present)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from _f0_nets import random_state_of, tone

from arvc.errors import ArvcError
from arvc.features.f0 import F0Options, get_f0_method
from arvc.paths import models_root

SR = 16000
HOP = 160
REAL = models_root() / "f0" / "fcnf0++.pt"  # read before the autouse fixture moves ARVC_MODELS_DIR


@pytest.fixture(scope="module")
def net():
    from arvc.features.f0.penn import Fcnf0

    torch.manual_seed(0)
    return Fcnf0().eval()


def save_upstream(net, folder):
    """A checkpoint laid out as penn's trainer writes it (torchutil.checkpoint.save): model + optimizer state
    (after one Adam step, so it holds moment tensors) + counters."""
    net = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    net(torch.randn(2, 1024)).square().mean().backward()
    opt.step()
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "step": 250000, "epoch": 3},
               folder / "fcnf0++.pt")
    return net.eval()


def test_state_dict_is_penns_sequential_layout(net):
    """Blocks 0-2 are conv/ReLU/pool/LayerNorm (norm at .3), blocks 3-5 conv/ReLU/LayerNorm (norm at .2), 6 the head."""
    blocks = [(1, 256, 481, 3), (256, 32, 225, 3), (32, 32, 97, 3), (32, 128, 66, 2), (128, 256, 35, 2), (256, 512, 4, 2)]
    want = {}
    for i, (cin, cout, length, norm) in enumerate(blocks):
        want |= {f"{i}.0.weight": (cout, cin, 32), f"{i}.0.bias": (cout,),
                 f"{i}.{norm}.weight": (cout, length), f"{i}.{norm}.bias": (cout, length)}
    want |= {"6.weight": (1440, 512, 4), "6.bias": (1440,)}
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == want


def test_upstream_checkpoint_loads_from_models_dir(net, tmp_path, monkeypatch):
    saved = save_upstream(net, tmp_path / "models" / "f0")
    monkeypatch.setenv("ARVC_MODELS_DIR", str(tmp_path / "models"))
    m = get_f0_method("penn")
    audio = tone(220.0, 0.3)
    logits = m.logits(audio)
    assert logits.shape == (len(audio) // HOP + 1, 1440)
    from arvc.features.f0.penn import PennF0

    direct = PennF0(net=saved).logits(audio)
    torch.testing.assert_close(logits, direct)
    f0 = m.compute(audio)
    assert f0.shape == (len(audio) // HOP,) and f0.dtype == np.float32 and np.isfinite(f0).all()


def test_frames_are_centred_on_the_hop_grid():
    """Frame j of the 8 kHz framing is centred on sample 80 j: an impulse there sits at window index 512."""
    from arvc.features.f0.penn import frames_8k

    x = torch.zeros(8000)
    for j in (20, 50, 80):  # away from the edges (reflect padding mirrors samples there)
        x.zero_()
        x[80 * j] = 1.0
        frames = frames_8k(x)
        assert frames.shape == (101, 1024)
        assert frames[j, 512] == 1.0 and frames[j].sum() == 1.0


def test_other_hops_are_the_10ms_contour_resampled(net):
    from arvc.features.f0.penn import PennF0

    audio = tone(220.0, 0.3)
    ref = PennF0(net=net, threshold=0.0).compute(audio)
    assert (ref > 0).any()
    f320 = PennF0(F0Options(hop_length=320), net=net, threshold=0.0).compute(audio)
    assert f320.shape == (len(audio) // 320,)
    np.testing.assert_array_equal(f320, ref[::2][: len(f320)])


def test_range_and_short_inputs(net):
    from arvc.features.f0.penn import PennF0

    m = PennF0(F0Options(f0_min=100.0, f0_max=300.0), net=net, threshold=0.0)
    f0 = m.compute(tone(150.0, 0.25))
    voiced = f0[f0 > 0]
    assert len(voiced) > 0 and voiced.min() >= 100.0 and voiced.max() <= 300.0
    f, conf = m.candidate(tone(150.0, 0.25))
    assert f.shape == conf.shape == (25,) and ((conf >= 0) & (conf <= 1)).all()
    for n in (0, 100, 1200):
        assert m.compute(np.zeros(n, np.float32)).shape == (n // HOP,)


def test_bins_and_local_expected_value():
    from arvc.features.f0.penn import bins_to_hz, hz_to_bin, local_expected_hz

    assert float(bins_to_hz(torch.tensor(0.0))) == pytest.approx(31.0)
    assert float(bins_to_hz(torch.tensor(1440.0))) == pytest.approx(31.0 * 2 ** 6)  # 1984 Hz
    assert hz_to_bin(62.0) == 240 and hz_to_bin(1e5) == 1439 and hz_to_bin(1.0) == 0
    logits = torch.full((2, 1440), -1e4)
    logits[0, 500] = 5.0  # one peak: exactly its bin
    logits[1, 700] = logits[1, 701] = 3.0  # two equal neighbours: half-way
    logits[1, 300] = 50.0  # far outside the 19-bin window around bin 700: ignored
    hz = local_expected_hz(logits, torch.tensor([500, 700]))
    assert float(hz[0]) == pytest.approx(float(bins_to_hz(torch.tensor(500.0))), rel=1e-5)
    assert float(hz[1]) == pytest.approx(float(bins_to_hz(torch.tensor(700.5))), rel=1e-5)


def test_banded_viterbi_equals_dense_viterbi():
    """penn's transition (triangle of 77.8 bins, rows normalised) decoded densely by librosa gives the same path."""
    import librosa

    from arvc.features.f0.penn import viterbi

    torch.manual_seed(1)
    log_probs = torch.log_softmax(3 * torch.randn(16, 1440), dim=1)
    d = np.abs(np.arange(1440)[:, None] - np.arange(1440)[None])
    dense = np.clip(32 * 80 / 8000 * 240 + 1 - d, 0, None)
    dense /= dense.sum(axis=1, keepdims=True)
    ref = librosa.sequence.viterbi(log_probs.exp().T.double().numpy(), dense)
    np.testing.assert_array_equal(viterbi(log_probs).numpy(), ref)


def test_entropy_periodicity_bounds():
    from arvc.features.f0.penn import entropy_periodicity

    flat = torch.zeros(1, 1440)
    peaked = torch.full((1, 1440), -1e4)
    peaked[0, 10] = 0.0
    assert float(entropy_periodicity(flat)) == pytest.approx(0.0, abs=1e-4)
    assert float(entropy_periodicity(peaked)) == pytest.approx(1.0, abs=1e-4)


def test_bad_files_are_one_line_errors(net, tmp_path):
    from arvc.features.f0.penn import PennF0

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"model": {"0.0.weight": Evil()}}, evil)
    with pytest.raises(ArvcError, match="(?i)unsupported global") as err:
        PennF0(path=evil)
    assert "evil.pt" in str(err.value) and "\n" not in str(err.value)
    wrong = tmp_path / "wrong.pt"
    torch.save({"model": {"foo": torch.zeros(3)}}, wrong)
    with pytest.raises(ArvcError, match="not a PENN FCNF0[+][+] state dict"):
        PennF0(path=wrong)
    with pytest.raises(ArvcError, match="not found"):
        PennF0(path=tmp_path / "missing.pt")


def test_missing_weights_offline_name_prerequisites(tmp_path, monkeypatch):
    monkeypatch.setenv("ARVC_MODELS_DIR", str(tmp_path / "empty"))
    with pytest.raises(ArvcError) as err:
        get_f0_method("penn")
    msg = str(err.value)
    assert "\n" not in msg and "arvc prerequisites --f0_weights penn" in msg
    assert "maxrmorrison/fcnf0-plus-plus" in msg and str(tmp_path / "empty" / "f0" / "fcnf0++.pt") in msg


@pytest.mark.skipif(not REAL.is_file(), reason=f"real fcnf0++.pt not at {REAL} (arvc prerequisites --f0_weights penn)")
def test_real_weights_tone(monkeypatch):
    monkeypatch.setenv("ARVC_MODELS_DIR", str(REAL.parent.parent))
    m = get_f0_method("penn")
    f0 = m.compute(tone(220.0, 1.0))
    voiced = f0 > 0
    assert voiced.mean() > 0.8 and abs(np.median(f0[voiced]) / 220 - 1) < 0.02
    assert (m.compute(np.zeros(SR // 2, np.float32)) == 0).mean() > 0.9


# ------------------------------------------------------------------ parity with penn's own code
REF = Path(__file__).parent / "data" / "f0_reference"


def reference_net():
    """Fcnf0 with the deterministic random weights penn's code was run with (make_penn_djcm_reference.py)."""
    from arvc.features.f0.penn import Fcnf0

    random_state = random_state_of()

    net = Fcnf0()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    net.load_state_dict({k: torch.from_numpy(v) for k, v in random_state(shapes).items()})
    return net.eval()


def test_matches_penns_code_on_the_same_weights():
    """penn 1.0.0 (from_audio at 8 kHz, center="zero", fmin 50, fmax 1100; Viterbi through librosa as a
    stand-in for torbi): same state-dict layout, identical logits' peaks, F0 within 0.01 cent, same periodicity."""
    from arvc.features.f0.penn import (
        PennF0,
        entropy_periodicity,
        frames_8k,
        local_expected_hz,
        viterbi,
    )

    ref = np.load(REF / "penn_djcm_reference.npz")
    net = reference_net()
    assert [f"{k} {tuple(v.shape)}" for k, v in net.state_dict().items()] == list(ref["penn_state_shapes"])
    with torch.inference_mode():
        logits = net(frames_8k(torch.from_numpy(ref["penn_audio_8k"])))
    np.testing.assert_allclose(logits.max(1).values.numpy(), ref["penn_logit_max"], atol=1e-4)
    np.testing.assert_array_equal(logits.argmax(1).numpy(), ref["penn_logit_argmax"])
    m = PennF0(net=net)
    masked = m.masked(logits)
    f0 = local_expected_hz(masked, viterbi(torch.log_softmax(masked, 1))).numpy()
    assert np.abs(1200 * np.log2(f0 / ref["penn_pitch"])).max() < 0.01
    argmax = local_expected_hz(masked, masked.argmax(1)).numpy()
    assert np.abs(1200 * np.log2(argmax / ref["penn_pitch_argmax"])).max() < 0.01
    np.testing.assert_allclose(entropy_periodicity(masked).numpy(), ref["penn_periodicity"], atol=1e-5)

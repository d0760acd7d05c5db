"""djcm offline: random weights saved as a plain state dict (the published layout), shapes, hop, range,
segment stitching, the safe loader, and the one-line error when the weights are missing.

DJCM costs ~0.8 GMAC per 10 ms frame, so these tests use short audio and short segments."""

from __future__ import annotations

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
REAL = models_root() / "f0" / "djcm.pt"  # read before the autouse fixture moves ARVC_MODELS_DIR


@pytest.fixture(scope="module")
def net():
    from arvc.features.f0.djcm import DJCM

    torch.manual_seed(0)
    return DJCM().eval()


def test_state_dict_names(net):
    sd = net.state_dict()
    assert tuple(sd["bn.weight"].shape) == (513,)
    assert tuple(sd["pe_encoder.en_blocks.0.conv.0.conv1.weight"].shape) == (32, 1, 3, 3)
    assert tuple(sd["pe_encoder.en_blocks.0.conv.0.shortcut.weight"].shape) == (32, 1, 1, 1)
    assert tuple(sd["pe_encoder.en_blocks.5.conv.0.conv2.weight"].shape) == (384, 384, 3, 3)
    assert "pe_encoder.en_blocks.5.conv.0.shortcut.weight" not in sd
    assert tuple(sd["pe_latent.latent_blocks.0.conv.0.act1.weight"].shape) == (1,)
    assert tuple(sd["pe_decoder.de_blocks.de_blocks.0.conv1.weight"].shape) == (384, 384, 1, 2)
    assert tuple(sd["pe_decoder.de_blocks.de_blocks.2.bn1.weight"].shape) == (384,)
    assert tuple(sd["pe_decoder.de_blocks.de_blocks.5.conv.0.conv1.weight"].shape) == (32, 64, 3, 3)
    assert tuple(sd["pe_decoder.after_conv2.weight"].shape) == (1, 32, 1, 1)
    assert tuple(sd["pe_decoder.fc.0.gru.weight_ih_l0_reverse"].shape) == (768, 512)
    assert tuple(sd["pe_decoder.fc.1.weight"].shape) == (360, 512)
    assert not any(k.startswith("svs_") for k in sd)


def test_checkpoint_loads_from_models_dir_and_runs(net, tmp_path, monkeypatch):
    (tmp_path / "models" / "f0").mkdir(parents=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()},
               tmp_path / "models" / "f0" / "djcm.pt")
    monkeypatch.setenv("ARVC_MODELS_DIR", str(tmp_path / "models"))
    m = get_f0_method("djcm", segment_frames=16)
    audio = tone(220.0, 0.1)
    sal = m.salience(audio)
    assert sal.shape == (len(audio) // HOP + 1, 360) and ((sal > 0) & (sal < 1)).all()
    f0 = m.compute(audio)
    assert f0.shape == (len(audio) // HOP,) and f0.dtype == np.float32 and np.isfinite(f0).all()


def test_segments_keep_their_middles(net):
    """Salience from stitched segments equals the network run on the centred window around each kept part."""
    from arvc.features.f0.djcm import DjcmF0, djcm_spec

    seg_frames = 16
    m = DjcmF0(net=net, segment_frames=seg_frames)
    audio = tone(180.0, 0.15)  # 16 frames: 2 segments of 8 kept frames
    sal = m.salience(audio)
    seg = seg_frames * HOP
    padded = torch.nn.functional.pad(torch.from_numpy(audio), (seg // 4, 2 * seg))
    with torch.inference_mode():
        second = net(djcm_spec(padded[seg // 2 : seg // 2 + seg][None]))[0].numpy()
    np.testing.assert_allclose(sal[8:16], second[4:12], atol=1e-5)


def test_other_hops_and_range(net):
    from arvc.features.f0.djcm import DjcmF0

    audio = tone(220.0, 0.1)
    wide = {"f0_min": 30.0, "f0_max": 2100.0}  # random weights peak anywhere on the 32-2006 Hz grid
    ref = DjcmF0(F0Options(**wide), net=net, threshold=0.0, segment_frames=16).compute(audio)
    assert (ref > 0).all()
    f320 = DjcmF0(F0Options(hop_length=320, **wide), net=net, threshold=0.0, segment_frames=16).compute(audio)
    np.testing.assert_array_equal(f320, ref[::2][: len(f320)])
    narrow = DjcmF0(F0Options(f0_min=100.0, f0_max=1400.0), net=net, threshold=0.0, segment_frames=16)
    f0 = narrow.compute(audio)
    assert ((f0 == 0) == (ref > 1400.0)).all() and (f0[f0 > 0] >= 100.0).all()
    f, conf = narrow.candidate(audio)
    assert f.shape == conf.shape == (10,) and ((conf >= 0) & (conf <= 1)).all()
    for n in (0, 100):
        assert narrow.compute(np.zeros(n, np.float32)).shape == (0,)


def test_segment_size_must_divide_by_four(net):
    from arvc.features.f0.djcm import DjcmF0

    with pytest.raises(ArvcError, match="multiple of 4"):
        DjcmF0(net=net, segment_frames=10)


def test_bad_files_are_one_line_errors(tmp_path):
    from arvc.features.f0.djcm import DjcmF0

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"bn.weight": Evil()}, evil)
    with pytest.raises(ArvcError, match="(?i)unsupported global") as err:
        DjcmF0(path=evil)
    assert "evil.pt" in str(err.value) and "\n" not in str(err.value)
    wrong = tmp_path / "wrong.pt"
    torch.save({"foo": torch.zeros(3)}, wrong)
    with pytest.raises(ArvcError, match="not a DJCM"):
        DjcmF0(path=wrong)


def test_missing_weights_offline_name_prerequisites(tmp_path, monkeypatch):
    monkeypatch.setenv("ARVC_MODELS_DIR", str(tmp_path / "empty"))
    with pytest.raises(ArvcError) as err:
        get_f0_method("djcm")
    msg = str(err.value)
    assert "\n" not in msg and "arvc prerequisites --f0_weights djcm" in msg
    assert "AnhP/Vietnamese-RVC-Project" in msg and str(tmp_path / "empty" / "f0" / "djcm.pt") in msg


@pytest.mark.skipif(not REAL.is_file(), reason=f"real djcm.pt not at {REAL} (arvc prerequisites --f0_weights djcm)")
def test_real_weights_tone(monkeypatch):
    monkeypatch.setenv("ARVC_MODELS_DIR", str(REAL.parent.parent))
    f0 = get_f0_method("djcm").compute(tone(220.0, 1.0))
    voiced = f0 > 0
    assert voiced.mean() > 0.8 and abs(np.median(f0[voiced]) / 220 - 1) < 0.02


def test_matches_vietnamese_rvc_code_on_the_same_weights():
    """Vietnamese-RVC's DJCM (DJCMM + its wrapper, 0.16 s segments, strict state-dict load) on the same
    deterministic random weights: same names and shapes, salience within 1e-4, F0 within 0.01 cent."""
    from arvc.features.f0.djcm import DJCM, DjcmF0
    from arvc.features.f0.rmvpe import salience_to_hz

    ref_dir = Path(__file__).parent / "data" / "f0_reference"
    random_state = random_state_of(ref_dir)

    ref = np.load(ref_dir / "penn_djcm_reference.npz")
    net = DJCM()
    layout = [f"{k} {tuple(v.shape)}" for k, v in net.state_dict().items()]
    assert sorted(layout) == sorted(ref["djcm_state_shapes"])  # same names and shapes (declaration order differs)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    net.load_state_dict({k: torch.from_numpy(v) for k, v in random_state(shapes).items()})
    sal = DjcmF0(net=net, segment_frames=16).salience(ref["djcm_audio"])
    np.testing.assert_allclose(sal, ref["djcm_salience"], atol=1e-4)
    f0 = salience_to_hz(sal, 0.0)
    assert np.abs(1200 * np.log2(f0 / ref["djcm_f0"])).max() < 0.01

"""Losses and spectrograms of the training engine (pure functions)."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch

from arvc.training.config import LossWeights
from arvc.training.losses import (discriminator_adv_loss, energy_loss, feature_matching_loss, generator_adv_loss,
                                  generator_losses, kl_loss, mel_l1_loss)
from arvc.audio.spectrogram import mel_spectrogram, spectrogram
from arvc.training.mel import MULTISCALE_MELS, multiscale_mel_loss, multiscale_params, multiscale_window


def _tone(freq: float, sr: int = 40000, n: int = 8000, amp: float = 0.5) -> torch.Tensor:
    t = torch.arange(n) / sr
    return amp * torch.sin(2 * math.pi * freq * t)


def test_multiscale_windows_follow_the_rule():
    # 16 * n_mels samples rounded down to a power of two, independent of the rate
    for sr in (32000, 40000, 48000):
        wins = [multiscale_window(m, sr) for m in MULTISCALE_MELS]
        assert wins == [64, 128, 256, 512, 1024, 2048, 4096, 4096]
    params = multiscale_params(40000)
    assert len(params) == 8 and all(hop == 400 for _, _, hop in params)


def test_spectrogram_frames_and_peak():
    y = _tone(1000.0, n=40000)
    spec = spectrogram(y.unsqueeze(0), 2048, 400, 2048)
    assert spec.shape == (1, 1025, 100)  # len // hop frames, as RVC
    peak_bin = int(spec[0, :, 50].argmax())
    assert abs(peak_bin * 40000 / 2048 - 1000) < 40000 / 2048


def test_mel_matches_librosa_filterbank():
    y = _tone(440.0, n=16000)
    mel = mel_spectrogram(y.unsqueeze(0), 40000, 2048, 400, 125)
    spec = spectrogram(y.unsqueeze(0), 2048, 400)
    basis = librosa.filters.mel(sr=40000, n_fft=2048, n_mels=125)
    ref = np.log(np.maximum(basis @ spec[0].numpy(), 1e-5))
    np.testing.assert_allclose(mel[0].numpy(), ref, rtol=1e-4, atol=1e-4)


def test_multiscale_mel_loss_zero_for_same_and_grows_with_difference():
    a = _tone(220.0).reshape(1, 1, -1)
    assert multiscale_mel_loss(a, a.clone(), 40000).item() == pytest.approx(0.0, abs=1e-6)
    near = multiscale_mel_loss(a, _tone(230.0).reshape(1, 1, -1), 40000).item()
    far = multiscale_mel_loss(a, _tone(2000.0).reshape(1, 1, -1), 40000).item()
    assert 0 < near < far


def test_mel_losses_have_gradients():
    real = _tone(300.0).reshape(1, 1, -1)
    fake = (0.1 * torch.randn(1, 1, 8000)).requires_grad_()
    for loss in (multiscale_mel_loss(real, fake, 40000), mel_l1_loss(real, fake, 40000, 2048, 400, 125),
                 energy_loss(real, fake, 400)):
        (g,) = torch.autograd.grad(loss, fake)
        assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_lsgan_losses_values():
    real = [torch.ones(2, 5), torch.full((2, 3), 0.5)]
    fake = [torch.zeros(2, 5), torch.full((2, 3), 0.5)]
    # perfect discriminator on the first head: 0; second head: 0.25 + 0.25
    assert discriminator_adv_loss(real, fake).item() == pytest.approx(0.5)
    assert generator_adv_loss(fake).item() == pytest.approx(1.0 + 0.25)


def test_feature_matching_and_kl():
    fr = [[torch.ones(2, 3), torch.zeros(4)], [torch.ones(1)]]
    fg = [[torch.zeros(2, 3), torch.zeros(4)], [torch.full((1,), 3.0)]]
    assert feature_matching_loss(fr, fg).item() == pytest.approx(2 * (1.0 + 0.0 + 2.0))
    m = torch.randn(2, 4, 6)
    logs = torch.randn(2, 4, 6) * 0.1
    mask = torch.ones(2, 1, 6)
    mask[1, :, 4:] = 0
    # q == p and z_p at the mean: KL term = -0.5 per element ... the VITS single-sample estimate
    assert kl_loss(m, logs, m, logs, mask).item() == pytest.approx(-0.5 * 4, rel=1e-5)
    far = kl_loss(m + 3, logs, m, logs, mask).item()
    assert far > 0


def test_generator_losses_dict_and_weights():
    real = _tone(300.0).reshape(1, 1, -1)
    fake = 0.5 * real
    disc = [torch.zeros(1, 4)]
    fm = [[torch.ones(1, 2)]]
    lat = torch.zeros(1, 2, 20)
    mask = torch.ones(1, 1, 20)
    kw = dict(real=real, fake=fake, disc_fake=disc, fmap_real=fm, fmap_fake=fm, z_p=lat, logs_q=lat, m_p=lat,
              logs_p=lat, z_mask=mask, sample_rate=40000, hop=400, n_fft=2048, n_mels=125)
    base = generator_losses(weights=LossWeights(), multiscale=True, energy=True, **kw)
    assert set(base) == {"loss/g/gen", "loss/g/fm", "loss/g/mel", "loss/g/kl", "loss/g/energy", "loss/g/total"}
    parts = sum(v for k, v in base.items() if k != "loss/g/total")
    assert base["loss/g/total"].item() == pytest.approx(parts.item(), rel=1e-6)
    double = generator_losses(weights=LossWeights(mel=90.0), multiscale=True, energy=True, **kw)
    assert double["loss/g/mel"].item() == pytest.approx(2 * base["loss/g/mel"].item(), rel=1e-5)
    single = generator_losses(weights=LossWeights(), multiscale=False, **kw)
    assert "loss/g/energy" not in single and single["loss/g/mel"].item() > 0
